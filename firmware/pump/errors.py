"""The single exception the core raises when it refuses an input or a command, and the
whole-number check every boundary uses."""


class Refused(ValueError):
    """An input or command the pump will not act on.

    `field` names what was wrong (a settings key, a command argument) and `reason` says why
    in words a user understands; `str()` gives "field: reason" for screens, links and logs.
    """

    def __init__(self, field, reason):
        super().__init__(field, reason)
        self.field = field
        self.reason = reason

    def __str__(self):
        return self.field + ": " + self.reason


def check_int(value, field, lo, hi=None):
    """value if it is a whole number in lo..hi (no upper bound when hi is None), else Refused."""
    # type(), not isinstance(): bool is an int on CPython but not on MicroPython, and True
    # must never pass as 1 g or 1 mU on either
    if type(value) is not int:
        raise Refused(field, "%r is not a whole number" % (value,))
    if hi is None:
        if value < lo:
            raise Refused(field, "%d is below %d" % (value, lo))
    elif value < lo or value > hi:
        raise Refused(field, "%d is outside %d..%d" % (value, lo, hi))
    return value
