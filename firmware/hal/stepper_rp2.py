"""The plunger motor on an RP2040: STEP pulses made and counted by a PIO state machine.

    motor = StepperPio(board.PIO_SM, Pin(board.PIN_STEP), Pin(board.PIN_DIR, Pin.OUT),
                       Pin(board.PIN_ENABLE, Pin.OUT), Pin(board.PIN_FAULT, Pin.IN, Pin.PULL_UP),
                       board.STEP_HZ, board.FAULT_ACTIVE_LOW)

The state machine takes a pulse count from its FIFO and makes exactly that many pulses at
step_hz, counting down in its X register; Python only starts moves and reads how far one got,
so neither Python's timing, a garbage collection nor a flash write changes a pulse. How many
pulses a move has made is read by injecting `mov(isr, x)` and `push()` into the running state
machine: N - 1 - X. stop() halts the state machine at once and disables the driver's outputs;
steps_done() then tells exactly how far the plunger went. One pulse: 32 PIO cycles (a 16-cycle
high, a 16-cycle low including the loop's jump), so the state machine runs at 32 x step_hz.
"""

import rp2
from micropython import const

try:
    from typing import TYPE_CHECKING
except ImportError:  # MicroPython: the PIO assembler's names exist only inside asm_pio
    TYPE_CHECKING = False
if TYPE_CHECKING:
    from rp2.asm_pio import *

_CYCLES = const(32)


@rp2.asm_pio(set_init=rp2.PIO.OUT_LOW)
def _pulses():
    pull(block)
    mov(x, osr)
    jmp(x_dec, "pulse")  # X = N - 1 (a move is never 0 pulses)
    label("pulse")
    set(pins, 1)[15]
    set(pins, 0)[14]
    jmp(x_dec, "pulse")


class StepperPio:
    def __init__(self, sm_id, step, direction, enable, fault, step_hz, fault_active_low=True):
        self._sm = rp2.StateMachine(sm_id, _pulses, freq=step_hz * _CYCLES, set_base=step)
        self._dir = direction
        self._enable = enable
        self._fault = fault
        self._fault_level = 0 if fault_active_low else 1
        self._done = 0  # forward pulses of the moves that are over
        self._back = 0  # reverse pulses, all moves
        self._asked = 0  # pulses the current move asked for; 0 when none
        self._forward = True
        enable.value(1)  # outputs off until a move

    def _made(self):
        """Pulses the current move has made (exact: read from the state machine)."""
        if not self._asked:
            return 0
        sm = self._sm
        sm.exec("mov(isr, x)")
        sm.exec("push(noblock)")
        x = sm.get()
        made = self._asked - 1 - x if x != 0xFFFFFFFF else self._asked
        return made if made < self._asked else self._asked

    def _start(self, steps, forward):
        self._finish()
        self._forward = forward
        self._dir.value(1 if forward else 0)
        self._enable.value(0)
        self._asked = steps
        self._sm.restart()
        self._sm.active(1)
        self._sm.put(steps)

    def _finish(self):
        """Book the current move's pulses and leave the machine stopped."""
        if self._asked:
            made = self._made()
            if self._forward:
                self._done += made
            else:
                self._back += made
            self._asked = 0
        self._sm.active(0)

    def move(self, steps):
        if steps <= 0:
            raise ValueError("move needs a positive step count")
        self._start(steps, True)

    def retract(self, steps):
        """Back the plunger off `steps` pulses (after stopping any move)."""
        self._start(steps, False)

    def busy(self):
        return bool(self._asked) and self._made() < self._asked

    def steps_done(self):
        return self._done + (self._made() if self._forward else 0)

    def steps_back(self):
        return self._back + (0 if self._forward else self._made())

    def stop(self):
        self._sm.active(0)
        self._enable.value(1)
        self._finish()

    def fault_active(self):
        return self._fault.value() == self._fault_level

    def deinit(self):
        self.stop()
