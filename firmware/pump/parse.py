"""Exact conversion of user-facing input into the core's integers.

Users speak units (U), U/h, grams and "HH:MM"; the core counts milliunits (mU), mU/h and
minutes. Decimal input is parsed as text so no binary-float error can round 0.9 U down to
899 mU; anything finer than 1/1000 is truncated (rounded down, never up). Needed only where
input is read (settings, scenarios, the link), not while therapy runs.
"""

from pump.errors import Refused


def parse_milli(value, field):
    """A non-negative decimal amount (int, float or numeric string) as an integer x1000, rounded down."""
    if isinstance(value, bool):
        raise Refused(field, "expected a number, got " + repr(value))
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise Refused(field, "expected a finite number")
        text = "%.6f" % value
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise Refused(field, "expected a number, got " + repr(value))
    if text.startswith("-"):
        raise Refused(field, "must not be negative (got " + text + ")")
    whole, _, frac = text.partition(".")
    if not (whole or frac):
        raise Refused(field, "expected a number, got " + repr(value))
    whole = whole or "0"
    if not whole.isdigit() or (frac and not frac.isdigit()):
        raise Refused(field, "expected a number, got " + repr(value))
    frac = (frac + "000")[:3]
    return int(whole) * 1000 + int(frac)


def parse_hhmm(text, field):
    """'HH:MM' (00:00..23:59) as minutes after midnight."""
    if not isinstance(text, str) or len(text) != 5 or text[2] != ":":
        raise Refused(field, "expected a time as HH:MM, got " + repr(text))
    hh, mm = text[:2], text[3:]
    if not (hh.isdigit() and mm.isdigit()):
        raise Refused(field, "expected a time as HH:MM, got " + repr(text))
    h, m = int(hh), int(mm)
    if h > 23 or m > 59:
        raise Refused(field, "no such time of day: " + text)
    return h * 60 + m
