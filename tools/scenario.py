"""Scenario files: load them and check every key before anything runs.

Runs on CPython and inside the MicroPython unix port. A scenario that does not fit the
format is refused with a message naming the key; range checks of therapy values are the
pump's own and happen when the event runs (see tools/simrun.py). docs/scenarios.md
describes the format.
"""

import json

import sim as board
from jsonout import write_json
from pump.calendar import day_number
from pump.errors import Refused
from pump.parse import parse_milli
from pump.settings_user import rig_from_user, settings_from_user, settings_to_record

TOP_KEYS = ("start", "ticks_start_ms", "hours", "reservoir_u", "rig", "settings", "events")

# do -> (required keys, optional keys); a plan names an action by its place in this table
EVENTS = {
    "bolus": (("units",), ("extended_min", "now_pct")),
    "cancel_bolus": ((), ()),
    "temp_basal": (("minutes",), ("percent", "rate_u_h")),
    "cancel_temp_basal": ((), ()),
    "suspend": ((), ("minutes",)),
    "resume": ((), ()),
    "set_profile": (("name",), ()),
    "calc": (("carbs_g", "bg_mgdl", "deliver"), ()),
    "prime": (("units",), ()),
    "new_reservoir": (("units",), ()),
    "fault": (("kind",), ("mv",)),
    "ack": ((), ()),
    "silence": ((), ("minutes",)),
    "power_cut": ((), ()),
    "power_on": ((), ("rtc",)),
    "settings": (("settings",), ()),
    "confirm_time": ((), ()),
    "press": (("button",), ("long", "times")),
    "snapshot": (("name",), ()),
    "set_time": (("to",), ("source",)),
    "flash_damage": (("target", "kind", "seed"), ()),
    "settings_file": (("values",), ()),
}
BUTTONS = ("UP", "DOWN", "OK", "BACK")
_NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-_"
FAULTS = (
    "occlusion",
    "clear_occlusion",
    "motor_fault",
    "clear_motor_fault",
    "stall",
    "unstall",
    "unseat",
    "seat",
    "battery",
    "flash_full",
    "flash_ok",
    "corrupt_settings",
    "buzzer_fault",
    "buzzer_ok",
)
# a tuple, not the dict's order: MicroPython's dicts do not keep insertion order
ACTIONS = (
    "bolus",
    "cancel_bolus",
    "temp_basal",
    "cancel_temp_basal",
    "suspend",
    "resume",
    "set_profile",
    "calc",
    "prime",
    "new_reservoir",
    "fault",
    "ack",
    "silence",
    "power_cut",
    "power_on",
    "settings",
    "confirm_time",
    "press",
    "snapshot",
    "set_time",
    "flash_damage",
    "settings_file",
)
DAMAGE_TARGETS = ("history", "settings")
DAMAGE_KINDS = ("erase_segment", "flip", "swap_records", "truncate", "read_error")
TIME_SOURCES = ("buttons", "link")
_INT_KEYS = ("extended_min", "now_pct", "minutes", "percent", "carbs_g", "bg_mgdl", "mv", "times", "seed")
_AMOUNT_KEYS = ("units", "rate_u_h")


class ScenarioError(Exception):
    pass


def parse_start(text):
    """'YYYY-MM-DDTHH:MM' -> (days since 2000-01-01, ms of day)."""
    if not isinstance(text, str) or len(text) != 16 or text[4] + text[7] + text[10] + text[13] != "--T:":
        raise ScenarioError("start: expected local time as YYYY-MM-DDTHH:MM, got %r" % (text,))
    parts = (text[:4], text[5:7], text[8:10], text[11:13], text[14:16])
    for p in parts:
        if not p.isdigit():
            raise ScenarioError("start: expected local time as YYYY-MM-DDTHH:MM, got %r" % text)
    y, mo, d, hh, mm = [int(p) for p in parts]
    mdays = (
        31,
        29 if (y % 4 == 0 and y % 100 != 0) or y % 400 == 0 else 28,
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    )
    if not (2000 <= y <= 2099 and 1 <= mo <= 12 and 1 <= d <= mdays[mo - 1] and hh < 24 and mm < 60):
        raise ScenarioError("start: no such date and time: " + text)
    return day_number(y, mo, d), (hh * 60 + mm) * 60000


def _number(value, where):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScenarioError("%s: expected a number, got %r" % (where, value))
    return value


def _whole(value, where):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError("%s: expected a whole number, got %r" % (where, value))
    return value


def _milli(value, where):
    try:
        return parse_milli(_number(value, where), where)
    except Refused as e:
        raise ScenarioError(where + ": " + e.reason)


def _choices(do, key):
    """(what it is, the values it may take) of a key that names one of a list."""
    if key == "button":
        return "button", BUTTONS
    if key == "kind":
        return ("damage", DAMAGE_KINDS) if do == "flash_damage" else ("fault", FAULTS)
    if key == "target":
        return "target", DAMAGE_TARGETS
    return "source", TIME_SOURCES


def check_events(events, end_ms, rig):
    """Check the event list and turn it, in place, into [at_ms, do, args] entries.

    Each entry replaces its source object as it is checked, so a long scenario never holds
    two copies of its events (that matters in a 64 KB MicroPython heap).
    """
    if not isinstance(events, list):
        raise ScenarioError("events: expected a list")
    last = 0
    for i, ev in enumerate(events):
        where = "events[%d]" % i
        if not isinstance(ev, dict):
            raise ScenarioError(where + ": expected an object")
        do = ev.get("do")
        if do not in EVENTS:
            raise ScenarioError(
                "%s.do: unknown action %r (one of %s)" % (where, do, ", ".join(sorted(EVENTS)))
            )
        required, optional = EVENTS[do]
        for key in ev:
            if key not in ("at_min", "do") and key not in required and key not in optional:
                raise ScenarioError("%s.%s: unknown key for %s" % (where, key, do))
        for key in ("at_min",) + required:
            if key not in ev:
                raise ScenarioError("%s.%s: missing" % (where, key))
        at_ms = _milli(ev["at_min"], where + ".at_min") * 60
        if at_ms < last:
            raise ScenarioError(where + ".at_min: events must be in time order")
        if at_ms > end_ms:
            raise ScenarioError(where + ".at_min: after the end of the scenario")
        last = at_ms
        args = {}
        for key in ev:
            if key in ("at_min", "do"):
                continue
            value = ev[key]
            if key in _INT_KEYS:
                args[key] = _whole(value, where + "." + key)
            elif key in _AMOUNT_KEYS:
                args[key] = _milli(value, where + "." + key)
            elif key == "deliver" or key == "long":
                if not isinstance(value, bool):
                    raise ScenarioError("%s.%s: expected true or false" % (where, key))
                args[key] = value
            elif key == "name":
                if not isinstance(value, str):
                    raise ScenarioError(where + ".name: expected a profile name")
                if do == "snapshot" and not (0 < len(value) <= 40 and all(c in _NAME_CHARS for c in value)):
                    raise ScenarioError(where + ".name: 1 to 40 of a-z, 0-9, - and _ (it names a file)")
                args[key] = value
            elif key in ("button", "kind", "target", "source"):
                what, options = _choices(do, key)
                if value not in options:
                    raise ScenarioError(
                        "%s.%s: unknown %s %r (one of %s)" % (where, key, what, value, ", ".join(options))
                    )
                args[key] = value
            elif key == "settings":
                try:
                    args[key] = settings_to_record(settings_from_user(value, rig))
                except Refused as e:
                    raise ScenarioError("%s.settings: %s" % (where, e))
            elif key in ("to", "rtc"):
                try:
                    args[key] = list(parse_start(value))
                except ScenarioError as e:
                    raise ScenarioError("%s.%s%s" % (where, key, str(e)[5:]))
            elif key == "values":
                if not isinstance(value, dict) or not value:
                    raise ScenarioError(where + ".values: expected an object of stored settings fields")
                # raw on purpose, what another build might have stored: carried as JSON text,
                # since a plan holds integers and strings only
                args[key] = json.dumps(value)
        if do == "fault" and (args["kind"] == "battery") != ("mv" in args):
            raise ScenarioError(where + ": mv goes with, and only with, a battery fault")
        if "mv" in args and not 2500 <= args["mv"] <= 5000:
            raise ScenarioError(where + ".mv: %d is outside 2500..5000" % args["mv"])
        if not 1 <= args.get("times", 1) <= 100:
            raise ScenarioError(where + ".times: %d is outside 1..100" % args["times"])
        if do == "flash_damage" and args["target"] == "settings" and args["kind"] == "swap_records":
            raise ScenarioError(where + ".kind: swap_records damages the history, not the settings")
        if not 0 <= args.get("seed", 0) < 1 << 30:
            raise ScenarioError(where + ".seed: must be 0..2**30-1")
        if do == "temp_basal" and ("percent" in args) == ("rate_u_h" in args):
            raise ScenarioError(where + ": temp_basal takes either percent or rate_u_h")
        events[i] = [at_ms, do, args]
    return events


class Scenario:
    """A checked scenario, ready to be written as a run plan.

    It takes over the document it is given: the event objects are converted in place.
    """

    def __init__(self, doc):
        if not isinstance(doc, dict):
            raise ScenarioError("scenario: expected a JSON object")
        for key in doc:
            if key not in TOP_KEYS:
                raise ScenarioError("%s: unknown key" % key)
        self.day, self.tod_ms = parse_start(doc.get("start", "2026-01-01T00:00"))
        self.ticks_start_ms = _whole(doc.get("ticks_start_ms", 0), "ticks_start_ms")
        if not 0 <= self.ticks_start_ms < 1 << 30:
            raise ScenarioError("ticks_start_ms: must be 0..2**30-1")
        if "hours" not in doc:
            raise ScenarioError("hours: missing")
        hours_milli = _milli(doc["hours"], "hours")
        if not 0 < hours_milli <= 90 * 24 * 1000:
            raise ScenarioError("hours: must be more than 0 and at most 2160 (90 days)")
        self.end_ms = hours_milli * 3600
        self.reservoir_mu = _milli(doc.get("reservoir_u", 200), "reservoir_u")
        try:
            self.rig = rig_from_user(doc.get("rig", {}), board)
            if "settings" not in doc:
                raise ScenarioError("settings: missing")
            self.settings = settings_from_user(doc["settings"], self.rig)
        except Refused as e:
            raise ScenarioError(str(e))
        self.events = check_events(doc.get("events", []), self.end_ms, self.rig)

    def write_settings(self, flash_dir):
        """The pump's settings file, as it would be stored before the run, in a fresh flash."""
        from pump import settings_store
        from rig import DirFlash

        settings_store.save(DirFlash(flash_dir), settings_to_record(self.settings))

    def write_plan(self, out):
        """The run plan as JSON lines: a header, then one event a line (tools/simrun.py reads it)."""
        rig = self.rig
        header = {
            "day": self.day,
            "tod_ms": self.tod_ms,
            "ticks_start_ms": self.ticks_start_ms,
            "end_ms": self.end_ms,
            "reservoir_mu": self.reservoir_mu,
            "rig": [
                rig.steps_per_unit,
                rig.bolus_mu_per_min,
                rig.step_hz,
                board.BORE_UM,
                rig.compliance_nl_per_mbar,
            ],
            "settings": settings_to_record(self.settings),
        }
        write_json(out, header)
        for at_ms, do, args in self.events:
            # numbers for the action and the fault, so the pump's process compares no names
            kind = FAULTS.index(args["kind"]) if do == "fault" else -1
            out.write("\n")
            write_json(out, [at_ms, ACTIONS.index(do), kind, do, args])
        out.write("\n")


def load(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except OSError as e:
        raise ScenarioError("%s: cannot read (%s)" % (path, e))
    except ValueError as e:
        raise ScenarioError("%s: not valid JSON (%s)" % (path, e))
    return Scenario(doc)
