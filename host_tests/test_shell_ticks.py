"""The core ticked as the board's shell ticks it (shell/app.py: at least once a second, every
20 ms while the motor moves) instead of exactly when it asks: the same scenarios must give
the same therapy, and the history must stay whole. The whole firmware in the MicroPython
unix port (test_firmware.py) runs this schedule too; this is the quick CPython check."""

import pytest
from test_scenarios import load_doc, run_doc

import simrun
from pump.engine import BASAL


def shell_ticks(pump, clock, end_ms, on_minute=None):
    """rig.run_until, with the shell's schedule instead of pump.next_wake_ms alone."""
    while clock.elapsed_ms < end_ms:
        t = clock.elapsed_ms
        next_minute = (t // 60000 + 1) * 60000
        wait = pump.next_wake_ms()
        if wait > 20 and pump.hw.motor.busy():
            wait = 20
        target = min(t + min(wait, 1000), next_minute, end_ms)
        clock.advance(target - t)
        pump.tick(clock.ticks_ms())
        if on_minute and target == next_minute:
            on_minute(target // 60000)


AUTO_OFF = {
    "start": "2026-02-02T08:00",
    "hours": 12.5,
    "reservoir_u": 150,
    "settings": {
        "basal_profiles": {"steady": [["00:00", 1.0]]},
        "active_profile": "steady",
        "max_bolus_u": 10,
        "max_basal_u_h": 3,
        "max_hourly_u": 15,
        "max_daily_u": 80,
    },
    "events": [],  # no key for 12 hours: auto-off stops the pump on a 5-minute mark
}


@pytest.mark.parametrize("doc", [AUTO_OFF, load_doc("day-mixed.json"), load_doc("occlusion.json")])
def test_operational_records_add_up_to_the_basal_delivered(doc, tmp_path, monkeypatch):
    """With ticks a second apart, basal steps come due between ticks; an operational record
    counts them as owed, and a stop in the same tick (auto-off, here) drops them. The next
    record takes the shortfall off and never goes negative: a negative amount cannot be
    stored, and it used to stop the pump's delivery task with an exception."""
    monkeypatch.setattr(simrun, "run_until", shell_ticks)
    trace = run_doc(doc, tmp_path)
    ops = [r for r in trace["history"] if r["type"] == "operational"]
    assert ops and all(r["delivered_mu"] >= 0 for r in ops)
    basal_mu = trace["minutes"][-1][1 + BASAL]
    # each record rounds its own steps down to whole mU: at most 1 mU short a record, and
    # the basal made after the last record is in no record yet (at most 5 minutes' worth).
    # Steps dropped after a record counted them stay counted until delivery resumes: the
    # history may overstate basal by those (a step or two: 5 mU a step on this rig), never
    # understate it, so the limits and insulin on board rebuilt from it err on the safe side.
    recorded = sum(r["delivered_mu"] for r in ops)
    assert basal_mu - len(ops) - 300 <= recorded <= basal_mu + 10


def test_the_shell_schedule_delivers_what_the_exact_schedule_does(tmp_path, monkeypatch):
    exact = run_doc(load_doc("day-mixed.json"), tmp_path)
    monkeypatch.setattr(simrun, "run_until", shell_ticks)
    (tmp_path / "b").mkdir()
    shell = run_doc(load_doc("day-mixed.json"), tmp_path / "b")
    for kind in range(3):
        # a cancel lands between two of the shell's ticks: one motor step (5 mU here) either way
        assert abs(exact["minutes"][-1][1 + kind] - shell["minutes"][-1][1 + kind]) <= 5
    assert [r["type"] for r in exact["history"]] == [r["type"] for r in shell["history"]]
