"""Wall-clock time from the board's RTC, as the core counts it: days since 2000-01-01 and ms
into the day (pump/core.py day, tod_ms).

    clock = Clock(machine.RTC())
    day, tod_ms = clock.now()
    clock.set(day, tod_ms)   # after the person confirms or sets the time

machine.RTC().datetime() is (year, month, day, weekday, hours, minutes, seconds, subseconds)
on both chips. The RTC keeps counting through a soft reset but not a power loss, which is
why the pump asks for the time to be confirmed after one (clock_lost, S21).
"""

from pump.calendar import civil, day_number


class Clock:
    def __init__(self, rtc):
        self._rtc = rtc

    def now(self):
        y, mo, d, _, h, mi, s, _ = self._rtc.datetime()
        return day_number(y, mo, d), ((h * 60 + mi) * 60 + s) * 1000

    def set(self, day, tod_ms):
        y, mo, d = civil(day)
        s = tod_ms // 1000
        weekday = (day + 5) % 7  # 2000-01-01 was a Saturday; Monday is 0
        self._rtc.datetime((y, mo, d, weekday, s // 3600, s // 60 % 60, s % 60, 0))

    def deinit(self):
        """Nothing to release: the RTC keeps running."""
