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

from hal.stepper import Stepper

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


class StepperPio(Stepper):
    def __init__(self, sm_id, step, direction, enable, fault, step_hz, fault_active_low=True):
        super().__init__(direction, enable, fault, fault_active_low)
        self._sm = rp2.StateMachine(sm_id, _pulses, freq=step_hz * _CYCLES, set_base=step)

    def _launch(self, steps):
        sm = self._sm
        sm.restart()
        sm.active(1)
        sm.put(steps)

    def _halt(self):
        self._sm.active(0)

    def _pulses(self):
        """Read X from the state machine (an injected instruction runs stopped or not)."""
        sm = self._sm
        sm.exec("mov(isr, x)")
        sm.exec("push(noblock)")
        x = sm.get()
        return self._asked - 1 - x if x != 0xFFFFFFFF else self._asked
