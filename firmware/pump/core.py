"""The pump core: time, alarms and the safety supervisor around the therapy.

A deterministic state machine. Time comes in through `tick(now_ms)` (MicroPython ticks,
wrapping at 2**30 ms); commands are method calls that raise `Refused`, changing nothing,
when they cannot be obeyed; steps leave through the stepper it was handed, and totals are
booked only from the steps the stepper reports made. Events go to `emit(code, fields)`.
"""

from pump.compat import const, ticks_diff
from pump.therapy import Therapy

_MAX_WAKE_MS = const(60000)
_DAY_MS = const(86400000)


class Pump(Therapy):
    def __init__(self, settings, rig, motor, emit, now_ms, day, tod_ms, reservoir_mu):
        super().__init__(settings, rig, motor, emit, day, tod_ms, reservoir_mu)
        self._ms_in_minute = 0
        self._last_ms = now_ms

    # ----------------------------------------------------------------- time

    def tick(self, now_ms):
        """Advance to now_ms: integrate therapy, book the steps made, start owed ones."""
        dt = ticks_diff(now_ms, self._last_ms)
        self._last_ms = now_ms
        if dt < 0:
            self.emit("clock_backwards", {"ms": -dt})
            dt = 0
        while dt > 0:
            step = min(dt, self._ms_to_boundary())
            self._advance(step)
            dt -= step
        if not self.collect():
            self.emit("motor_count_error", {})
            self._stop_all("motor_count_error")
        self._check_doses()
        self.dispatch()

    def next_wake_ms(self):
        """How long the shell may sleep before the core needs another tick."""
        wake = min(_MAX_WAKE_MS - self._ms_in_minute, self._ms_to_boundary())
        ms = self.ms_to_next_step()
        if ms is not None and ms < wake:
            wake = ms
        return wake if wake > 0 else 1

    def _ms_to_boundary(self):
        """Time to the next schedule segment, temp basal end, timed resume or bolus end."""
        ms = self._segment_end_ms - self.tod_ms
        b = self.current_bolus
        for left in (self.temp.left_ms if self.temp else 0, self._suspend_left_ms, b.ext_left_ms if b else 0):
            if 0 < left < ms:
                ms = left
        return ms

    def _advance(self, ms):
        self.integrate(ms)
        self.tod_ms += ms
        if self.tod_ms >= _DAY_MS:
            self.tod_ms -= _DAY_MS
            self.day += 1
        if self.tod_ms >= self._segment_end_ms or self.tod_ms < ms:
            self._enter_segment()
        self._ms_in_minute += ms
        while self._ms_in_minute >= 60000:
            self._ms_in_minute -= 60000
            self.minute += 1
        self.totals.advance_to(self.minute)
        self._advance_therapy(ms)
