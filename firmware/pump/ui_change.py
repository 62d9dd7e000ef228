"""What the interface's settings screens share (pump/ui_basal.py, pump/ui_setup.py): a
settings change made on a copy of the pump's settings, checked whole, confirmed, stored (Ui.save)
and only then taken by the pump (Pump.confirm_settings, which refuses while delivery runs);
and the formats of rates and times of day. Loaded with those screens.
"""

from pump.errors import Refused
from pump.ui import Confirm


def rate_text(mu_h):
    return "%d.%02d U/h" % (mu_h // 1000, mu_h % 1000 // 10)


def clock_text(minute):
    return "%02d:%02d" % (minute // 60, minute % 60)


def segment_pairs(flat):
    return [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]


def daily_mu(flat):
    total = 0
    pairs = segment_pairs(flat)
    for i in range(len(pairs)):
        end = pairs[i + 1][0] if i + 1 < len(pairs) else 1440
        total += pairs[i][1] * (end - pairs[i][0]) // 60
    return total


def change(ui, rows, edit):
    """Confirm the settings that edit(record) makes of a copy of the pump's; refused with the
    rule it breaks when they do not hold together."""
    from pump.settings_store import checked
    from pump.settings_user import settings_to_record

    p = ui.pump
    rec = settings_to_record(p.settings)
    edit(rec)
    try:
        new = checked(rec, p.rig)
    except Refused as e:
        p.refused("settings")
        ui.refuse("settings", str(e))
        return

    def store():
        if ui.save is None:
            raise Refused("settings", "this pump has no settings storage")
        ui.save(rec)

    def action():
        p.confirm_settings(new, store)
        handled(p, "settings_invalid")

    ui.open(Confirm(rows, "settings", action))


def handled(p, alarm):
    """The alarm that asked for this, acknowledged: its cause has just gone, so it clears."""
    top = p.alarms.top()
    if top is not None and top[0] == alarm:
        p.ack()
