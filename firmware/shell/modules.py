"""Which of the firmware's modules are not on the board: the start-up self test's check of
the modules the pump loads only when it first needs them (pump/boot.py)."""

import os
import sys


def missing(modules):
    """The names in `modules` (dotted) with no .mpy or .py file on sys.path."""
    gone = []
    for name in modules:
        rel = "/" + name.replace(".", "/")
        found = False
        for base in sys.path:
            for ext in (".mpy", ".py"):
                try:
                    os.stat(base + rel + ext)
                    found = True
                except OSError:
                    pass
        if not found:
            gone.append(name)
    return gone
