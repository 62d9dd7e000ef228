"""The alarm buzzer (the core's hw.buzzer): a passive piezo on a PWM pin, playing the alarm
manager's bursts without blocking.

    buzzer = Buzzer(machine.PWM(machine.Pin(board.PIN_BUZZER)), board.BUZZER_HZ, time.ticks_ms)
    buzzer.play(pattern)   # starts at once, replacing any burst still playing
    buzzer.tick()          # the shell's buzzer task calls this every 10 ms or so
    buzzer.wake = event.set   # called by play(): the shell's task sleeps until a burst starts

A pattern is bytes of alternating on and off durations in 10 ms units, starting and ending
with a tone (pump/alarms.py). tick() switches the tone at each edge that has come due, so a
late call shortens the interval it was late in, never the pattern's total length.
"""

from pump.compat import ticks_diff

_DUTY_ON = 32768  # a square wave: the loudest a piezo plays


class Buzzer:
    def __init__(self, pwm, hz, ticks_ms):
        self._pwm = pwm
        self._ticks_ms = ticks_ms
        pwm.freq(hz)
        pwm.duty_u16(0)
        self._pattern = b""
        self._i = 0  # index of the current interval in the pattern
        self._edge_ms = 0  # when the current interval ends
        self.wake = None

    def play(self, pattern):
        self._pattern = pattern
        self._i = 0
        self._edge_ms = self._ticks_ms()
        if pattern:
            self._pwm.duty_u16(_DUTY_ON)
            self._edge_ms += pattern[0] * 10
            if self.wake:
                self.wake()
        else:
            self._pwm.duty_u16(0)

    def sound(self):
        """A steady tone until stop(): the last-chance handler's, when nothing else runs."""
        self._pattern = b""
        self._pwm.duty_u16(_DUTY_ON)

    def stop(self):
        self._pattern = b""
        self._pwm.duty_u16(0)

    def playing(self):
        return bool(self._pattern)

    def tick(self):
        pattern = self._pattern
        if not pattern:
            return
        now = self._ticks_ms()
        while ticks_diff(now, self._edge_ms) >= 0:
            self._i += 1
            if self._i >= len(pattern):
                self.stop()
                return
            self._pwm.duty_u16(0 if self._i % 2 else _DUTY_ON)
            self._edge_ms += pattern[self._i] * 10

    def self_test(self):
        """The PWM answers: a duty set reads back (the start-up self test, S17)."""
        if self._pattern:
            return True  # playing: it answered when the burst started
        self._pwm.duty_u16(1)
        ok = self._pwm.duty_u16() == 1
        self._pwm.duty_u16(0)
        return ok

    def deinit(self):
        self.stop()
        self._pwm.deinit()
