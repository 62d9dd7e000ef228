"""Rolling-hour and rolling-24-hour insulin totals, counted in motor steps.

The hour window books steps into one-minute buckets and sums the current minute and the 60
before it; the day window books into five-minute buckets and sums the current one and the
288 before it. Each window spans a little more than its limit's interval, so every true
rolling 60-minute or 24-hour interval lies inside it, and a limit held on the window is held
on every interval: the slack only ever makes the pump stricter.
"""

from pump.compat import const, zeros_h

_HOUR_BUCKETS = const(61)  # one-minute buckets
_DAY_BUCKETS = const(289)  # five-minute buckets
_DAY_BUCKET_MIN = const(5)


class RollingTotals:
    __slots__ = ("_hour", "_day", "_minute", "hour_steps", "day_steps")

    def __init__(self, minute=0):
        # 16-bit buckets: the rig allows at most 10 U/min at 1000 steps/U, so a five-minute
        # bucket holds at most 50000 bolus steps plus 35 U/h of basal (2917): below 65535.
        self._hour = zeros_h(_HOUR_BUCKETS)
        self._day = zeros_h(_DAY_BUCKETS)
        self._minute = minute  # the monotonic minute the windows end at
        self.hour_steps = 0
        self.day_steps = 0

    def advance_to(self, minute):
        """Move the windows forward to `minute` (monotonic minutes since start)."""
        if minute - self._minute > _DAY_BUCKETS * _DAY_BUCKET_MIN:
            for i in range(_HOUR_BUCKETS):
                self._hour[i] = 0
            for i in range(_DAY_BUCKETS):
                self._day[i] = 0
            self.hour_steps = 0
            self.day_steps = 0
            self._minute = minute
            return
        while self._minute < minute:
            m = self._minute + 1
            slot = m % _HOUR_BUCKETS
            self.hour_steps -= self._hour[slot]
            self._hour[slot] = 0
            if m % _DAY_BUCKET_MIN == 0:
                slot = (m // _DAY_BUCKET_MIN) % _DAY_BUCKETS
                self.day_steps -= self._day[slot]
                self._day[slot] = 0
            self._minute = m

    def book(self, steps):
        """Record steps delivered in the current minute."""
        m = self._minute
        self._hour[m % _HOUR_BUCKETS] += steps
        self._day[(m // _DAY_BUCKET_MIN) % _DAY_BUCKETS] += steps
        self.hour_steps += steps
        self.day_steps += steps

    def book_past(self, minutes_ago, steps):
        """Record steps delivered minutes_ago (0 = this minute), as a restart rebuilds them."""
        if minutes_ago < 0 or minutes_ago >= _DAY_BUCKETS * _DAY_BUCKET_MIN:
            return
        m = self._minute - minutes_ago
        if minutes_ago < _HOUR_BUCKETS:
            self._hour[m % _HOUR_BUCKETS] += steps
            self.hour_steps += steps
        self._day[(m // _DAY_BUCKET_MIN) % _DAY_BUCKETS] += steps
        self.day_steps += steps
