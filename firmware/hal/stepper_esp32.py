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

_CHUNK = 32  # pulses a write: 64 durations, a 0.5 KB tuple at most


class StepperRmt:
    def __init__(self, channel, step, direction, enable, fault, step_hz, fault_active_low=True, pcnt_unit=0):
        half_us = 500000 // step_hz
        self._pair = (half_us, half_us)  # high, low: one pulse at step_hz
        self._rmt = esp32.RMT(channel, pin=step, resolution_hz=1000000, idle_level=False)
        self._pcnt = esp32.PCNT(pcnt_unit, pin=step, rising=esp32.PCNT.INCREMENT, filter=10)
        self._pcnt.start()
        self._dir = direction
        self._enable = enable
        self._fault = fault
        self._fault_level = 0 if fault_active_low else 1
        self._done = 0  # forward pulses of the moves that are over
        self._back = 0
        self._asked = 0  # pulses the current move asked for; 0 when none
        self._queued = 0  # of them, handed to the RMT so far
        self._forward = True
        enable.value(1)

    def _made(self):
        made = self._pcnt.value() if self._asked else 0
        return made if made < self._asked else self._asked

    def poll(self):
        """Queue the next chunk when the RMT has sent the last one."""
        if self._queued < self._asked and self._rmt.wait_done(timeout=0):
            n = self._asked - self._queued
            if n > _CHUNK:
                n = _CHUNK
            self._queued += n
            self._rmt.write_pulses(self._pair * n, True)

    def _start(self, steps, forward):
        self._finish()
        self._forward = forward
        self._dir.value(1 if forward else 0)
        self._enable.value(0)
        self._pcnt.value(0)
        self._asked = steps
        self._queued = 0
        self.poll()

    def _finish(self):
        if self._asked:
            self._rmt.active(False)
            made = self._made()
            if self._forward:
                self._done += made
            else:
                self._back += made
            self._asked = 0

    def move(self, steps):
        if not 0 < steps <= 32767:
            raise ValueError("a move is 1..32767 pulses")
        self._start(steps, True)

    def retract(self, steps):
        self._start(steps, False)

    def busy(self):
        self.poll()
        return bool(self._asked) and self._made() < self._asked

    def steps_done(self):
        self.poll()
        return self._done + (self._made() if self._forward else 0)

    def steps_back(self):
        return self._back + (0 if self._forward else self._made())

    def stop(self):
        self._rmt.active(False)
        self._enable.value(1)
        self._finish()

    def fault_active(self):
        return self._fault.value() == self._fault_level

    def deinit(self):
        self.stop()
        self._rmt.deinit()
        self._pcnt.deinit()
