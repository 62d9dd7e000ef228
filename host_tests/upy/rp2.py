"""Stands in for MicroPython's rp2 module in the unix port: a PIO state machine running the
stepper's pulse program (hal/stepper_rp2.py) on the virtual rig's clock.

A count put in the FIFO starts that many pulses at freq / 32 a second; `mov(isr, x)` then
`push(noblock)` report X as the running program would (N - 1 - pulses made, 0xFFFFFFFF once
it has finished); active(0) freezes it. The pulses reach the plunger unless the driver's
outputs are disabled (ENABLE high), the driver is in fault, or the plunger is jammed: the
mechanism (machine.Mechanism) books them forward or back by the DIR pin, which the line
model reads (host_tests/linemodel.py). A jammed plunger still gets its pulses counted by the
PIO, as on the rig: the motor skips them.
"""

import machine


class PIO:
    OUT_LOW = 0


def asm_pio(**kw):
    def wrap(program):
        return program

    return wrap


class StateMachine:
    def __init__(self, sm_id, program, freq, set_base=None):
        self.hz = freq // 32
        self.running = False
        self.asked = 0
        self.start_ms = 0
        self.frozen = 0
        self.isr = 0
        self.rx = []
        self.step_pin = set_base
        machine.mechanism.sm = self

    def made(self):
        if not self.asked:
            return 0
        if not self.running:
            return self.frozen
        made = (machine.clock.elapsed_ms - self.start_ms) * self.hz // 1000
        return made if made < self.asked else self.asked

    def restart(self):
        machine.mechanism.book()
        self.asked = 0
        self.frozen = 0

    def active(self, on):
        if not on and self.running:
            self.frozen = self.made()
        self.running = bool(on)

    def put(self, n):
        machine.mechanism.start_move()
        self.asked = n
        self.start_ms = machine.clock.elapsed_ms

    def exec(self, instr):
        if instr == "mov(isr, x)":
            self.isr = (self.asked - 1 - self.made()) & 0xFFFFFFFF
        elif instr == "push(noblock)":
            self.rx.append(self.isr)
        else:
            raise ValueError(instr)

    def get(self):
        return self.rx.pop(0)
