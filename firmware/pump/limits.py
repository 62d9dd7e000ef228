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
_MAX_BOOKING = const(1 << 24)


def _add_h(buckets, slot, steps):
    """Add steps to a 16-bit bucket, saturating; what it took."""
    room = 0xFFFF - buckets[slot]
    if steps > room:
        steps = room
    buckets[slot] += steps
    return steps


class HourWindow:
    """Steps in the current minute and the 60 before it, in one-minute buckets (16-bit: a
    minute of basal at the highest rate the settings allow is 584 steps at 1000 steps/U)."""

    __slots__ = ("_buckets", "_minute", "steps")

    def __init__(self):
        self._buckets = zeros_h(_HOUR_BUCKETS)
        self._minute = 0
        self.steps = 0

    def advance_to(self, minute):
        if minute - self._minute >= _HOUR_BUCKETS:
            for i in range(_HOUR_BUCKETS):
                self._buckets[i] = 0
            self.steps = 0
            self._minute = minute
            return
        while self._minute < minute:
            self._minute += 1
            slot = self._minute % _HOUR_BUCKETS
            self.steps -= self._buckets[slot]
            self._buckets[slot] = 0

    def book(self, steps):
        self.steps += _add_h(self._buckets, self._minute % _HOUR_BUCKETS, steps)


class RollingTotals:
    __slots__ = ("_hour", "_day", "_minute", "hour_steps", "day_steps")

    def __init__(self, minute=0):
        # Running, a minute holds at most 10000 bolus steps (10 U/min at 1000 steps/U) and a
        # five-minute bucket 50000 plus 2917 of basal, but a restart books what the history
        # shows, which after damage can be a day's limit in one place (250 U at 1000
        # steps/U). The day's buckets are 32-bit (book_past keeps a booking below 2**24).
        # The hour's are 16-bit and saturate: one that is full holds more than any hourly
        # limit (50 U), so the window it is in refuses everything whatever the others hold.
        self._hour = zeros_h(_HOUR_BUCKETS)
        self._day = zeros_h(_DAY_BUCKETS, "I")
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
        self.hour_steps += _add_h(self._hour, m % _HOUR_BUCKETS, steps)
        self._day[(m // _DAY_BUCKET_MIN) % _DAY_BUCKETS] += steps
        self.day_steps += steps

    def book_past(self, minutes_ago, steps):
        """Record steps delivered minutes_ago (0 = this minute), as a restart rebuilds them."""
        if minutes_ago < 0 or minutes_ago >= _DAY_BUCKETS * _DAY_BUCKET_MIN:
            return
        if steps > _MAX_BOOKING:
            steps = _MAX_BOOKING  # above every limit the settings allow: the window is full
        m = self._minute - minutes_ago
        if minutes_ago < _HOUR_BUCKETS:
            self.hour_steps += _add_h(self._hour, m % _HOUR_BUCKETS, steps)
        if self._minute // _DAY_BUCKET_MIN - m // _DAY_BUCKET_MIN < _DAY_BUCKETS:  # still in the day
            self._day[(m // _DAY_BUCKET_MIN) % _DAY_BUCKETS] += steps
            self.day_steps += steps
