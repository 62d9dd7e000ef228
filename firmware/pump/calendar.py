"""Dates: days counted from 2000-01-01 (the pump's day number) and the proleptic Gregorian
calendar. For the screens that show or set a date (pump/ui_history.py, pump/ui_setup.py).
"""


def civil(day):
    """(year, month, day of month) of a day counted from 2000-01-01 (proleptic Gregorian)."""
    z = day + 730425  # days from 0000-03-01
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (m <= 2), m, d


def day_number(y, m, d):
    """Days from 2000-01-01 to a date: civil()'s inverse."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 730425


def month_days(y, m):
    if m == 2:
        return 29 if (y % 4 == 0 and y % 100 != 0) or y % 400 == 0 else 28
    return 30 if m in (4, 6, 9, 11) else 31


def date_text(day):
    y, m, d = civil(day)
    return "%04d-%02d-%02d" % (y, m, d)
