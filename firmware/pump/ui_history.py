"""The interface's history screens: recent events (7 days, newest first) and daily totals,
read from the history on flash. pump/ui.py's menu opens them (Ui.setup) and loads this module
only then. The record numbers are the format's (pump/history_query.py names them; a test
checks they agree), private here so that the pump need not load that module's tables.
"""

from pump.calendar import civil
from pump.compat import const
from pump.ui import Menu, Message, u_text

_RESERVOIR = const(5)
_TEMP_START = const(8)
_BOLUS_START = const(9)
_BOLUS_PROGRESS = const(10)
_DOSE = const(11)
_INTERRUPTED = const(12)
_ALARM = const(13)
_REFUSED = const(14)
_OPERATIONAL = const(15)
_LOST = const(16)
_FIRMWARE_ERROR = const(17)
_TEMP_CAP = const(18)
_NAMES = (  # the other record types, by number
    "?",
    "power on",
    "time set",
    "settings",
    "profile",
    "reservoir",
    "suspend",
    "resume",
)
_DAY_S = const(86400)
_EVENTS_SHOWN = const(30)
_DAYS_SHOWN = const(7)
_ROWS = const(8)
_KINDS = ("bolus", "ext", "dual", "prime", "temp")  # history_query.KIND_NAMES, short


class Rows:
    """Rows to read, scrolled with UP and DOWN; OK or BACK goes back."""

    def __init__(self, title, rows):
        self.title = title
        self.rows = rows or ["(none)"]
        self.top = 0

    def lines(self, ui):
        return [self.title] + self.rows[self.top : self.top + _ROWS - 1]

    def key(self, ui, name, kind):
        if kind == "down":
            return
        if name == "UP" and self.top > 0:
            self.top -= 1
        elif name == "DOWN" and self.top + _ROWS - 1 < len(self.rows):
            self.top += 1
        elif (name == "OK" or name == "BACK") and kind == "short":
            ui.back()


def _clock(minute):
    return "%02d:%02d" % (minute // 60, minute % 60)


def history(ui):
    items = [("Recent events", _events), ("Daily totals", _totals)]
    ui.open(Menu("HISTORY", items))


def _event_text(rec):
    """A history record in at most 15 characters."""
    t = rec.type
    if t == _DOSE or t == _INTERRUPTED:
        kind = _KINDS[rec.code] if rec.code < len(_KINDS) else "dose"
        return "%s %s" % (kind, u_text(rec.delivered_mu)) + ("!" if t == _INTERRUPTED else "")
    if t == _BOLUS_START:
        return "bolus %s" % u_text(rec.programmed_mu)
    if t == _TEMP_START:
        if rec.code != 255:
            return "temp %d%%" % rec.code
        rate = rec.aux & 0xFFFF
        return "temp %d.%02d U/h" % (rate // 1000, rate % 1000 // 10)
    if t == _ALARM:
        from pump.alarms import text

        return text(rec.code)[:12] + " " + "RASC"[(rec.aux & 255) % 4]
    if t == _RESERVOIR:
        return "fill %s" % u_text(rec.aux)
    if t == _REFUSED:
        return "refused"
    if t == _LOST:
        return "records lost"
    if t == _FIRMWARE_ERROR:
        return "firmware error"
    if t == _TEMP_CAP:  # "cap 35.00 U/h" at most: 13 characters
        cap = rec.programmed_mu
        return "cap %d.%02d U/h" % (cap // 1000, cap % 1000 // 10) if rec.code else "cap released"
    return _NAMES[t] if t < len(_NAMES) else "record %d" % t


def _events(ui):
    h = ui.pump.history()
    if h is None:
        ui.open(Message(["HISTORY", "no history memory"], back=True))
        return
    p = ui.pump
    now_s = p.day * _DAY_S + p.tod_ms // 1000
    shown = []
    for rec in h.records(t_from=now_s - 7 * _DAY_S):
        if rec.type == _OPERATIONAL or rec.type == _BOLUS_PROGRESS:
            continue
        shown.append((rec.t_s, _event_text(rec)))
        if len(shown) > _EVENTS_SHOWN:
            shown.pop(0)
    rows = []
    for t_s, text in reversed(shown):
        day, s = divmod(t_s, _DAY_S)
        y, m, d = civil(day)
        rows.append("%02d.%02d %s" % (d, m, _clock(s // 60)))
        rows.append(" " + text)
    ui.open(Rows("EVENTS (7 days)", rows))


def totals_by_day(h, first_day, days):
    """[(total, basal, bolus) mU] of `days` local days from first_day on, in one read of the
    history, by pump/history_query.py daily_totals' rules (a test checks they agree)."""
    from pump.restart import deliveries

    sums = [[0, 0] for _ in range(days)]
    for t_s, is_basal, lower, _ in deliveries(h, first_day * _DAY_S):
        i = ((t_s - 1) if is_basal else t_s) // _DAY_S - first_day
        if 0 <= i < days:
            sums[i][0 if is_basal else 1] += lower
    return [(b + B, b, B) for b, B in sums]


def _totals(ui):
    p = ui.pump
    h = p.history()
    if h is None:
        ui.open(Message(["DAILY TOTALS", "no history memory"], back=True))
        return
    first = p.day - _DAYS_SHOWN + 1
    rows = []
    totals = totals_by_day(h, first, _DAYS_SHOWN)
    for i in range(_DAYS_SHOWN - 1, -1, -1):
        total, basal, bolus = totals[i]
        y, m, d = civil(first + i)
        day_text = "today" if i == _DAYS_SHOWN - 1 else "%02d.%02d" % (d, m)
        rows.append(day_text + " " + u_text(total))
        rows.append(" basal " + u_text(basal))
        rows.append(" bolus " + u_text(bolus))
    ui.open(Rows("DAILY TOTALS", rows))
