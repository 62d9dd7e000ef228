"""The one place that papers over CPython / MicroPython differences.

`const` is MicroPython's compile-time constant marker (identity on CPython). The ticks
helpers implement MicroPython's `ticks_*` arithmetic with the 2**30 ms period of the 32-bit
boards (RP2040, ESP32) in pure integers, so the core wraps identically on every
interpreter, including the unix port whose own period is 2**62. `zeros_h(n)` is an
array('H') of n zeros made without a temporary buffer beside it; `unload(name)` forgets a
module loaded for one job (start-up, a restart) so the heap gets its objects back.
"""

from array import array

try:
    from micropython import const
except ImportError:
    const = lambda value: value  # noqa: E731 (CPython: a constant is just its value)


TICKS_PERIOD = const(1 << 30)
_TICKS_MASK = const((1 << 30) - 1)
_TICKS_HALF = const(1 << 29)


def ticks_diff(end, start):
    """Signed difference end - start, correct across one wrap (|diff| < 2**29 ms)."""
    return ((end - start + _TICKS_HALF) & _TICKS_MASK) - _TICKS_HALF


def zeros_h(n, typecode="H"):
    """array('H') (or another typecode's) of n zeros. Built from a range, whose length sizes
    the array once, then cleared: array("H", bytearray(2 * n)) would hold both buffers at
    once, and on a small, fragmented heap that spare copy is what fails."""
    a = array(typecode, range(n))
    for i in range(n):
        a[i] = 0
    return a


def unload(name):
    """Forget module `name` (loaded for one job, such as start-up): its code objects go back
    to the heap once nothing else refers to them. Importing it again loads it again."""
    import sys

    sys.modules.pop(name, None)
    package, _, leaf = name.rpartition(".")
    parent = sys.modules.get(package)
    if parent is not None and hasattr(parent, leaf):
        delattr(parent, leaf)
