"""The interface's dose and delivery flows: bolus (normal, calculator, extended, dual),
cancel, temporary basal, suspend and resume, prime, new reservoir, the alarm list and the key
lock. pump/ui.py's menu opens them by name (Ui.setup) and loads this module only then.
"""

from pump.compat import const
from pump.errors import Refused
from pump.therapy import RUNNING
from pump.ui import Confirm, Entry, Menu, Message, hm_text, u_text, wrap

_SILENCE_MIN = const(30)
_ROWS = const(8)


class Choice:
    """Text with OK to go on (then(ui)) and BACK to go back."""

    def __init__(self, title, rows, then):
        self.rows = [title] + rows
        self.then = then

    def lines(self, ui):
        return self.rows[: _ROWS - 1] + ["OK:next BACK:no"]

    def key(self, ui, name, kind):
        if name == "OK" and kind == "short":
            self.then(ui)
        elif name == "BACK" and kind == "short":
            ui.back()


def bolus_menu(ui):
    items = [
        ("Normal", bolus),
        ("Calculator", calc),
        ("Extended", lambda ui: _bolus_amount(ui, "EXTENDED BOLUS", _extended_minutes)),
        ("Dual wave", lambda ui: _bolus_amount(ui, "DUAL BOLUS", _dual_now)),
    ]
    ui.open(Menu("BOLUS", items))


def prime(ui):
    def confirm(ui, mu):
        p = ui.pump
        ui.open(Confirm(["Prime", "  " + u_text(mu), "(not therapy)"], "prime", lambda: p.prime(mu)))

    ui.open(Entry("PRIME", 500, 100, 5000, 100, u_text, confirm))


def reservoir(ui):
    def confirm(ui, mu):
        p = ui.pump
        rows = ["New reservoir", "  " + u_text(mu)]
        ui.open(Confirm(rows, "new_reservoir", lambda: p.new_reservoir(mu)))

    ui.open(Entry("RESERVOIR FILL", 200000, 10000, 300000, 10000, u_text, confirm))


def alarms(ui):
    p = ui.pump
    items = []
    for alarm in p.alarms.active():  # (code, priority, text, state), the one on screen first
        rows = [alarm[2], "priority " + alarm[1], alarm[3]]
        items.append(
            (
                ("*" if alarm[3] == "raised" else " ") + alarm[2],
                lambda ui, r=rows: ui.open(Message(r, back=True)),
            )
        )
    top = p.alarms.top()
    if top is not None:
        items.append(("Acknowledge", lambda ui: ui.do("ack", p.ack, message=False)))
    if [a for a in p.alarms.active() if a[3] == "raised"]:  # what silence() acts on
        silence = lambda ui: ui.do("silence", lambda: p.silence(_SILENCE_MIN), message=False)  # noqa: E731
        items.append(("Silence 30 min", silence))
    if top is None:
        items.append(("(no alarms)", lambda ui: ui.back()))
    ui.open(Menu("ALARMS (%d)" % len(p.alarms.active()), items))


def lock(ui):
    def lock():
        ui.locked = True

    ui.open(Confirm(["Lock the keys", "(hold BACK on", "home: unlock)"], "lock", lock))


def bolus(ui):
    _bolus_amount(ui, "BOLUS", _bolus_confirm)


def _bolus_amount(ui, title, then, start_mu=0):
    s = ui.pump.settings
    inc = s.bolus_increment_mu
    ui.open(Entry(title, start_mu or inc, inc, s.max_bolus_mu, inc, u_text, then))


def _bolus_confirm(ui, mu, rows=None, carbs_g=0):
    p = ui.pump
    rows = ["Deliver bolus", "  " + u_text(mu)] + (rows or [])
    ui.open(Confirm(rows, "bolus", lambda: p.bolus(mu, carbs_g=carbs_g)))


def _extended_minutes(ui, mu):
    def confirm(ui, minutes):
        p = ui.pump
        rows = ["Extended bolus", "  " + u_text(mu), "over " + hm_text(minutes)]
        ui.open(Confirm(rows, "bolus", lambda: p.bolus(mu, 0, minutes)))

    ui.open(Entry("EXTENDED OVER", 120, 15, 480, 15, hm_text, confirm))


def _dual_now(ui, mu):
    inc = ui.pump.settings.bolus_increment_mu

    def minutes(ui, pct):
        now = mu * pct // 100
        now -= now % inc  # as the pump splits it (pump/therapy.py)

        def confirm(ui, minutes):
            p = ui.pump
            rows = [
                "Dual bolus",
                "  " + u_text(mu),
                "now  " + u_text(now),
                "then " + u_text(mu - now),
                "over " + hm_text(minutes),
            ]
            ui.open(Confirm(rows, "bolus", lambda: p.bolus(mu, pct, minutes)))

        ui.open(Entry("DUAL: REST OVER", 120, 15, 480, 15, hm_text, confirm))

    ui.open(Entry("DUAL: NOW PART", 50, 10, 90, 10, lambda v: "%d %%" % v, minutes))


def calc(ui):
    def bg(ui, carbs):
        def result(ui, bg_mgdl):
            p = ui.pump
            try:
                sug = p.calc(carbs, bg_mgdl, False)
            except Refused as e:
                p.refused("calc")
                ui.refuse("calc", str(e))
                return
            rows = [
                "Carbs %7s" % u_text(sug.carb_mu),
                "BG    %7s" % u_text(sug.correction_mu)
                if sug.correction_mu >= 0
                else "BG   -%s" % u_text(-sug.correction_mu),
                "IOB  -%s" % u_text(sug.iob_used_mu),
                "Suggest %s" % u_text(sug.suggested_mu),
            ]
            if not sug.suggested_mu:
                ui.open(Message(["NO BOLUS"] + (wrap(sug.note)[:4] if sug.note else []) + [rows[3]]))
                return
            if sug.note:
                rows += wrap(sug.note)[:2]

            def then(ui):
                calc = ["calc " + u_text(sug.suggested_mu)]
                confirm = lambda ui, mu: _bolus_confirm(ui, mu, calc, carbs)  # noqa: E731
                _bolus_amount(ui, "BOLUS (CALC)", confirm, sug.suggested_mu)

            ui.open(Choice("CALCULATOR", rows, then))

        ui.open(Entry("BG mg/dL", 0, 0, 600, 1, lambda v: "%d mg/dL" % v if v else "none", result))

    ui.open(Entry("CARBS", 0, 0, 300, 1, lambda v: "%d g" % v, bg))


def cancel_bolus(ui):
    p = ui.pump
    b = p.current_bolus
    done = p.rig.mu_for(b.delivered_steps) if b else 0
    rows = ["Cancel bolus", "  " + u_text(b.programmed_mu if b else 0), "given " + u_text(done)]
    ui.open(Confirm(rows, "cancel_bolus", p.cancel_bolus))


def temp(ui):
    ui.open(Entry("TEMP BASAL %", 100, 0, 250, 10, lambda v: "%d %%" % v, _temp_minutes))


def _temp_minutes(ui, percent):
    def confirm(ui, minutes):
        p = ui.pump
        rows = ["Temp basal", "  %d %%" % percent, "  for " + hm_text(minutes)]
        ui.open(Confirm(rows, "temp_basal", lambda: p.temp_basal(minutes, percent)))

    ui.open(Entry("TEMP DURATION", 60, 30, 1440, 30, hm_text, confirm))


def cancel_temp(ui):
    p = ui.pump
    ui.open(Confirm(["Cancel temp", "basal"], "cancel_temp_basal", p.cancel_temp_basal))


def suspend_resume(ui):
    p = ui.pump
    if p.mode == RUNNING:
        ui.open(Confirm(["Suspend", "all delivery"], "suspend", p.suspend))
    else:
        ui.open(Confirm(["Resume", "delivery"], "resume", p.resume))
