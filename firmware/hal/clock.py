"""Wall-clock time from the board's RTC, as the core counts it: days since 2000-01-01 and ms
into the day (pump/core.py day, tod_ms).

    clock = Clock(machine.RTC())
    day, tod_ms = clock.now()
    clock.set(day, tod_ms)   # after the person confirms or sets the time

machine.RTC().datetime() is (year, month, day, weekday, hours, minutes, seconds, subseconds)
on both chips. The RTC keeps counting through a soft reset but not a power loss, which is
why the pump asks for the time to be confirmed after one (clock_lost, S21).
"""

_DAYS_BEFORE_MONTH = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)


def days_from_civil(year, month, day):
    """Days since 2000-01-01 of a date in 2000..2099 (every fourth year is a leap year)."""
    y = year - 2000
    days = y * 365 + (y + 3) // 4 + _DAYS_BEFORE_MONTH[month - 1] + day - 1
    if month > 2 and y % 4 == 0:
        days += 1
    return days


def civil_from_days(days):
    """(year, month, day) of a day number from days_from_civil."""
    year = 2000 + days * 4 // 1461
    while days_from_civil(year, 1, 1) > days:
        year -= 1
    while days_from_civil(year + 1, 1, 1) <= days:
        year += 1
    left = days - days_from_civil(year, 1, 1)
    month = 12
    while days_from_civil(year, month, 1) - days_from_civil(year, 1, 1) > left:
        month -= 1
    return year, month, left - (days_from_civil(year, month, 1) - days_from_civil(year, 1, 1)) + 1


class Clock:
    def __init__(self, rtc):
        self._rtc = rtc

    def now(self):
        y, mo, d, _, h, mi, s, _ = self._rtc.datetime()
        return days_from_civil(y, mo, d), ((h * 60 + mi) * 60 + s) * 1000

    def set(self, day, tod_ms):
        y, mo, d = civil_from_days(day)
        s = tod_ms // 1000
        weekday = (day + 5) % 7  # 2000-01-01 was a Saturday; Monday is 0
        self._rtc.datetime((y, mo, d, weekday, s // 3600, s // 60 % 60, s % 60, 0))

    def deinit(self):
        """Nothing to release: the RTC keeps running."""
