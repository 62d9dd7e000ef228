"""A stand-in for MicroPython's rp2 module, for driving hal/stepper_rp2.py on CPython.

Its StateMachine models the pulse program at the level the driver sees: a count put in the
FIFO starts that many pulses at freq / 32 a second of the (virtual) clock; `mov(isr, x)` then
`push(noblock)` report X as the running program would (N - 1 - pulses made, wrapping to
0xFFFFFFFF at the end); active(0) freezes it where it is. `fault` and `stall_at` inject the
faults the CPython rig has: a stalled motor makes no more pulses after stall_at.
"""

import sys
import types


class StateMachine:
    def __init__(self, sm_id, program, freq, set_base=None):
        self.hz = freq // 32
        self.clock = StateMachine.clock  # the test's virtual clock: a callable giving ms
        self.running = False
        self.asked = 0
        self.start_ms = 0
        self.frozen = 0
        self.rx = []
        self.stall_at = None

    def _made(self):
        if not self.asked:
            return 0
        if not self.running:
            return self.frozen
        made = (self.clock() - self.start_ms) * self.hz // 1000
        if self.stall_at is not None and made > self.stall_at:
            made = self.stall_at
        return min(made, self.asked)

    def restart(self):
        self.asked = 0
        self.frozen = 0

    def active(self, on):
        if not on and self.running:
            self.frozen = self._made()
        self.running = bool(on)

    def put(self, n):
        self.asked = n
        self.start_ms = self.clock()

    def exec(self, instr):
        if instr == "mov(isr, x)":
            self.isr = (self.asked - 1 - self._made()) & 0xFFFFFFFF
        elif instr == "push(noblock)":
            self.rx.append(self.isr)
        else:
            raise ValueError(instr)

    def get(self):
        return self.rx.pop(0)


def install(clock):
    """Put fake rp2 and micropython modules in sys.modules; returns the rp2 module."""
    rp2 = types.ModuleType("rp2")
    rp2.StateMachine = StateMachine
    StateMachine.clock = clock
    rp2.PIO = types.SimpleNamespace(OUT_LOW=0)
    rp2.asm_pio = lambda **kw: lambda f: f
    sys.modules["rp2"] = rp2
    if "micropython" not in sys.modules:
        mp = types.ModuleType("micropython")
        mp.const = lambda v: v
        sys.modules["micropython"] = mp
    return rp2
