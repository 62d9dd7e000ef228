"""The interface's history screens: recent events (7 days, newest first) and daily totals,
read from the history on flash. pump/ui.py's menu opens them (Ui.setup) and loads this module
only then.
"""

from pump.calendar import civil
from pump.compat import const
from pump.ui import Menu, Message, u_text

_DAY_S = const(86400)
_EVENTS_SHOWN = const(30)
_DAYS_SHOWN = const(7)
_ROWS = const(8)


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
    """A history record in at most 16 characters."""
    from pump import history_query as q

    t = rec.type
    if t == q.DOSE or t == q.INTERRUPTED:
        kind = q.KIND_NAMES[rec.code] if rec.code < len(q.KIND_NAMES) else "dose"
        if kind == "temp_basal":
            kind = "temp"
        return "%s %s" % (kind, u_text(rec.delivered_mu)) + ("!" if t == q.INTERRUPTED else "")
    if t == q.BOLUS_START:
        return "bolus %s" % u_text(rec.programmed_mu)
    if t == q.TEMP_START:
        return (
            "temp %d%%" % rec.code
            if rec.code != 255
            else "temp " + "%d.%02d U/h" % ((rec.aux & 0xFFFF) // 1000, (rec.aux & 0xFFFF) % 1000 // 10)
        )
    if t == q.ALARM:
        from pump.alarms import text

        return text(rec.code)[:12] + " " + "RASC"[(rec.aux & 255) % 4]
    if t == q.RESERVOIR:
        return "fill %s" % u_text(rec.aux)
    if t == q.REFUSED:
        return "refused"
    return q.type_name(t).replace("_", " ")


def _events(ui):
    from pump import history_query as q

    h = ui.pump.history()
    if h is None:
        ui.open(Message(["HISTORY", "no history memory"], back=True))
        return
    p = ui.pump
    now_s = p.day * _DAY_S + p.tod_ms // 1000
    shown = []
    skip = (q.OPERATIONAL, q.BOLUS_PROGRESS)
    for rec in h.records(t_from=now_s - 7 * _DAY_S):
        if rec.type in skip:
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


def _totals(ui):
    from pump import history_query as q

    p = ui.pump
    h = p.history()
    if h is None:
        ui.open(Message(["DAILY TOTALS", "no history memory"], back=True))
        return
    first = p.day - _DAYS_SHOWN + 1
    rows = []
    totals = q.totals_by_day(h, first, _DAYS_SHOWN)
    for i in range(_DAYS_SHOWN - 1, -1, -1):
        total, basal, bolus = totals[i]
        y, m, d = civil(first + i)
        rows.append("%02d.%02d %s" % (d, m, u_text(total)) + (" now" if i == _DAYS_SHOWN - 1 else ""))
        rows.append(" basal " + u_text(basal))
        rows.append(" bolus " + u_text(bolus))
    ui.open(Rows("DAILY TOTALS", rows))
