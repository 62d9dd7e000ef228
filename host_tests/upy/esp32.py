"""Stands in for MicroPython's esp32 module in the unix port: the RMT that makes the stepper's
pulses and the PCNT unit that counts them on the same pin (hal/stepper_esp32.py), on the
virtual rig's clock.

Each write_pulses() queues its pulses after whatever the RMT is still sending; active(False)
cuts the transmission at once. The PCNT counts the rising edges made so far; value(0) starts
a new count, which the rig's mechanism (machine.Mechanism) takes as a new move, in the
direction the DIR pin then has. The pulses move the plunger as on the Pico rig: only while
ENABLE is low, the driver is not in fault and the plunger is not jammed.
"""

import machine


class _Pulses:
    """What the RMT has sent on the STEP pin since the count was last reset."""

    def __init__(self):
        self.chunks = []  # (start us, pulses, period us)
        self.cut_us = -1  # transmission stopped here; -1 while it is not

    def end_us(self):
        if not self.chunks:
            return 0
        start, n, period = self.chunks[-1]
        return start + n * period

    def made(self):
        now = machine.clock.elapsed_ms * 1000
        if self.cut_us >= 0 and self.cut_us < now:
            now = self.cut_us
        total = 0
        for start, n, period in self.chunks:
            if now > start:
                k = (now - start + period - 1) // period
                total += k if k < n else n
        return total


_pulses = _Pulses()


class RMT:
    def __init__(self, channel, pin=None, resolution_hz=1000000, idle_level=False):
        if resolution_hz != 1000000:
            raise ValueError("this rig's RMT counts in microseconds")
        machine.mechanism.sm = _pulses

    def write_pulses(self, durations, level=True):
        if len(durations) % 2 or len(durations) > 64:
            raise ValueError("an RMT write is at most 32 high/low pairs")
        now = machine.clock.elapsed_ms * 1000
        end = _pulses.end_us()
        if _pulses.cut_us >= 0:
            _pulses.chunks = [c for c in _pulses.chunks if c[0] < _pulses.cut_us]
            end = now
            _pulses.cut_us = -1
        _pulses.chunks.append((now if now > end else end, len(durations) // 2, durations[0] + durations[1]))

    def wait_done(self, timeout=0):
        return _pulses.cut_us >= 0 or machine.clock.elapsed_ms * 1000 >= _pulses.end_us()

    def active(self, on=None):
        if on is not None and not on:
            _pulses.cut_us = machine.clock.elapsed_ms * 1000

    def deinit(self):
        self.active(False)


class PCNT:
    INCREMENT = 1

    def __init__(self, unit, pin=None, rising=0, filter=0):
        self._running = False

    def start(self):
        self._running = True

    def value(self, v=None):
        if v is not None:  # a new count: the stepper driver starts a move
            machine.mechanism.book()
            made = _pulses.made()
            _pulses.chunks = []
            _pulses.cut_us = -1
            machine.mechanism.start_move()
            return made
        return _pulses.made()

    def deinit(self):
        self._running = False
