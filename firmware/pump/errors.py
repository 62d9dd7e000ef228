"""The single exception the core raises when it refuses an input or a command."""


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
