#!/usr/bin/env python3
"""Cross-compile the firmware for a board into build/<board>/, ready to copy to its flash.

    python tools/build.py pico|esp32 [--out DIR]      (make build BOARD=pico)

Layout (the board's filesystem root):
    lib/pump/*.mpy   the core    lib/hal/*.mpy   the drivers    lib/shell/*.mpy  the tasks
    board.mpy        boards/<board file>.py (FILES), the wiring and mechanism constants
    main.py          the shell, as source (tiny, and editable on the board), when it exists

Every module is compiled with mpy-cross for the board's architecture (boards/<board>.py
MPY_ARCH; bytecode .mpy files are the same for both, native code would not be) and with its
dotted module name as the source name. A module that does not compile stops the build with
mpy-cross's message. Prints what it wrote and the total size.
"""

import argparse
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOARDS = ("pico", "esp32")
PACKAGES = ("pump", "hal", "shell")  # under firmware/
CHIP = {"pico": "rp2", "esp32": "esp32"}  # hal/*_<chip>.py drivers go to that chip's boards only
# boards/<file>.py of each board: not esp32.py, which would shadow MicroPython's own esp32
# module wherever the board's file is importable under its own name (a frozen image)
FILES = {"pico": "pico", "esp32": "esp32_devkit"}


def board_file(board):
    return os.path.join(ROOT, "boards", FILES[board] + ".py")


def foreign(board, name):
    """True for a driver file written for another board's chip (hal/*_<chip>.py)."""
    return any(c != CHIP[board] and name.endswith("_%s.py" % c) for c in CHIP.values())


def tool(name):
    path = os.path.join(ROOT, ".venv", "bin", name)
    if not os.path.exists(path):
        sys.exit("build: %s is not installed (run: make venv)" % name)
    return path


def board_arch(board):
    with open(board_file(board)) as f:
        for line in f:
            if line.startswith("MPY_ARCH = "):
                return line.split('"')[1]
    sys.exit("build: %s has no MPY_ARCH" % os.path.relpath(board_file(board), ROOT))


def compile_one(mpy_cross, arch, src, dst, module):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    proc = subprocess.run(
        [mpy_cross, "-march=" + arch, "-s", module, "-o", dst, src], capture_output=True, text=True
    )
    if proc.returncode:
        sys.exit("build: %s does not compile:\n%s" % (os.path.relpath(src, ROOT), proc.stderr))
    return os.path.getsize(dst)


def build(board, out):
    if board not in BOARDS:
        sys.exit("build: no board %r (one of %s)" % (board, ", ".join(BOARDS)))
    mpy_cross = tool("mpy-cross")
    arch = board_arch(board)
    shutil.rmtree(out, ignore_errors=True)
    written = []
    for package in PACKAGES:
        base = os.path.join(ROOT, "firmware", package)
        for name in sorted(os.listdir(base)):
            if name.endswith(".py") and not foreign(board, name):
                dst = os.path.join(out, "lib", package, name[:-3] + ".mpy")
                module = package + "." + name[:-3] if name != "__init__.py" else package
                written.append((dst, compile_one(mpy_cross, arch, os.path.join(base, name), dst, module)))
    dst = os.path.join(out, "board.mpy")
    written.append((dst, compile_one(mpy_cross, arch, board_file(board), dst, "board")))
    main = os.path.join(ROOT, "firmware", "main.py")
    if os.path.exists(main):
        shutil.copy(main, os.path.join(out, "main.py"))
        written.append((os.path.join(out, "main.py"), os.path.getsize(main)))
    return arch, written


def main(argv=None):
    ap = argparse.ArgumentParser(description="cross-compile the firmware for a board")
    ap.add_argument("board", help="pico or esp32")
    ap.add_argument("--out", help="output directory (default build/<board>)")
    args = ap.parse_args(argv)
    out = args.out or os.path.join(ROOT, "build", args.board)
    arch, written = build(args.board, out)
    for path, size in written:
        print("%7d  %s" % (size, os.path.relpath(path, ROOT)))
    print(
        "%7d  bytes in %d files for %s (-march=%s) in %s"
        % (sum(s for _, s in written), len(written), args.board, arch, os.path.relpath(out, ROOT))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
