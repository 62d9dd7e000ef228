#!/usr/bin/env python3
"""Copy a built firmware to an attached board and restart it; or open its REPL.

    python tools/deploy.py pico|esp32 [--port PORT]          (make deploy BOARD=pico [PORT=...])
    python tools/deploy.py pico|esp32 [--port PORT] --repl   (make repl)

Without --port it looks for the board by its USB vendor: a Raspberry Pi Pico running
MicroPython shows as vendor 2e8a (Raspberry Pi); an ESP32 DevKit through its USB-serial bridge
(Silicon Labs CP210x 10c4, WCH CH340 1a86, FTDI 0403) or natively (Espressif 303a). No board,
or two, is a clear error and nothing is copied. The copy is `mpremote cp -r` of build/<board>/
to the board's root: mpremote compares each file's hash and skips those already there, so
only what changed is written. Then a soft reset starts the new firmware.
"""

import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = {"pico": "Raspberry Pi Pico", "esp32": "ESP32 DevKit"}
VENDORS = {
    "pico": {0x2E8A: "Raspberry Pi"},
    "esp32": {0x10C4: "Silicon Labs CP210x", 0x1A86: "WCH CH340", 0x0403: "FTDI", 0x303A: "Espressif"},
}


def find_port(board):
    from serial.tools import list_ports

    found = [p for p in list_ports.comports() if p.vid in VENDORS[board]]
    if not found:
        vendors = ", ".join("%04x (%s)" % (vid, name) for vid, name in VENDORS[board].items())
        sys.exit(
            "deploy: no %s attached: no USB serial device from vendor %s. Plug it in (with "
            "MicroPython on it), or name its port: make deploy BOARD=%s PORT=/dev/ttyACM0"
            % (NAMES[board], vendors, board)
        )
    if len(found) > 1:
        sys.exit(
            "deploy: %d possible %s boards (%s): name one with PORT=..."
            % (len(found), NAMES[board], ", ".join(p.device for p in found))
        )
    return found[0].device


def mpremote(port, *args):
    cmd = [sys.executable, "-m", "mpremote", "connect", port] + list(args)
    return subprocess.run(cmd).returncode


def main(argv=None):
    ap = argparse.ArgumentParser(description="deploy the firmware to a board, or open its REPL")
    ap.add_argument("board", choices=sorted(NAMES))
    ap.add_argument("--port", help="the board's serial port (default: found by USB vendor)")
    ap.add_argument("--repl", action="store_true", help="open the REPL instead of deploying")
    args = ap.parse_args(argv)
    port = args.port
    if port and not os.path.exists(port):
        sys.exit("deploy: no %s at %s: that port does not exist" % (NAMES[args.board], port))
    port = port or find_port(args.board)
    if args.repl:
        return mpremote(port, "repl")
    build = os.path.join(ROOT, "build", args.board)
    if not os.path.isdir(build):
        sys.exit("deploy: nothing built for %s: run make build BOARD=%s" % (args.board, args.board))
    items = [os.path.join(build, name) for name in sorted(os.listdir(build))]
    rc = mpremote(port, "cp", "-r", *items, ":", "+", "soft-reset")
    if rc:
        sys.exit("deploy: mpremote failed (exit %d) copying to %s at %s" % (rc, NAMES[args.board], port))
    print("deploy: %s at %s now runs build/%s" % (NAMES[args.board], port, args.board))
    return 0


if __name__ == "__main__":
    sys.exit(main())
