"""Stands in for MicroPython's time module when the whole firmware runs in the unix port:
ticks_ms is the virtual rig's simulated clock (machine.py here), so a day of pump life runs in
seconds; ticks_us is the host's real clock, for timing each task's steps. asyncio, which
imports this module too, keeps time by the same simulated clock."""

import machine
import utime  # the unix port's own time module (this file shadows the name `time`)

ticks_diff = utime.ticks_diff
ticks_add = utime.ticks_add
ticks_us = utime.ticks_us


def ticks_ms():
    """The rig's clock, not wrapped at 2**30 ms: the firmware's own ticks_diff (pump/compat.py)
    works modulo 2**30 as on a board, and the port's asyncio orders its tasks by the port's
    wider ticks period, which a wrapped value would confuse."""
    return machine.clock.unwrapped_ms()


def sleep_ms(ms):
    machine.advance(ms)


def sleep(s):
    machine.advance(int(s * 1000))
