"""Run a checked scenario on the virtual rig in simulated time and stream its JSON trace.

Runs on CPython and inside the MicroPython unix port with the same bytes out. Memory stays
flat however long the run: minute rows go straight to the trace file, and doses, refusals
and events go to side files that are appended to the trace at the end.

Trace layout (integers and strings only): {"minutes": [[minute, basal_mu, bolus_mu,
prime_mu, steps], ...], "doses": [...], "rejected": [...], "events": [...], "alarms": [...],
"screens": [{"t_ms", "name", "rows"}, ...], "final": {...}, "history": [...]}. Run writes
all but the history; tools/simhist.py then reads the history back from the flash the pump
wrote, as a download would, and closes the trace (the pump's process never holds the code
that analyses its history).
"""

import json
import os

from actions import apply, is_fault

from jsonout import write_json
from pump.boot import FLOW_MODULES, start
from pump.compat import const, unload
from pump.engine import BASAL, BOLUS, PRIME
from pump.errors import Refused
from pump.settings import Rig
from rig import DirFlash, Hardware, VirtualClock, run_until

# Faults by their places in tools/scenario.py's FAULTS, as the plan gives them (the actions'
# are tools/actions.py's; a test checks they agree): numbers, so this process interns no
# names for them.
_OCCLUSION = const(0)
_CLEAR_OCCLUSION = const(1)
_MOTOR_FAULT = const(2)
_CLEAR_MOTOR_FAULT = const(3)
_STALL = const(4)
_UNSTALL = const(5)
_UNSEAT = const(6)
_SEAT = const(7)
_BATTERY = const(8)
_FLASH_FULL = const(9)
_FLASH_OK = const(10)
_CORRUPT_SETTINGS = const(11)
_BUZZER_FAULT = const(12)
_BUZZER_OK = const(13)
_CLOCK_KEPT_MS = const(300000)  # off longer than this, the pump does not trust its clock
_SECTIONS = ("doses", "rejected", "events", "alarms", "screens")


class _Section:
    """A JSON array written record by record to a side file."""

    def __init__(self, path):
        self.path = path
        self.count = 0
        self.file = open(path, "w")

    def add(self, record):
        if self.count:
            self.file.write(",")
        write_json(self.file, record)
        self.count += 1

    def copy_into(self, out, buf):
        """Append the section to the binary file `out` through buf, allocating nothing."""
        self.file.close()
        view = memoryview(buf)
        with open(self.path, "rb") as f:
            while True:
                n = f.readinto(buf)
                if not n:
                    break
                out.write(view[:n])
        os.remove(self.path)


def read_plan(lines):
    """(header, event iterator) from the JSON lines of Scenario.write_plan."""
    lines = iter(lines)
    header = json.loads(next(lines))

    def events():
        for line in lines:
            if line.strip():
                yield json.loads(line)

    return header, events()


class Run:
    """One run of a plan (see read_plan), writing the trace to trace_path."""

    def __init__(self, plan, events, trace_path, flash_dir, probe=None):
        self.probe = probe  # called with each minute as its row is written
        self.events = events
        self.end_ms = plan["end_ms"]
        self.trace_path = trace_path
        self.rig = rig = Rig(*plan["rig"])
        self.start_day, self.start_tod_ms = plan["day"], plan["tod_ms"]
        self.clock = VirtualClock(plan["ticks_start_ms"])
        self.hw = Hardware(self.clock, rig, plan["rig"][3])
        self.motor = self.hw.motor
        self.flash = DirFlash(flash_dir, fresh=False)  # holds the settings file written with the plan
        self.settings_record = plan["settings"]
        self.sections = {}
        for name in _SECTIONS:
            self.sections[name] = _Section(trace_path + "." + name)
        self.off_totals = [0, 0, 0]  # basal, bolus, prime delivered by pumps before a power cut
        self.off_since_ms = None  # when the power went, while it is off
        self.ui = None  # the buttons' interface (pump/ui.py), from the first press or snapshot
        self.pump = self._boot(plan["reservoir_mu"])

    def _boot(self, fresh_reservoir_mu, rtc=None):
        """Start the pump from the flash, as a board does (pump/boot.py). rtc: (day, ms of
        day) the board's clock reads at power-on, truth or not; the pump then judges it as a
        board does (check_clock). Without it the clock reads the scenario's time, and the
        simulator, knowing how long the power was off, says when the time is lost."""
        if rtc is None:
            day, tod_ms = divmod(
                self.start_day * 86400000 + self.start_tod_ms + self.clock.elapsed_ms, 86400000
            )
        else:
            day, tod_ms = rtc
        pump = start(
            self.flash,
            self.rig,
            self.hw,
            self._emit,
            self.clock.ticks_ms(),
            day,
            tod_ms,
            fresh_reservoir_mu,
            check_clock=rtc is not None,
        )
        off_ms = None if self.off_since_ms is None else self.clock.elapsed_ms - self.off_since_ms
        if rtc is None and off_ms is not None and off_ms > _CLOCK_KEPT_MS:
            pump.clock_lost()
        self.off_since_ms = None
        return pump

    def _damage(self, target, kind, seed):
        from flashdamage import damage

        what = damage(self.flash, target, kind, seed)
        self.sections["events"].add({"t_ms": self.clock.elapsed_ms, "code": "flash_damage", "what": what})

    def _settings_file(self, values):
        from flashdamage import settings_file

        settings_file(self.flash, self.settings_record, values)
        self.sections["events"].add({"t_ms": self.clock.elapsed_ms, "code": "settings_file"})

    def _power_cut(self):
        p = self.pump
        for kind in (BASAL, BOLUS, PRIME):
            self.off_totals[kind] += p.delivered_mu(kind)
        self.motor.stop()
        self.hw.buzzer.stop()
        self.pump = None
        self.ui = None
        self.off_since_ms = self.clock.elapsed_ms

    def _emit(self, code, fields):
        t_ms = self.clock.elapsed_ms
        if code == "dose":
            fields["t_ms"] = t_ms - fields.pop("duration_ms")
            self.sections["doses"].add(fields)
        elif code == "alarm":
            fields["t_ms"] = t_ms
            self.sections["alarms"].add(fields)
        elif code != "operational" and code != "bolus_progress":  # the history's, not the trace's
            fields["t_ms"] = t_ms
            fields["code"] = code
            self.sections["events"].add(fields)

    def _apply(self, action, fault, args):
        apply(self, action, fault, args)

    def _interface(self):
        if self.ui is None:
            from pump.ui import Ui

            self.ui = Ui(self.pump, self._save_settings)
        self.ui.tick(self.clock.ticks_ms())  # a minute without a key has taken it home
        if not self.ui.stack:  # home: the menus' code goes until a menu needs it, as on a board
            for name in FLOW_MODULES:
                unload(name)
        return self.ui

    def _press(self, button, long, times):
        """Presses of a button, as the buttons driver reports them (hal/buttons.py): each
        begins ("down") and ends short, or is held long. A press takes no simulated time."""
        ui = self._interface()
        now = self.clock.ticks_ms()
        for _ in range(times):
            ui.key(button, "down", now)
            ui.key(button, "long" if long else "short", now)

    def _snapshot(self, name):
        """What the screen shows now, as its 8 lines of text (a powered-off pump shows none)."""
        rows = self._interface().lines(self.hw.battery.mv()) if self.pump else [""] * 8
        self.sections["screens"].add({"t_ms": self.clock.elapsed_ms, "name": name, "rows": rows})

    def _save_settings(self, record):
        from pump import settings_store

        try:
            settings_store.save(self.flash, record)
            self.settings_record = record
        except settings_store.SettingsError as e:
            raise Refused("settings", str(e))
        finally:
            settings_store = None
            unload("pump.settings_store")  # loaded for the save alone, as on a board

    def _fault(self, kind, mv):
        """Injected faults act on the virtual rig, never on the pump directly."""
        hw = self.hw
        if kind == _OCCLUSION:
            hw.line.block()
        elif kind == _CLEAR_OCCLUSION:
            hw.line.clear()
        elif kind == _MOTOR_FAULT or kind == _CLEAR_MOTOR_FAULT:
            hw.motor.set_fault(kind == _MOTOR_FAULT)
        elif kind == _STALL:
            hw.motor.stall()
        elif kind == _UNSTALL:
            hw.motor.unstall()
        elif kind == _UNSEAT or kind == _SEAT:
            hw.seat.is_seated = kind == _SEAT
        elif kind == _BATTERY:
            hw.battery.mv_now = mv
        elif kind == _FLASH_FULL or kind == _FLASH_OK:
            self.flash.full = kind == _FLASH_FULL
        elif kind == _CORRUPT_SETTINGS:
            self.flash.corrupt("settings.json", -3)
        elif kind == _BUZZER_FAULT or kind == _BUZZER_OK:
            hw.buzzer.broken = kind == _BUZZER_FAULT

    def _row(self, minute):
        p = self.pump
        row = [minute] + self.off_totals + [self.motor.steps_done()]
        if p:
            for kind in (BASAL, BOLUS, PRIME):
                row[1 + kind] += p.delivered_mu(kind)
        return row

    def run(self):
        with open(self.trace_path, "w") as out:
            out.write('{"minutes":[')
            self._simulate(out)
        buf = bytearray(256)
        with open(self.trace_path, "ab") as out:
            for name in _SECTIONS:
                out.write(b'],"' + name.encode() + b'":[')
                self.sections[name].copy_into(out, buf)
            out.write(b'],"final":')
            final = _Section(self.trace_path + ".final")
            write_json(final.file, self.final())
            final.copy_into(out, buf)

    def _simulate(self, out):
        def row(minute):
            if minute > 1:
                out.write(",")
            write_json(out, self._row(minute))
            if self.probe:
                self.probe(minute)

        for at_ms, action, fault, do, args in self.events:
            self._run_until(at_ms, row)
            try:
                self._apply(action, fault, args)
            except Refused as e:
                self.sections["rejected"].add({"t_ms": at_ms, "do": do, "reason": str(e)})
                if self.pump and not is_fault(action):
                    self.pump.refused(do, args.get("units") or args.get("rate_u_h") or 0)
        self._run_until(self.end_ms, row)

    def _run_until(self, end_ms, row):
        if self.pump:
            run_until(self.pump, self.clock, end_ms, row)
            return
        while self.clock.elapsed_ms < end_ms:  # the pump is off: time passes, nothing moves
            t = self.clock.elapsed_ms
            target = min((t // 60000 + 1) * 60000, end_ms)
            self.clock.advance(target - t)
            if target % 60000 == 0:
                row(target // 60000)

    def final(self):
        p = self.pump
        row = self._row(0)
        return {
            "delivered_mu": row[1] + row[2],
            "steps": self.motor.steps_done(),
            "reservoir_mu": p.reservoir_mu() if p else -1,
            "iob_mu": p.iob_mu() if p else -1,
            "state": p.mode if p else "off",
        }
