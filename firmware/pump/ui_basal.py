"""The interface's basal-profile screens: the list, a profile's segments and its day's total,
switching profile, and editing segments (rate, start time, removal, a new one). pump/ui.py's
menu opens them (Ui.setup) and loads this module only then.
"""

from pump.compat import const
from pump.ui import Confirm, Entry, Menu, u_text
from pump.ui_change import change, clock_text, daily_mu, rate_text, segment_pairs
from pump.ui_history import Rows

_MAX_SEGMENTS = const(24)


def profiles(ui):
    s = ui.pump.settings
    items = []
    for name in sorted(s.profiles):
        mark = "*" if name == s.active_profile else " "
        items.append((mark + name, lambda ui, n=name: _profile(ui, n)))
    ui.open(Menu("BASAL PROFILES", items))


def _profile(ui, name):
    p = ui.pump
    items = [("View", lambda ui: _view(ui, name))]
    if name != p.settings.active_profile:
        items.append(("Use this one", lambda ui: _switch(ui, name)))
    items.append(("Edit", lambda ui: _edit(ui, name)))
    ui.open(Menu(name, items))


def _view(ui, name):
    flat = ui.pump.settings.profiles[name]
    rows = [clock_text(start) + " " + rate_text(rate) for start, rate in segment_pairs(flat)]
    rows.append("day %s" % u_text(daily_mu(flat)))
    ui.open(Rows(name, rows))


def _switch(ui, name):
    p = ui.pump
    rows = ["Basal profile", "  " + name, "  %s a day" % u_text(daily_mu(p.settings.profiles[name]))]
    ui.open(Confirm(rows, "set_profile", lambda: p.set_profile(name)))


def _edit(ui, name):
    flat = ui.pump.settings.profiles[name]
    items = []
    for i, (start, rate) in enumerate(segment_pairs(flat)):
        items.append((clock_text(start) + " " + rate_text(rate), lambda ui, i=i: _segment(ui, name, i)))
    if len(flat) // 2 < _MAX_SEGMENTS:
        items.append(("Add segment", lambda ui: _add_segment(ui, name)))
    ui.open(Menu("EDIT " + name, items))


def _segment(ui, name, i):
    items = [("Rate", lambda ui: _segment_rate(ui, name, i))]
    if i:
        items.append(("Start time", lambda ui: _segment_start(ui, name, i)))
        items.append(("Remove", lambda ui: _segment_remove(ui, name, i)))
    start = ui.pump.settings.profiles[name][2 * i]
    ui.open(Menu("%s %s" % (name, clock_text(start)), items))


def _segment_rate(ui, name, i):
    s = ui.pump.settings
    flat = s.profiles[name]

    def confirm(ui, rate):
        def edit(rec):
            rec["profiles"][name][2 * i + 1] = rate

        rows = ["Basal " + name, "from " + clock_text(flat[2 * i]), "  " + rate_text(rate)]
        change(ui, rows, edit)

    ui.open(Entry("RATE U/h", flat[2 * i + 1], 0, s.max_basal_mu_h, 10, rate_text, confirm))


def _segment_start(ui, name, i):
    flat = ui.pump.settings.profiles[name]
    lo = flat[2 * i - 2] + 30
    hi = flat[2 * i + 2] - 30 if 2 * i + 2 < len(flat) else 1410

    def confirm(ui, start):
        def edit(rec):
            rec["profiles"][name][2 * i] = start

        rows = ["Basal " + name, "segment from", "  " + clock_text(start), "  " + rate_text(flat[2 * i + 1])]
        change(ui, rows, edit)

    ui.open(Entry("START TIME", flat[2 * i], lo, hi, 30, clock_text, confirm))


def _segment_remove(ui, name, i):
    flat = ui.pump.settings.profiles[name]

    def edit(rec):
        seg = rec["profiles"][name]
        del seg[2 * i : 2 * i + 2]

    rows = ["Basal " + name, "remove segment", "  " + clock_text(flat[2 * i]), "(the one before", "runs on)"]
    change(ui, rows, edit)


def _add_segment(ui, name):
    flat = ui.pump.settings.profiles[name]
    starts = [flat[j] for j in range(0, len(flat), 2)]
    free = [m for m in range(30, 1440, 30) if m not in starts]
    if not free:
        ui.refuse("settings", "no half hour is free for a segment")
        return
    lo = free[0]

    def confirm(ui, start):
        if start in starts:
            ui.refuse("settings", "a segment already starts at " + clock_text(start))
            return
        rate = 0
        for s, r in segment_pairs(flat):
            if s <= start:
                rate = r

        def edit(rec):
            seg = rec["profiles"][name]
            pairs = segment_pairs(seg) + [(start, rate)]
            pairs.sort()
            seg[:] = [v for pair in pairs for v in pair]

        rows = ["Basal " + name, "new segment", "  from " + clock_text(start), "  " + rate_text(rate)]
        change(ui, rows, edit)

    ui.open(Entry("NEW SEGMENT AT", lo, 30, 1410, 30, clock_text, confirm))
