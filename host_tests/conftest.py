"""Puts the firmware, the board files, the virtual rig and the tools on the import path."""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
for sub in ("tools", "host_tests", "boards", "firmware"):
    path = str(ROOT / sub)
    if path not in sys.path:
        sys.path.insert(0, path)
