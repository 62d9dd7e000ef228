"""The plunger motor on an ESP32: STEP pulses from the RMT, counted by a PCNT pulse counter.

    motor = StepperRmt(board.RMT_CHANNEL, Pin(board.PIN_STEP, Pin.OUT), Pin(board.PIN_DIR, Pin.OUT),
                       Pin(board.PIN_ENABLE, Pin.OUT), Pin(board.PIN_FAULT, Pin.IN),
                       board.STEP_HZ, board.FAULT_ACTIVE_LOW)
    motor.poll()   # the shell's delivery task, every few milliseconds

The RMT sends pulses in chunks of at most CHUNK (the classic ESP32's RMT cannot repeat a
pattern a set number of times), and poll() queues the next chunk when one is done. The
pulses the plunger got are counted by the PCNT unit watching the same pin, in hardware: a
chunk that is late because Python was busy slows a move down, and never changes its count.
stop() halts the RMT at once; the counter then says exactly how far the move went. The
counter is 16 bits, so a move is at most 32767 pulses (the engine's batches are far smaller;
the largest prime, 30 U, is 13,380).
"""

import esp32

from hal.stepper import Stepper

_CHUNK = 32  # pulses a write: 64 durations, a 0.5 KB tuple at most


class StepperRmt(Stepper):
    MAX_MOVE = 32767  # the pulse counter's range

    def __init__(self, channel, step, direction, enable, fault, step_hz, fault_active_low=True, pcnt_unit=0):
        super().__init__(direction, enable, fault, fault_active_low)
        half_us = 500000 // step_hz
        self._pair = (half_us, half_us)  # high, low: one pulse at step_hz
        self._rmt = esp32.RMT(channel, pin=step, resolution_hz=1000000, idle_level=False)
        self._pcnt = esp32.PCNT(pcnt_unit, pin=step, rising=esp32.PCNT.INCREMENT, filter=10)
        self._pcnt.start()
        self._queued = 0  # pulses of the current move handed to the RMT so far

    def poll(self):
        """Queue the next chunk when the RMT has sent the last one."""
        if self._queued < self._asked and self._rmt.wait_done(timeout=0):
            n = self._asked - self._queued
            if n > _CHUNK:
                n = _CHUNK
            self._queued += n
            self._rmt.write_pulses(self._pair * n, True)

    def _launch(self, steps):
        self._pcnt.value(0)
        self._queued = 0
        self.poll()

    def _halt(self):
        self._rmt.active(False)
        self._queued = self._asked  # nothing more goes out for this move

    def _pulses(self):
        return self._pcnt.value()

    def deinit(self):
        super().deinit()
        self._rmt.deinit()
        self._pcnt.deinit()
