"""The on-pump user interface: screens and button flows, as text (8 lines of 16 characters).

    ui = Ui(pump)
    ui.key(name, kind, now_ms)   # a button event: name UP/DOWN/OK/BACK; kind "down" (a press
                                 # begins), "short" (released), "long" (held), "repeat"
    ui.tick(now_ms)              # back home after a minute without a key
    rows = ui.lines(battery_mv)  # what the screen shows; pump/home.draw puts it on a canvas

Home: OK acknowledges the alarm on screen, or opens the menu when there is none to
acknowledge; BACK held silences the alarm for 30 minutes. With the keys locked (from the
menu) only alarms can be handled, and BACK held unlocks. In the menu UP and DOWN move, OK
chooses, BACK goes back. Values are entered with UP and DOWN; held, they repeat, ten steps
at a time after the fifth repeat.

Every dose and therapy change ends on a confirm screen showing exactly what will be done,
and what is done is exactly what it showed. Confirming takes a fresh press of OK on that
screen: OK must go down while the screen is showing and come up again before the long-press
time. A press already down when the screen appeared (held, stuck, or a bounce of the press
that opened the screen), or one held long, confirms nothing. A refused command shows the
pump's reason and is recorded in the history.
"""

from pump.compat import const, ticks_diff
from pump.errors import Refused
from pump.home import lines as home_lines
from pump.therapy import RUNNING

_IDLE_MS = const(60000)
_SILENCE_MIN = const(30)
_FAST_AFTER = const(5)  # repeats at one step before the steps grow tenfold
_ROWS = const(8)


def _u(mu):
    return "%d.%02d U" % (mu // 1000, mu % 1000 // 10)


class _Menu:
    def __init__(self, title, items):
        self.title = title
        self.items = items  # [(label, action(ui))]
        self.pos = 0

    def lines(self, ui):
        rows = [self.title]
        top = self.pos - 5 if self.pos > 5 else 0
        for i in range(top, min(top + _ROWS - 1, len(self.items))):
            rows.append((">" if i == self.pos else " ") + self.items[i][0])
        return rows

    def key(self, ui, name, kind):
        if kind == "down":
            return
        if name == "UP" and self.pos > 0:
            self.pos -= 1
        elif name == "DOWN" and self.pos < len(self.items) - 1:
            self.pos += 1
        elif name == "OK" and kind == "short":
            self.items[self.pos][1](ui)
        elif name == "BACK" and kind == "short":
            ui.back()


class _Entry:
    """A number chosen with UP and DOWN, from lo to hi in steps of step."""

    def __init__(self, title, value, lo, hi, step, show, then):
        self.title = title
        self.value = value
        self.lo = lo
        self.hi = hi
        self.step = step
        self.show = show  # value -> text
        self.then = then  # (ui, value) -> None
        self._repeats = 0

    def lines(self, ui):
        return [
            self.title,
            "",
            "   " + self.show(self.value),
            "",
            "UP/DOWN: change",
            "OK: next",
            "BACK: back",
        ]

    def key(self, ui, name, kind):
        if kind == "down":
            self._repeats = 0
            return
        if name == "UP" or name == "DOWN":
            if kind == "repeat":
                self._repeats += 1
            if kind == "short" or kind == "long" or kind == "repeat":
                n = self.step * (10 if self._repeats > _FAST_AFTER else 1)
                v = self.value + (n if name == "UP" else -n)
                self.value = self.lo if v < self.lo else (self.hi if v > self.hi else v)
        elif name == "OK" and kind == "short":
            self.then(ui, self.value)
        elif name == "BACK" and kind == "short":
            ui.back()


class _Confirm:
    """The last screen of every dose and change: what will be done, and a fresh OK to do it."""

    def __init__(self, rows, command, action):
        self.rows = rows
        self.command = command  # the command's name, for the history if it is refused
        self.action = action  # () -> None, raising Refused
        self.armed = False  # OK went down while this screen showed

    def lines(self, ui):
        return self.rows + ["", "OK: confirm", "BACK: cancel"]

    def key(self, ui, name, kind):
        if name == "BACK" and kind == "short":
            ui.back()
        elif name != "OK":
            return
        elif kind == "down":
            self.armed = True
        elif kind == "short" and self.armed:
            ui.do(self.command, self.action)
        else:
            self.armed = False  # held long: let go and press again


class _Message:
    def __init__(self, rows):
        self.rows = rows

    def lines(self, ui):
        return self.rows + ["", "OK: home"]

    def key(self, ui, name, kind):
        if kind == "short":
            ui.home()


def _wrap(text):
    """Text over lines of at most 16 characters, broken at spaces."""
    rows = []
    line = ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > 16:
            rows.append(line)
            line = word
        else:
            line = line + " " + word if line else word
    rows.append(line)
    return [r[:16] for r in rows]


class Ui:
    def __init__(self, pump):
        self.pump = pump
        self.stack = []  # screens above home, the top one showing
        self._last_key_ms = None
        self.locked = False  # key lock: only alarms can be handled, and BACK held unlocks
        self.last_confirmed = None  # (command, the rows its confirm screen showed)

    # ----------------------------------------------------------------- input

    def key(self, name, kind, now_ms):
        self.pump.key_pressed()
        self._last_key_ms = now_ms
        if self.stack:
            self.stack[-1].key(self, name, kind)
        else:
            self._home_key(name, kind)

    def tick(self, now_ms):
        """After a minute without a key, back to the home screen (nothing is done)."""
        if self.stack and self._last_key_ms is not None and ticks_diff(now_ms, self._last_key_ms) >= _IDLE_MS:
            self.home()

    def _home_key(self, name, kind):
        p = self.pump
        top = p.alarms.top()
        unacked = top is not None and top[3] != "acked"  # an alarm acknowledged but not gone stays listed
        if name == "BACK" and kind == "long":
            if unacked:
                self.do("silence", lambda: p.silence(_SILENCE_MIN), message=False)
            elif self.locked:
                self.locked = False
        elif name == "OK" and kind == "short":
            if unacked:
                self.do("ack", p.ack, message=False)
            elif self.locked:
                self.open(_Message(["KEYS LOCKED", "", "hold BACK", "to unlock"]))
            else:
                self.open(self._main_menu())

    # ----------------------------------------------------------------- screens

    def lines(self, battery_mv):
        if not self.stack:
            return home_lines(self.pump, battery_mv)
        rows = self.stack[-1].lines(self)
        return (rows + [""] * _ROWS)[:_ROWS]

    def open(self, screen):
        self.stack.append(screen)

    def back(self):
        if self.stack:
            self.stack.pop()

    def home(self):
        self.stack = []

    def do(self, command, action, message=True):
        """Carry out a confirmed action; a refusal is shown and recorded, changing nothing."""
        shown = self.stack[-1].rows if self.stack and isinstance(self.stack[-1], _Confirm) else []
        try:
            action()
        except Refused as e:
            self.pump.refused(command)
            self.home()
            self.open(_Message(["REFUSED"] + _wrap(str(e))))
            return
        self.last_confirmed = (command, shown)
        self.home()
        if message:
            self.open(_Message(["Done:"] + shown))

    # ----------------------------------------------------------------- flows

    def _main_menu(self):
        p = self.pump
        items = []
        if p.current_bolus is not None:
            items.append(("Cancel bolus", self._cancel_bolus))
        else:
            items.append(("Bolus", self._bolus))
        if p.temp is not None:
            items.append(("Cancel temp", self._cancel_temp))
        else:
            items.append(("Temp basal", self._temp))
        items.append(("Resume" if p.mode != RUNNING else "Suspend", self._suspend_resume))
        items.append(("Prime", self._prime))
        items.append(("New reservoir", self._reservoir))
        items.append(("Alarms", self._alarms))
        items.append(("Lock keys", self._lock))
        return _Menu("MENU", items)

    def _prime(self, ui):
        def confirm(ui, mu):
            p = self.pump
            self.open(_Confirm(["Prime", "  " + _u(mu), "(not therapy)"], "prime", lambda: p.prime(mu)))

        self.open(_Entry("PRIME", 500, 100, 5000, 100, _u, confirm))

    def _reservoir(self, ui):
        def confirm(ui, mu):
            p = self.pump
            rows = ["New reservoir", "  " + _u(mu)]
            self.open(_Confirm(rows, "new_reservoir", lambda: p.new_reservoir(mu)))

        self.open(_Entry("RESERVOIR FILL", 200000, 10000, 300000, 10000, _u, confirm))

    def _alarms(self, ui):
        active = self.pump.alarms.active()
        rows = ["ALARMS (%d)" % len(active)]
        for alarm in active[:5]:  # (code, priority, text, state)
            rows.append(("*" if alarm[3] == "raised" else " ") + alarm[2])
        self.open(_Message(rows if active else rows + ["none"]))

    def _lock(self, ui):
        def lock():
            self.locked = True

        self.open(_Confirm(["Lock the keys", "(hold BACK on", "home: unlock)"], "lock", lock))

    def _bolus(self, ui):
        s = self.pump.settings
        inc = s.bolus_increment_mu
        self.open(_Entry("BOLUS", inc, inc, s.max_bolus_mu, inc, _u, self._bolus_confirm))

    def _bolus_confirm(self, ui, mu):
        p = self.pump
        self.open(_Confirm(["Deliver bolus", "  " + _u(mu)], "bolus", lambda: p.bolus(mu)))

    def _cancel_bolus(self, ui):
        p = self.pump
        b = p.current_bolus
        done = p.rig.mu_for(b.delivered_steps) if b else 0
        rows = ["Cancel bolus", "  " + _u(b.programmed_mu if b else 0), "given " + _u(done)]
        self.open(_Confirm(rows, "cancel_bolus", p.cancel_bolus))

    def _temp(self, ui):
        self.open(_Entry("TEMP BASAL %", 100, 0, 250, 10, lambda v: "%d %%" % v, self._temp_minutes))

    def _temp_minutes(self, ui, percent):
        def confirm(ui, minutes):
            p = self.pump
            rows = ["Temp basal", "  %d %%" % percent, "  for %d:%02d h" % (minutes // 60, minutes % 60)]
            self.open(_Confirm(rows, "temp_basal", lambda: p.temp_basal(minutes, percent)))

        self.open(
            _Entry("TEMP DURATION", 60, 30, 1440, 30, lambda v: "%d:%02d h" % (v // 60, v % 60), confirm)
        )

    def _cancel_temp(self, ui):
        p = self.pump
        self.open(_Confirm(["Cancel temp", "basal"], "cancel_temp_basal", p.cancel_temp_basal))

    def _suspend_resume(self, ui):
        p = self.pump
        if p.mode == RUNNING:
            self.open(_Confirm(["Suspend", "all delivery"], "suspend", p.suspend))
        else:
            self.open(_Confirm(["Resume", "delivery"], "resume", p.resume))
