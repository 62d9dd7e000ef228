"""The pump's screens as the OLED shows them, on the host: the frames and PNG pictures of them.

    python tools/pumpsim.py scenarios/buttons.json --screens OUT_DIR   # uses this module

The pixels come from MicroPython's own `framebuf` (the unix port runs pump/home.py's draw),
the module and the 8x8 font the board draws with, so a picture is exactly the frame the
OLED gets; Pillow scales it up, white on black as the panel shows it. The text of a screen
is what pump/ui.py's lines() gives, which the tests read.
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _d in ("tools", "firmware", "boards", "host_tests"):
    if os.path.join(ROOT, _d) not in sys.path:
        sys.path.insert(0, os.path.join(ROOT, _d))

WIDTH = 128
HEIGHT = 64

_DRAW = """
import sys, json, framebuf
from pump.home import draw
buf = bytearray(1024)
fb = framebuf.FrameBuffer(buf, 128, 64, framebuf.MONO_VLSB)
for rows in json.loads(sys.stdin.read()):
    draw(fb, rows)
    print(buf.hex())
"""


def frames(screens):
    """The 1024-byte MONO_VLSB frame of each screen (8 rows of text), drawn by MicroPython."""
    import pumpsim

    env = dict(os.environ, MICROPYPATH=pumpsim.compile_mpy())
    proc = subprocess.run(
        [pumpsim.tool("micropython"), "-c", _DRAW],
        input=json.dumps(screens),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return [bytes.fromhex(line) for line in proc.stdout.split()]


def lit(frame, x, y):
    """Whether the pixel at (x, y) is on: MONO_VLSB, a byte holds 8 rows of one column."""
    return bool(frame[(y // 8) * WIDTH + x] >> (y % 8) & 1)


def png(frame, path, scale=4):
    """Write the frame as a PNG, each pixel a scale x scale square."""
    from PIL import Image

    img = Image.new("L", (WIDTH, HEIGHT), 0)
    img.putdata([255 if lit(frame, x, y) else 0 for y in range(HEIGHT) for x in range(WIDTH)])
    img.resize((WIDTH * scale, HEIGHT * scale), Image.NEAREST).save(path)
