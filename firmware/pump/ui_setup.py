"""The interface's settings screens: limits, carb ratio, sensitivity and target by time of
day, insulin action, low-reservoir level, auto-off, set change, the date and time; and the
review of settings the pump could not read back at a start. pump/ui.py's menu opens them
(Ui.setup) and loads this module only then.
"""

from pump.calendar import civil, date_text, day_number, month_days
from pump.compat import ticks_diff
from pump.errors import Refused
from pump.ui import Confirm, Entry, Menu, hm_text, u_text
from pump.ui_change import change, clock_text, daily_mu, handled, rate_text, segment_pairs


def _amount(title, field, lo, hi, step, show=u_text):
    """A menu item that edits one whole-number setting."""

    def open_entry(ui):
        value = getattr(ui.pump.settings, field)

        def confirm(ui, v):
            def edit(rec):
                rec[field] = v

            change(ui, [title, "  " + show(v)], edit)

        ui.open(Entry(title, value, lo, hi, step, show, confirm))

    return (title[0] + title[1:].lower(), open_entry)


def _off_or_hours(minutes):
    return "off" if not minutes else hm_text(minutes)


def _auto_off(ui):
    value = ui.pump.settings.auto_off_min

    def confirm(ui, v):
        minutes = 0 if v < 300 else v

        def edit(rec):
            rec["auto_off_min"] = minutes

        change(ui, ["Auto-off after", "  " + _off_or_hours(minutes)], edit)

    # 4 h on the scale stands for off: auto-off is 5..24 h or off
    ui.open(
        Entry("AUTO-OFF", value or 240, 240, 1440, 60, lambda v: _off_or_hours(0 if v < 300 else v), confirm)
    )


def _schedule(title, field, lo, hi, step, show, short=None):
    """A menu item that edits a time-of-day schedule's values (carb ratio, sensitivity, target);
    short, when given, is the value's format in the list of segments (15 characters a line)."""

    def open_menu(ui):
        flat = getattr(ui.pump.settings, field)
        items = []
        for i, (start, value) in enumerate(segment_pairs(flat)):

            def entry(ui, i=i, start=start, value=value):
                def confirm(ui, v):
                    def edit(rec):
                        rec[field][2 * i + 1] = v

                    change(ui, [title, "from " + clock_text(start), "  " + show(v)], edit)

                ui.open(Entry(title, value, lo, hi, step, show, confirm))

            items.append((clock_text(start) + " " + (short or show)(value), entry))
        ui.open(Menu(title, items))

    return (title[0] + title[1:].lower(), open_menu)


def settings(ui):
    from pump import settings as u

    items = [
        _amount("MAX BOLUS", "max_bolus_mu", 50, u.MAX_BOLUS_CEILING_MU, 50),
        _amount("MAX BASAL", "max_basal_mu_h", 50, u.MAX_BASAL_CEILING_MU_H, 50, rate_text),
        _amount("MAX PER HOUR", "max_hourly_mu", 50, u.MAX_HOURLY_CEILING_MU, 500),
        _amount("MAX PER DAY", "max_daily_mu", 1000, u.MAX_DAILY_CEILING_MU, 1000),
        _schedule("CARB RATIO", "icr_dg_per_u", 10, 1500, 5, lambda v: "%d.%d g/U" % (v // 10, v % 10)),
        _schedule(
            "SENSITIVITY", "isf_mgdl_per_u", 5, 400, 1, lambda v: "%d mg/dL/U" % v, lambda v: "%d /U" % v
        ),
        _schedule("TARGET BG", "target_mgdl", 70, 200, 1, lambda v: "%d mg/dL" % v),
        _amount("INSULIN ACTION", "dia_min", 300, 480, 30, hm_text),
        _amount("ACTIVITY PEAK", "peak_min", 35, 120, 5, lambda v: "%d min" % v),
        _amount("LOW RESERVOIR", "low_reservoir_mu", 10000, 40000, 1000),
        ("Auto-off", _auto_off),
        _amount("SET CHANGE", "set_change_min", 1440, 10080, 720, hm_text),
        ("Time and date", time),
        ("Pair link", pair),
        ("Link doses", _remote_doses),
    ]
    ui.open(Menu("SETTINGS", items))


class _Pairing:
    """The pairing window: the code to type on the host, for 2 minutes or until paired."""

    keep = True  # stays while the person types the code, however long without a key

    def __init__(self, link, code):
        self.link = link
        self.code = code
        self.pending = link.pending_key

    def lines(self, ui):
        link = self.link
        if link.pairing_open(ui.now_ms):
            left = ticks_diff(link.pairing_until, ui.now_ms) // 1000
            return [
                "PAIR THE LINK",
                "type on the host",
                "",
                "  " + self.code[:9],
                "  " + self.code[10:],
                "",
                "%d s left" % left,
                "BACK: cancel",
            ]
        self.keep = False
        if link.store.key is not None and link.store.key == self.pending:
            return ["PAIRED", "", "the host can", "connect now", "", "OK: home"]
        return ["NOT PAIRED", "", "the code is no", "longer valid", "", "OK: home"]

    def key(self, ui, name, kind):
        if kind != "short":
            return
        if self.link.pairing_open(ui.now_ms):
            if name == "BACK":
                self.link.close_pairing()
                ui.back()
        else:
            ui.home()


def pair(ui):
    """Open the link's pairing window (pump/link.py) and show its code."""
    link = ui.get_link()
    if link is None:
        ui.refuse("link", "this pump has no link")
        return
    ui.open(_Pairing(link, link.open_pairing(ui.now_ms)))


def _remote_doses(ui):
    link = ui.get_link()
    if link is None:
        ui.refuse("link", "this pump has no link")
        return
    on = not link.store.remote_doses

    def action():
        link.store.remote_doses = on
        try:
            link.store.save()
        except OSError as e:
            link.store.remote_doses = not on
            raise Refused("link", "not stored (%s)" % e)

    rows = ["Doses by link", "(bolus, temp,", "suspend, resume)", "  " + ("ON" if on else "OFF")]
    ui.open(Confirm(rows, "remote_doses", action))


def review(ui):
    """Settings the pump could not read back: it started on defaults, suspended. The person
    looks over the hard limits it would run under and confirms them (or sets them in Settings
    first): only a person at the pump sets them, so nothing delivers before."""
    p = ui.pump
    s = p.settings
    rows = [
        "bolus " + u_text(s.max_bolus_mu),
        "basal " + rate_text(s.max_basal_mu_h),
        "hour  " + u_text(s.max_hourly_mu),
        "day   " + u_text(s.max_daily_mu),
        "%s %s" % (s.active_profile[:6], u_text(daily_mu(s.schedule()))),
    ]

    def confirm(ui):
        def edit(rec):
            pass

        change(ui, ["Use these", "settings", "(to change:", " Settings menu)"], edit)

    from pump.ui_dose import Choice

    ui.open(Choice("SETTINGS LOST", rows, confirm))


def time(ui):
    """Set the date and time: hour, minute, year, month, day, then a confirm screen."""
    p = ui.pump
    y0, m0, d0 = civil(p.day)
    minute0 = p.tod_ms // 60000

    def hour(ui, hh):
        def minute(ui, mm):
            def year(ui, y):
                def month(ui, mo):
                    def day(ui, d):
                        n = day_number(y, mo, d)
                        tod_ms = (hh * 60 + mm) * 60000
                        rows = ["Set date, time", "  " + date_text(n), "  " + clock_text(hh * 60 + mm)]

                        def action():
                            p.confirm_time(n, tod_ms)
                            if ui.set_clock is not None:
                                ui.set_clock(n, tod_ms)
                            handled(p, "clock_lost")

                        ui.open(Confirm(rows, "time", action))

                    days = month_days(y, mo)
                    ui.open(Entry("DAY", d0 if d0 <= days else days, 1, days, 1, lambda v: "%d" % v, day))

                ui.open(Entry("MONTH", m0, 1, 12, 1, lambda v: "%d" % v, month))

            ui.open(Entry("YEAR", y0, 2024, 2099, 1, lambda v: "%d" % v, year))

        ui.open(Entry("MINUTE", minute0 % 60, 0, 59, 1, lambda v: "%02d" % v, minute))

    ui.open(Entry("HOUR", minute0 // 60, 0, 23, 1, lambda v: "%02d" % v, hour))
