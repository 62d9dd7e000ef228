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

The flows behind the menu are in pump/ui_dose.py (doses and delivery), ui_basal.py (basal
profiles), ui_history.py and ui_setup.py (settings, date and time), each loaded when
opened. Settings changed here are stored through save(record) (the settings file,
pump/settings_store.py) before the pump takes them, and a time set here is also given to
set_clock(day, tod_ms) (the board's real-time clock).
"""

from pump.compat import const, ticks_diff
from pump.errors import Refused
from pump.home import lines as home_lines
from pump.therapy import RUNNING

_IDLE_MS = const(60000)
_SILENCE_MIN = const(30)
_FAST_AFTER = const(5)  # repeats at one step before the steps grow tenfold
_ROWS = const(8)
_DONE_MS = const(4000)  # a "done" message shows this long, then home
_DOSE_FLOWS = (
    "bolus_menu",
    "cancel_bolus",
    "temp",
    "cancel_temp",
    "suspend_resume",
    "alarms",
    "prime",
    "reservoir",
    "lock",
)


def u_text(mu):
    return "%d.%02d U" % (mu // 1000, mu % 1000 // 10)


def hm_text(minutes):
    return "%d:%02d h" % (minutes // 60, minutes % 60)


class Menu:
    def __init__(self, title, items):
        self.title = title
        self.items = items  # [(label, action(ui) or the name of a flow: Ui.setup)]
        self.pos = 0

    def lines(self, ui):
        rows = [self.title]
        top = self.pos - 5 if self.pos > 5 else 0
        for i in range(top, min(top + _ROWS - 1, len(self.items))):
            rows.append((">" if i == self.pos else " ") + self.items[i][0][:15])
        return rows

    def key(self, ui, name, kind):
        if kind == "down":
            return
        if name == "UP" and self.pos > 0:
            self.pos -= 1
        elif name == "DOWN" and self.pos < len(self.items) - 1:
            self.pos += 1
        elif name == "OK" and kind == "short":
            action = self.items[self.pos][1]
            if isinstance(action, str):
                ui.setup(action)  # a flow of pump/ui_dose.py or pump/ui_setup.py, by name
            else:
                action(ui)
        elif name == "BACK" and kind == "short":
            ui.back()


class Entry:
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


class Confirm:
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


class Message:
    """Text, and any key takes it away: home, or back a screen (back=True)."""

    def __init__(self, rows, brief=False, back=False):
        self.rows = rows
        self.brief = brief  # goes home by itself after a few seconds
        self.back = back

    def lines(self, ui):
        return self.rows + ["", "OK: back" if self.back else "OK: home"]

    def key(self, ui, name, kind):
        if kind == "short":
            if self.back:
                ui.back()
            else:
                ui.home()


def wrap(text):
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
    def __init__(self, pump, save=None, set_clock=None, link=None):
        self.pump = pump
        self.link = link  # pump/link.py's Link (or a function that loads it), for pairing and remote doses
        self.now_ms = 0  # the time of the last key or tick
        self.save = save  # record -> None: stores a settings record, raising Refused if it cannot
        self.set_clock = set_clock  # (day, tod_ms) -> None: the board's clock follows a time set here
        self.stack = []  # screens above home, the top one showing
        self._last_key_ms = None
        self.locked = False  # key lock: only alarms can be handled, and BACK held unlocks
        self.last_confirmed = None  # (command, the rows its confirm screen showed)
        self._acting = False  # a confirmed command is being carried out by the pump

    # ----------------------------------------------------------------- input

    def key(self, name, kind, now_ms):
        self.pump.key_pressed()
        self._last_key_ms = now_ms
        self.now_ms = now_ms
        try:
            if self.stack:
                self.stack[-1].key(self, name, kind)
            else:
                self._home_key(name, kind)
        except MemoryError:
            if self._acting:
                raise  # a command was under way in the pump: the shell's last chance stops safely
            # the heap could not take a screen's code or text just now: say so, do nothing else
            self.open(Message(["BUSY", "", "try again", "in a moment"], back=True))

    def tick(self, now_ms):
        """After a minute without a key, back to the home screen (nothing is done); a "done"
        message goes after a few seconds."""
        self.now_ms = now_ms
        if not self.stack or self._last_key_ms is None:
            return
        idle = ticks_diff(now_ms, self._last_key_ms)
        top = self.stack[-1]
        if getattr(top, "keep", False):  # a screen that waits on something else (pairing)
            return
        if idle >= _IDLE_MS or (idle >= _DONE_MS and isinstance(top, Message) and top.brief):
            self.home()

    def _home_key(self, name, kind):
        p = self.pump
        top = p.alarms.top()
        unacked = top is not None and top[3] != "acked"  # an alarm acknowledged but not gone stays listed
        code = top[0] if top is not None else ""
        if name == "BACK" and kind == "long":
            if unacked:
                self.do("silence", lambda: p.silence(_SILENCE_MIN), message=False)
            elif self.locked:
                self.locked = False
        elif name == "OK" and kind == "short":
            if unacked and code == "clock_lost":
                self.setup("time")  # the time is confirmed (or set), which clears its cause
            elif unacked and code == "settings_invalid":
                self.setup("review")  # the settings are looked over and confirmed
            elif unacked:
                self.do("ack", p.ack, message=False)
            elif self.locked:
                self.open(Message(["KEYS LOCKED", "", "hold BACK", "to unlock"]))
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
        shown = self.stack[-1].rows if self.stack and isinstance(self.stack[-1], Confirm) else []
        self._acting = True  # stays set if the pump raises anything but a refusal (see key)
        try:
            action()
        except Refused as e:
            self._acting = False
            self.pump.refused(command)
            self.home()
            self.open(Message(["REFUSED"] + wrap(str(e))))
            return
        self._acting = False
        self.last_confirmed = (command, shown)
        self.home()
        if message:
            self.open(Message(["Done:"] + shown, brief=True))

    def get_link(self):
        link = self.link
        return link() if callable(link) else link

    def show(self, rows, now_ms):
        """A message from elsewhere (a dose over the link): over whatever showed, until a key
        or a minute."""
        self.home()
        self.open(Message(rows))
        self._last_key_ms = now_ms
        self.now_ms = now_ms

    def refuse(self, command, reason):
        """Show why something cannot be done (nothing was)."""
        self.open(Message(["REFUSED"] + wrap(reason), back=True))

    def setup(self, what, *args):
        """Open a flow of pump/ui_dose.py, ui_basal.py, ui_history.py or ui_setup.py, by name;
        its module is loaded then (pump/boot.py's FLOW_MODULES: what a shell unloads once the
        interface is home)."""
        if what in _DOSE_FLOWS:
            from pump import ui_dose as flows
        elif what == "profiles":
            from pump import ui_basal as flows
        elif what == "history":
            from pump import ui_history as flows
        else:
            from pump import ui_setup as flows
        getattr(flows, what)(self, *args)

    # ----------------------------------------------------------------- flows

    def _main_menu(self):
        p = self.pump
        items = []
        if p.current_bolus is not None:
            items.append(("Cancel bolus", "cancel_bolus"))
        else:
            items.append(("Bolus", "bolus_menu"))
        if p.temp is not None:
            items.append(("Cancel temp", "cancel_temp"))
        else:
            items.append(("Temp basal", "temp"))
        items.append(("Resume" if p.mode != RUNNING else "Suspend", "suspend_resume"))
        items.append(("Basal profiles", "profiles"))
        items.append(("History", "history"))
        items.append(("Alarms", "alarms"))
        items.append(("Prime", "prime"))
        items.append(("New reservoir", "reservoir"))
        items.append(("Settings", "settings"))
        items.append(("Lock keys", "lock"))
        return Menu("MENU", items)
