#!/usr/bin/env python3
"""Type-check the firmware against each board's real MicroPython API (make check).

    python tools/check.py

For each board, installs the pinned stub packages (once) into build/stubs/<board>/, writes a
pyright configuration that uses them in place of CPython's standard library, and runs pyright
on firmware/ and the board's file in boards/. Exits non-zero if any board has an error. No file in the
tree turns a check off; a line that needs it says so with a narrow, named pyright ignore.
"""

import json
import os
import subprocess
import sys

from build import FILES, foreign  # tools/build.py: the board files, which drivers go where

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv", "bin")
STDLIB = "micropython-stdlib-stubs==1.29.0.post2"
STUBS = {
    "pico": ("micropython-rp2-rpi-pico-stubs==1.29.0.post1", STDLIB),
    "esp32": ("micropython-esp32-stubs==1.29.0.post1", STDLIB),
}


def stubs_for(board):
    target = os.path.join(ROOT, "build", "stubs", board)
    stamp = os.path.join(target, ".installed")
    want = "\n".join(STUBS[board])
    if not os.path.exists(stamp) or open(stamp).read() != want:
        subprocess.run(
            [os.path.join(VENV, "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            + ["--no-deps", "--upgrade", "--target", target]
            + list(STUBS[board]),
            check=True,
        )
        with open(stamp, "w") as f:
            f.write(want)
    return target


def check(board):
    stubs = stubs_for(board)
    hal = sorted(os.listdir(os.path.join(ROOT, "firmware", "hal")))
    others = ["../firmware/hal/" + name for name in hal if foreign(board, name)]
    # the firmware imports its board as `board` (tools/build.py installs boards/<board>.py so)
    alias = os.path.join(ROOT, "build", "board-" + board)
    os.makedirs(alias, exist_ok=True)
    with open(os.path.join(alias, "board.pyi"), "w") as f:
        f.write("from %s import *  # noqa: F403\n" % FILES[board])
    config = {
        "include": ["../firmware", "../boards/%s.py" % FILES[board]],
        "exclude": others,
        "typeshedPath": os.path.relpath(stubs, os.path.join(ROOT, "build")),
        "stubPath": os.path.relpath(stubs, os.path.join(ROOT, "build")),
        "extraPaths": ["../firmware", "../boards", "board-" + board],
        "pythonVersion": "3.11",
        "typeCheckingMode": "standard",
        "reportMissingModuleSource": "none",
    }
    path = os.path.join(ROOT, "build", "pyright-%s.json" % board)
    with open(path, "w") as f:
        json.dump(config, f, indent=2)
    print("pyright, %s stubs (%s):" % (board, STUBS[board][0]), flush=True)
    return subprocess.run([os.path.join(VENV, "pyright"), "-p", path]).returncode


def main():
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    failed = [board for board in STUBS if check(board)]
    if failed:
        print("check: pyright found errors for " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
