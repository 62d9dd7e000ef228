"""Scenario files: the format's refusals, golden results, the 30-day bounds, and identical
traces from CPython and the real MicroPython interpreter."""

import json
import pathlib
import subprocess
import sys

import pumpsim
import pytest
import simhist

import scenario
import simrun
from reference import basal_integral_by_minute

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.json"))
PUMPSIM = str(ROOT / "tools" / "pumpsim.py")


def run_doc(doc, tmp_path):
    """Run a scenario document in-process (CPython) and return its trace."""
    sc = scenario.Scenario(json.loads(json.dumps(doc)))
    plan_path = tmp_path / "plan.jsonl"
    with open(plan_path, "w") as f:
        sc.write_plan(f)
    trace_path = str(tmp_path / "trace.json")
    sc.write_settings(str(tmp_path / "flash"))
    with open(plan_path) as f:
        plan, events = simrun.read_plan(f)
        simrun.Run(plan, events, trace_path, str(tmp_path / "flash")).run()
    simhist.finish(trace_path, str(tmp_path / "flash"))
    with open(trace_path) as f:
        return json.load(f)


def load_doc(name):
    return json.loads((ROOT / "scenarios" / name).read_text())


@pytest.fixture(scope="module")
def day_mixed(tmp_path_factory):
    return run_doc(load_doc("day-mixed.json"), tmp_path_factory.mktemp("day"))


def test_golden_day_mixed_totals(day_mixed):
    """Hand-worked figures in shared/scenarios/README.md."""
    rows = day_mixed["minutes"]
    last = rows[-1]
    assert last[0] == 1440
    assert abs(last[1] - 23460) <= 5  # basal 23462.5 mU -> 23460 in whole steps
    assert abs(last[2] - 11500) <= 15  # 4.5 + 6.0 + about 1.0 U of bolus
    assert last[3] == 500  # prime, apart from therapy
    assert last[4] * 5 == last[1] + last[2] + last[3]  # motor steps = every kind's total
    cancelled = [d for d in day_mixed["doses"] if d["status"] == "cancelled"]
    assert len(cancelled) == 1 and cancelled[0]["programmed_mu"] == 2000
    assert abs(cancelled[0]["delivered_mu"] - 1000) <= 10
    final = day_mixed["final"]
    assert final["reservoir_mu"] == 250000 - last[1] - last[2] - last[3]
    assert final["delivered_mu"] == last[1] + last[2]
    assert day_mixed["rejected"] == []


def test_golden_day_mixed_per_span(day_mixed):
    """Basal by span, from the README's table (cumulative mU at span ends, ±1 step + 1 in flight)."""
    rows = {r[0]: r for r in day_mixed["minutes"]}
    expected = {
        240: 3600,
        540: 10100,
        600: 11100,
        720: 14100,
        960: 18100,
        1020: 18100,
        1050: 18600,
        1140: 19725,
        1185: 19875,
        1320: 21562,
        1440: 23462,
    }
    for minute, mu in expected.items():
        assert mu - 10 <= rows[minute][1] <= mu, minute
    bolus_at = {d["kind"]: d for d in day_mixed["doses"]}
    assert bolus_at["dual"]["delivered_mu"] == 6000 and bolus_at["normal"]["delivered_mu"] == 4500
    assert bolus_at["temp_basal"]["programmed_mu"] == 150  # the 0.2 U/h for 45 min


def test_30_day_scenario_bounds_every_minute(tmp_path):
    """24 segments, temp basals, suspends, boluses, two ticks wraps: the per-minute bounds
    hold every minute and the final total is the programmed integral within one step."""
    doc = load_doc("month-wrap.json")
    assert len(doc["settings"]["basal_profiles"]["month"]) == 24
    wrap_ms = (1 << 30) - doc["ticks_start_ms"]
    assert wrap_ms < doc["hours"] * 3600000 and wrap_ms + (1 << 30) < doc["hours"] * 3600000
    trace = run_doc(doc, tmp_path)
    assert trace["rejected"] == []
    programmed = basal_integral_by_minute(doc, trace)
    assert len(programmed) == len(trace["minutes"]) == 30 * 1440
    for row, p in zip(trace["minutes"], programmed, strict=True):
        assert row[1] <= p + 5, row  # never leads by more than one step
        assert row[1] >= p - 50, row  # never lags by more than one basal pulse
    bolus_programmed = sum(
        d["programmed_mu"] for d in trace["doses"] if d["kind"] in ("normal", "extended", "dual")
    )
    assert all(d["status"] == "completed" for d in trace["doses"])
    last = trace["minutes"][-1]
    assert abs(last[1] + last[2] - (programmed[-1] + bolus_programmed)) <= 5


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_micropython_trace_is_byte_identical(path, tmp_path):
    """The same scenario in the MicroPython unix port, in the pump heap tools/pumpsim.py gives
    it (PUMP_HEAP), gives the same bytes."""
    traces = []
    for runtime in ("cpython", "micropython"):
        out = tmp_path / (runtime + ".json")
        subprocess.run(
            [
                sys.executable,
                PUMPSIM,
                str(path),
                "--trace",
                str(out),
                "--runtime",
                runtime,
                "--heap",
                pumpsim.PUMP_HEAP,
                "--quiet",
            ],
            check=True,
            timeout=600,
        )
        traces.append(out.read_bytes())
    assert len(traces[0]) > 1000
    assert traces[0] == traces[1]


def test_pumpsim_prints_a_summary():
    out = subprocess.run(
        [sys.executable, PUMPSIM, str(ROOT / "scenarios" / "day-mixed.json")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "Delivered: basal 23.460 U" in out and "00:00" in out and "cancelled" in out


BASE = {
    "hours": 1,
    "settings": {"basal_profiles": {"a": [["00:00", 1]]}, "active_profile": "a"},
}


def with_change(path, value):
    doc = json.loads(json.dumps(BASE))
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    "path, value, message",
    [
        (("colour",), "red", "colour: unknown key"),
        (("hours",), "a day", "hours: expected a number"),
        (("hours",), 0, "hours: must be more than 0"),
        (("start",), "2026-02-30T00:00", "start: no such date"),
        (("start",), "tomorrow", "start: expected local time"),
        (("ticks_start_ms",), 1 << 30, "ticks_start_ms"),
        (("reservoir_u",), -5, "reservoir_u: must not be negative"),
        (("rig",), {"steps_per_unit": 5}, "rig.steps_per_unit: 5 is outside 20..1000"),
        (("rig",), {"gear": 3}, "rig.gear: unknown key"),
        (("settings", "max_bolus_u"), 30, "max_bolus_u: 30 U is outside 0.05..25 U"),
        (("settings", "max_bolus_u"), True, "max_bolus_u: expected a number"),
        (("settings", "peak_min"), 20, "peak_min: 20 is outside 35..120"),
        (("settings", "dia_h"), 4, "dia_h: 4 h is outside 5..8 h"),
        (("settings", "basal_profiles"), {"a": [["01:00", 1]]}, "basal_profiles.a[0]: the first"),
        (("settings", "basal_profiles"), {"a": [["00:00", 1], ["00:00", 2]]}, "increasing time"),
        (("settings", "basal_profiles"), {"a": [["00:00", 4]]}, "above max_basal_u_h"),
        (("settings", "basal_profiles"), {"a": [["24:00", 1]]}, "no such time of day"),
        (("settings", "active_profile"), "b", "active_profile: no basal profile named 'b'"),
        (("settings", "icr_g_per_u"), [["00:00", 0.5]], "icr_g_per_u[0]: 0.5 g/U is outside"),
        (("settings", "target_mgdl"), [["00:00", 250]], "target_mgdl[0]: 250 is outside 70..200"),
        (("settings", "max_hourly_u"), 5, "max_bolus_u: above max_hourly_u 5 U"),
        (("settings", "bogus"), 1, "settings.bogus: unknown key"),
        (("events",), [{"at_min": 1, "do": "dance"}], "events[0].do: unknown action 'dance'"),
        (("events",), [{"at_min": 1, "do": "bolus"}], "events[0].units: missing"),
        (("events",), [{"do": "resume"}], "events[0].at_min: missing"),
        (("events",), [{"at_min": 1, "do": "bolus", "units": 1, "wave": 2}], "events[0].wave: unknown key"),
        (("events",), [{"at_min": 1, "do": "bolus", "units": "2"}], "events[0].units: expected a number"),
        (
            ("events",),
            [{"at_min": 1, "do": "suspend", "minutes": 1.5}],
            "events[0].minutes: expected a whole",
        ),
        (("events",), [{"at_min": 99, "do": "resume"}], "events[0].at_min: after the end"),
        (("events",), [{"at_min": 5, "do": "resume"}, {"at_min": 4, "do": "resume"}], "time order"),
        (("events",), [{"at_min": 5, "do": "temp_basal", "minutes": 30}], "either percent or rate_u_h"),
        (
            ("events",),
            [{"at_min": 5, "do": "calc", "carbs_g": 5, "bg_mgdl": 100, "deliver": 1}],
            "true or false",
        ),
    ],
)
def test_bad_scenarios_are_refused_naming_the_key(path, value, message):
    with pytest.raises(scenario.ScenarioError) as e:
        scenario.Scenario(with_change(path, value))
    assert message in str(e.value)


def test_pumpsim_refuses_a_bad_file_and_writes_no_trace(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(with_change(("settings", "peak_min"), 200)))
    trace = tmp_path / "t.json"
    for runtime in ("cpython", "micropython"):
        proc = subprocess.run(
            [sys.executable, PUMPSIM, str(bad), "--trace", str(trace), "--runtime", runtime],
            capture_output=True,
            text=True,
        )
        assert proc.returncode != 0
        assert "peak_min: 200 is outside 35..120" in proc.stdout + proc.stderr
        assert not trace.exists()
    bad.write_text("{not json")
    proc = subprocess.run([sys.executable, PUMPSIM, str(bad)], capture_output=True, text=True)
    assert proc.returncode != 0 and "not valid JSON" in proc.stderr


def test_refused_events_land_in_rejected_and_move_nothing(tmp_path):
    doc = with_change(
        ("events",),
        [
            {"at_min": 5, "do": "bolus", "units": 30},
            {"at_min": 6, "do": "resume"},
            {"at_min": 7, "do": "temp_basal", "percent": 300, "minutes": 30},
        ],
    )
    doc["settings"]["max_bolus_u"] = 10
    trace = run_doc(doc, tmp_path)
    assert [r["do"] for r in trace["rejected"]] == ["bolus", "resume", "temp_basal"]
    assert trace["rejected"][0] == {
        "t_ms": 300000,
        "do": "bolus",
        "reason": "units: 30 U is above max bolus 10 U",
    }
    assert trace["minutes"][-1][2] == 0 and trace["doses"] == []


def test_occlusion_scenario_alarms_stop_and_recover(tmp_path):
    """An occlusion at 1 U/h: a high alarm and a stopped motor within 30 minutes; resume is
    refused until the line is clear and the alarm acknowledged; a bolus into a blocked line
    stops within seconds, billed for what moved."""
    trace = run_doc(load_doc("occlusion.json"), tmp_path)
    alarms = [(a["t_ms"], a["code"], a["priority"], a["state"]) for a in trace["alarms"]]
    first = alarms[0]
    assert first[1:] == ("occlusion", "high", "raised") and first[0] - 60 * 60000 <= 30 * 60000
    rows = {r[0]: r for r in trace["minutes"]}
    assert rows[110][4] == rows[int(first[0] // 60000) + 1][4]  # no step while it stands
    assert trace["rejected"][0]["do"] == "resume" and "OCCLUSION" in trace["rejected"][0]["reason"]
    assert ("occlusion", "high", "cleared") in [a[1:] for a in alarms]
    bolus = [d for d in trace["doses"] if d["kind"] == "normal"][0]
    assert bolus["status"] == "occlusion" and bolus["delivered_mu"] <= 2000 + 500
    second = [a for a in alarms if a[1] == "occlusion" and a[3] == "raised"][1]
    assert second[0] - 181 * 60000 <= 60000  # during a bolus: within a minute
    assert trace["final"]["state"] == "running"
    assert ("battery_critical", "high", "raised") in [a[1:] for a in alarms]


def test_fault_events_are_checked(tmp_path):
    for bad, message in (
        ({"at_min": 1, "do": "fault", "kind": "gremlins"}, "unknown fault 'gremlins'"),
        ({"at_min": 1, "do": "fault", "kind": "battery"}, "mv goes with"),
        ({"at_min": 1, "do": "fault", "kind": "battery", "mv": 9000}, "9000 is outside"),
        ({"at_min": 1, "do": "silence", "minutes": "ten"}, "expected a whole number"),
    ):
        with pytest.raises(scenario.ScenarioError, match=message):
            scenario.Scenario(with_change(("events",), [bad]))


def test_the_runs_action_and_fault_numbers_are_the_plans():
    """tools/actions.py and tools/simrun.py keep the plan's action and fault numbers as private
    constants (no interned names in the pump's process); each must be its name's place in
    tools/scenario.py."""
    import re

    import actions

    text = pathlib.Path(simrun.__file__).read_text() + pathlib.Path(actions.__file__).read_text()
    numbers = dict(re.findall(r"^_([A-Z_]+) = const\((\d+)\)", text, re.M))
    numbers.pop("CLOCK_KEPT_MS")
    assert len(numbers) == len(scenario.ACTIONS) + len(scenario.FAULTS)
    assert sorted(scenario.ACTIONS) == sorted(scenario.EVENTS)
    for i, name in enumerate(scenario.ACTIONS):
        assert int(numbers[name.upper()]) == i, name
    for i, name in enumerate(scenario.FAULTS):
        assert int(numbers[name.upper()]) == i, name


def test_power_cut_during_a_5_u_bolus_interrupts_it_for_good(tmp_path):
    """Issue 3's acceptance: a power cut 1.25 min into a 5 U bolus, power back 2.75 min later.
    The bolus shows as interrupted with the amount the history proves delivered, not one
    more bolus step moves, and the pump comes up suspended with a high alarm."""
    trace = run_doc(load_doc("power-cut.json"), tmp_path)
    rows = {r[0]: r for r in trace["minutes"]}
    moved = rows[62][2]  # bolus mU the motor really delivered before the cut at 61.25 min
    assert 2400 <= moved <= 2500
    (cut,) = [d for d in trace["doses"] if d["status"] == "interrupted"]
    assert cut["kind"] == "normal" and cut["programmed_mu"] == 5000 and cut["t_ms"] == 60 * 60000
    # as known from the last progress record (every 0.5 U): never above what moved, and the
    # most that can have moved is given too
    assert moved - 500 < cut["delivered_mu"] <= moved <= cut["delivered_max_mu"] == cut["delivered_mu"] + 500
    # nothing more of it: bolus delivery stays flat until the next bolus the person gives
    assert all(rows[m][2] == moved for m in range(62, 72))
    assert {"t_ms": 61.5 * 60000, "do": "bolus", "reason": "power: the pump is off"} in trace["rejected"]
    restart = [e for e in trace["events"] if e.get("reason") == "restart"]
    assert restart == [{"code": "mode", "mode": "suspended", "reason": "restart", "t_ms": 64 * 60000}]
    assert trace["alarms"][0] == {
        "code": "unexpected_restart",
        "priority": "high",
        "state": "raised",
        "t_ms": 64 * 60000,
    }
    assert any(r["do"] == "resume" and "clear the alarm first" in r["reason"] for r in trace["rejected"])
    history = trace["history"]
    (start,) = [r for r in history if r["type"] == "bolus_start" and r["programmed_mu"] == 5000]
    (logged,) = [r for r in history if r["type"] == "interrupted"]
    assert logged["aux"] == start["seq"] and logged["delivered_mu"] == cut["delivered_mu"]
    kinds = [r["type"] for r in history if r["seq"] > start["seq"]][:8]
    assert kinds[kinds.index("power_on") :][:3] == ["power_on", "interrupted", "suspend"]
    # the rebuilt hourly window counted the whole 5 U: a 3 U bolus at 70 min breaks 7 U/h
    assert any(r["do"] == "bolus" and "hourly 7 U limit" in r["reason"] for r in trace["rejected"])
