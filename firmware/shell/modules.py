"""Which of the firmware's modules the board cannot load: the start-up self test's check of
the modules the pump loads only when it first needs them (pump/boot.py).

A module counts as there when the interpreter can find it, wherever that is: a .mpy or .py
file on sys.path (the filesystem, or a ROMFS partition mounted on it) or frozen into the
firmware image. Files are looked for first, with os.stat, which costs no heap; a name not
found as a file is imported, as only a frozen module can then be, and forgotten again.
Looking at files alone would call every frozen module missing, and a production board, built
with its modules frozen, would fail its own self test.
"""

import gc
import os
import sys

from pump.compat import unload


def _as_file(name):
    rel = "/" + name.replace(".", "/")
    for base in sys.path:
        for ext in (".mpy", ".py"):
            try:
                os.stat(base + rel + ext)
                return True
            except OSError:
                pass
    return False


def _importable(name):
    before = list(sys.modules)
    try:
        __import__(name)
        found = True
    except Exception:  # not there, or there but unloadable (a damaged module): missing
        found = False
    for key in list(sys.modules):
        if key not in before:
            unload(key)
    before = None
    gc.collect()
    return found


def missing(modules):
    """The names in `modules` (dotted) the interpreter cannot load."""
    gone = []
    for name in modules:
        if not _as_file(name) and not _importable(name):
            gone.append(name)
    return gone
