"""A stand-in for MicroPython's esp32 module (RMT and PCNT), for driving hal/stepper_esp32.py
on CPython. The RMT sends each write's pulses one after the other on the (virtual) clock, after
whatever it was still sending; PCNT counts the rising edges made so far on the same pin.
`stall_at` makes the plunger jam: the RMT stops making pulses after that many."""

import sys
import types


class Line:
    """What has gone out on a pin: the edges, by time."""

    def __init__(self, clock):
        self.clock = clock
        self.chunks = []  # (start_us, pulses, period_us)
        self.cut_us = None  # transmission stopped here
        self.stall_at = None

    def end_us(self):
        if not self.chunks:
            return 0
        start, n, period = self.chunks[-1]
        return start + n * period

    def edges(self):
        now = self.clock() * 1000 if self.cut_us is None else self.cut_us
        total = 0
        for start, n, period in self.chunks:
            if now > start:
                total += min(n, (now - start + period - 1) // period)
        if self.stall_at is not None and total > self.stall_at:
            total = self.stall_at
        return total


LINES = {}


class RMT:
    def __init__(self, channel, pin, resolution_hz, idle_level):
        assert resolution_hz == 1000000
        self.line = LINES.setdefault(id(pin), Line(RMT.clock))

    def write_pulses(self, durations, level):
        assert level is True and len(durations) % 2 == 0 and len(durations) <= 64
        line = self.line
        start = max(line.clock() * 1000, line.end_us())
        line.chunks.append((start, len(durations) // 2, durations[0] + durations[1]))
        line.cut_us = None

    def wait_done(self, timeout=0):
        return self.line.clock() * 1000 >= self.line.end_us()

    def active(self, on):
        if not on:
            self.line.cut_us = self.line.clock() * 1000
            self.line.chunks = [(s, n, p) for s, n, p in self.line.chunks if s < self.line.cut_us]

    def deinit(self):
        pass


class PCNT:
    INCREMENT = 1

    def __init__(self, unit, pin, rising, filter):
        self.line = LINES.setdefault(id(pin), Line(RMT.clock))
        self.base = 0

    def start(self):
        pass

    def value(self, v=None):
        if v is not None:
            self.base = self.line.edges()
            self.line.chunks = []
            self.line.cut_us = None
            self.base = 0
        return self.line.edges() - self.base

    def deinit(self):
        pass


def install(clock):
    mod = types.ModuleType("esp32")
    mod.RMT = RMT
    mod.PCNT = PCNT
    RMT.clock = clock
    LINES.clear()
    sys.modules["esp32"] = mod
    return mod
