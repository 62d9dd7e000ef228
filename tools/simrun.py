"""Run a checked scenario on the virtual rig in simulated time and stream its JSON trace.

Runs on CPython and inside the MicroPython unix port with the same bytes out. Memory stays
flat however long the run: minute rows go straight to the trace file, and doses, refusals
and events go to side files that are appended to the trace at the end.

Trace layout (integers and strings only): {"minutes": [[minute, basal_mu, bolus_mu,
prime_mu, steps], ...], "doses": [...], "rejected": [...], "events": [...], "final": {...}}.
"""

import json
import os

from jsonout import write_json
from pump.core import Pump
from pump.engine import BASAL, BOLUS, PRIME
from pump.errors import Refused
from pump.settings import Rig, Settings
from rig import Hardware, VirtualClock, run_until

_SECTIONS = ("doses", "rejected", "events", "alarms")


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

    def __init__(self, plan, events, trace_path, probe=None):
        self.probe = probe  # called with each minute as its row is written
        self.events = events
        self.end_ms = plan["end_ms"]
        self.trace_path = trace_path
        rig = Rig(*plan["rig"])
        self.clock = VirtualClock(plan["ticks_start_ms"])
        self.hw = Hardware(self.clock, rig, plan["rig"][3])
        self.motor = self.hw.motor
        self.sections = {}
        for name in _SECTIONS:
            self.sections[name] = _Section(trace_path + "." + name)
        self.pump = Pump(
            Settings.from_record(plan["settings"]),
            rig,
            self.hw,
            self._emit,
            self.clock.ticks_ms(),
            plan["day"],
            plan["tod_ms"],
            plan["reservoir_mu"],
        )

    def _emit(self, code, fields):
        t_ms = self.clock.elapsed_ms
        if code == "dose":
            fields["t_ms"] = t_ms - fields.pop("duration_ms")
            self.sections["doses"].add(fields)
        elif code == "alarm":
            fields["t_ms"] = t_ms
            self.sections["alarms"].add(fields)
        elif code != "operational":  # every 5 minutes: the history's, not the trace's
            fields["t_ms"] = t_ms
            fields["code"] = code
            self.sections["events"].add(fields)

    def _apply(self, do, args):
        p = self.pump
        a = args.get
        if do == "fault":
            self._fault(a("kind"), a("mv"))
            return
        p.key_pressed()  # every other scenario action is done on the pump's buttons
        if do == "ack":
            p.ack()
        elif do == "silence":
            p.silence(a("minutes", 30))
        if do == "bolus":
            ext = a("extended_min", 0)
            p.bolus(a("units"), a("now_pct", 0 if ext else 100), ext)
        elif do == "cancel_bolus":
            p.cancel_bolus()
        elif do == "temp_basal":
            p.temp_basal(a("minutes"), a("percent"), a("rate_u_h"))
        elif do == "cancel_temp_basal":
            p.cancel_temp_basal()
        elif do == "suspend":
            p.suspend(a("minutes", 0))
        elif do == "resume":
            p.resume()
        elif do == "set_profile":
            p.set_profile(a("name"))
        elif do == "calc":
            p.calc(a("carbs_g"), a("bg_mgdl"), a("deliver"))
        elif do == "prime":
            p.prime(a("units"))
        elif do == "new_reservoir":
            p.new_reservoir(a("units"))

    def _fault(self, kind, mv):
        """Injected faults act on the virtual rig, never on the pump directly."""
        hw = self.hw
        if kind == "occlusion":
            hw.line.block()
        elif kind == "clear_occlusion":
            hw.line.clear()
        elif kind == "motor_fault":
            hw.motor.set_fault(True)
        elif kind == "clear_motor_fault":
            hw.motor.set_fault(False)
        elif kind == "stall":
            hw.motor.stall()
        elif kind == "unstall":
            hw.motor.unstall()
        elif kind == "unseat":
            hw.seat.is_seated = False
        elif kind == "seat":
            hw.seat.is_seated = True
        elif kind == "battery":
            hw.battery.mv_now = mv

    def _row(self, minute):
        p = self.pump
        return [
            minute,
            p.delivered_mu(BASAL),
            p.delivered_mu(BOLUS),
            p.delivered_mu(PRIME),
            self.motor.steps_done(),
        ]

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
            out.write(b"}\n")

    def _simulate(self, out):
        def row(minute):
            if minute > 1:
                out.write(",")
            write_json(out, self._row(minute))
            if self.probe:
                self.probe(minute)

        for at_ms, do, args in self.events:
            run_until(self.pump, self.clock, at_ms, row)
            try:
                self._apply(do, args)
            except Refused as e:
                self.sections["rejected"].add({"t_ms": at_ms, "do": do, "reason": str(e)})
        run_until(self.pump, self.clock, self.end_ms, row)

    def final(self):
        p = self.pump
        return {
            "delivered_mu": p.delivered_mu(BASAL) + p.delivered_mu(BOLUS),
            "steps": self.motor.steps_done(),
            "reservoir_mu": p.reservoir_mu(),
            "iob_mu": p.iob_mu(),
            "state": p.mode,
        }
