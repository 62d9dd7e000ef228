"""Starting the pump from its flash (pump/boot.py), through scenarios: the settings file
missing or corrupt, confirming settings, the start-up self test, a clock not trusted after a
long power loss, and a full flash."""

import pytest
from test_scenarios import run_doc

SETTINGS = {
    "basal_profiles": {"day": [["00:00", 1.0]]},
    "active_profile": "day",
    "max_bolus_u": 6,
    "max_basal_u_h": 3,
    "max_hourly_u": 10,
    "max_daily_u": 60,
}
MIN = 60000


def doc(events, hours=3):
    return {"start": "2026-03-10T07:00", "hours": hours, "settings": SETTINGS, "events": events}


def rejected(trace, do):
    return [r["reason"] for r in trace["rejected"] if r["do"] == do]


def alarm_states(trace, code):
    return [(a["t_ms"] // MIN, a["state"]) for a in trace["alarms"] if a["code"] == code]


def basal_between(trace, a, b):
    rows = {r[0]: r for r in trace["minutes"]}
    return rows[b][1] - rows[a][1]


def test_a_corrupt_settings_file_never_falls_back_to_delivering_defaults(tmp_path):
    trace = run_doc(
        doc(
            [
                {"at_min": 20, "do": "fault", "kind": "corrupt_settings"},
                {"at_min": 30, "do": "power_cut"},
                {"at_min": 31, "do": "power_on"},
                {"at_min": 33, "do": "ack"},  # the restart alarm clears; settings_invalid cannot
                {"at_min": 34, "do": "ack"},
                {"at_min": 35, "do": "resume"},
                {"at_min": 40, "do": "bolus", "units": 1},
            ]
        ),
        tmp_path,
    )
    invalid = [e for e in trace["events"] if e["code"] == "settings_invalid"]
    assert len(invalid) == 1 and "settings corrupt" in invalid[0]["reason"]
    assert alarm_states(trace, "settings_invalid")[0] == (31, "raised")
    assert ("settings_invalid", "cleared") not in [(a["code"], a["state"]) for a in trace["alarms"]]
    assert rejected(trace, "resume") == ["resume: clear the alarm first: BAD SETTINGS"]
    assert rejected(trace, "bolus")  # suspended: no bolus
    assert basal_between(trace, 31, 180) == 0  # nothing moves on defaults
    assert trace["final"]["state"] == "suspended"
    kinds = [r["type"] for r in trace["history"]]
    assert kinds.count("power_on") == 2


def test_confirmed_settings_are_stored_clear_the_alarm_and_therapy_resumes(tmp_path):
    other = dict(SETTINGS, basal_profiles={"day": [["00:00", 2.0]]})
    trace = run_doc(
        doc(
            [
                {"at_min": 20, "do": "fault", "kind": "corrupt_settings"},
                {"at_min": 30, "do": "power_cut"},
                {"at_min": 31, "do": "power_on"},
                {"at_min": 32, "do": "settings", "settings": other},
                {"at_min": 33, "do": "ack"},
                {"at_min": 34, "do": "ack"},
                {"at_min": 35, "do": "resume"},
                {"at_min": 100, "do": "power_cut"},  # the stored file is good again
                {"at_min": 101, "do": "power_on"},
                {"at_min": 102, "do": "ack"},
                {"at_min": 103, "do": "resume"},
            ]
        ),
        tmp_path,
    )
    assert alarm_states(trace, "settings_invalid") == [(31, "raised"), (34, "acked"), (34, "cleared")]
    assert not rejected(trace, "resume") and not rejected(trace, "settings")
    assert abs(basal_between(trace, 35, 99) - 2000 * 64 // 60) <= 30  # the confirmed 2 U/h
    assert abs(basal_between(trace, 104, 180) - 2000 * 76 // 60) <= 30  # read back from the new file
    assert [e for e in trace["events"] if e["code"] == "settings_invalid"][1:] == []
    assert "settings" in [r["type"] for r in trace["history"]]


def test_settings_change_only_while_suspended(tmp_path):
    trace = run_doc(doc([{"at_min": 10, "do": "settings", "settings": SETTINGS}]), tmp_path)
    assert rejected(trace, "settings") == ["settings: suspend the pump (and end any temporary basal) first"]


@pytest.mark.parametrize(
    "fault, reason",
    [("motor_fault", "motor driver fault line active"), ("buzzer_fault", "buzzer does not answer")],
)
def test_the_start_up_self_test_keeps_a_faulty_pump_suspended(tmp_path, fault, reason):
    trace = run_doc(
        doc(
            [
                {"at_min": 30, "do": "power_cut"},
                {"at_min": 31, "do": "fault", "kind": fault},
                {"at_min": 32, "do": "power_on"},
                {"at_min": 33, "do": "ack"},
                {"at_min": 34, "do": "ack"},
                {"at_min": 35, "do": "resume"},
            ]
        ),
        tmp_path,
    )
    (failed,) = [e for e in trace["events"] if e["code"] == "self_test_failed"]
    assert reason in failed["reason"] and failed["t_ms"] == 32 * MIN
    assert alarm_states(trace, "self_test_failed")[0] == (32, "raised")
    assert rejected(trace, "resume")
    assert basal_between(trace, 32, 180) == 0


def test_a_pump_that_passes_its_self_test_starts(tmp_path):
    trace = run_doc(doc([{"at_min": 60, "do": "bolus", "units": 1}]), tmp_path)
    assert not [e for e in trace["events"] if e["code"] == "self_test_failed"]
    assert trace["history"][0]["type"] == "power_on" and trace["final"]["state"] == "running"


def test_after_more_than_5_minutes_off_the_time_must_be_confirmed(tmp_path):
    events = [
        {"at_min": 30, "do": "power_cut"},
        {"at_min": 40, "do": "power_on"},
        {"at_min": 41, "do": "ack"},
        {"at_min": 42, "do": "resume"},
        {"at_min": 43, "do": "confirm_time"},
        {"at_min": 44, "do": "ack"},
        {"at_min": 45, "do": "resume"},
    ]
    trace = run_doc(doc(events), tmp_path)
    assert alarm_states(trace, "clock_lost")[:1] == [(40, "raised")]
    assert rejected(trace, "resume") == ["resume: confirm the time first"]
    assert basal_between(trace, 40, 45) == 0 and basal_between(trace, 46, 180) > 0
    assert "time_set" in [r["type"] for r in trace["history"]]
    # 5 minutes off or less: the clock is kept
    (tmp_path / "b").mkdir()
    short = run_doc(
        doc([{"at_min": 30, "do": "power_cut"}, {"at_min": 35, "do": "power_on"}]), tmp_path / "b"
    )
    assert alarm_states(short, "clock_lost") == []


def test_a_full_flash_raises_history_error_and_the_records_land_when_space_returns(tmp_path):
    """Records waiting in RAM would be lost with the power, and a restart could not count
    what they said: HISTORY ERROR stops delivery until they are written and it is
    acknowledged, and no bolus starts meanwhile. The records land when space returns."""
    trace = run_doc(
        doc(
            [
                {"at_min": 20, "do": "fault", "kind": "flash_full"},
                {"at_min": 30, "do": "bolus", "units": 1},
                {"at_min": 50, "do": "fault", "kind": "flash_ok"},
                {"at_min": 60, "do": "ack"},
                {"at_min": 60.5, "do": "resume"},
                {"at_min": 61, "do": "bolus", "units": 1},
            ]
        ),
        tmp_path,
    )
    assert basal_between(trace, 26, 60) == 0  # stopped from the first record that failed
    states = alarm_states(trace, "history_error")
    assert states[0][1] == "raised" and 20 <= states[0][0] < 30
    assert states[-1] == (60, "cleared")  # its cause went when the queue was written
    assert [r["t_ms"] for r in trace["rejected"]] == [30 * 60000]
    assert "flash failing" in rejected(trace, "bolus")[0]
    assert [d["programmed_mu"] for d in trace["doses"]] == [1000]  # the one at 61 min
    types = [r["type"] for r in trace["history"]]
    assert types.count("operational") >= 11  # 20..60 min: queued in RAM, written later
    seqs = [r["seq"] for r in trace["history"]]
    assert seqs == list(range(1, len(seqs) + 1))  # nothing lost


def test_each_record_holds_the_fields_docs_history_md_gives_it(tmp_path):
    two = dict(SETTINGS, basal_profiles={"day": [["00:00", 1.0]], "away": [["00:00", 0.5]]})
    trace = run_doc(
        {
            "start": "2026-03-10T07:00",
            "hours": 3,
            "settings": two,
            "events": [
                {"at_min": 10, "do": "bolus", "units": 2, "extended_min": 30, "now_pct": 40},
                {"at_min": 60, "do": "temp_basal", "minutes": 30, "percent": 150},
                {"at_min": 100, "do": "suspend", "minutes": 15},
                {"at_min": 120, "do": "set_profile", "name": "away"},
                {"at_min": 130, "do": "power_cut"},
                {"at_min": 131, "do": "power_on"},
            ],
        },
        tmp_path,
    )
    h = trace["history"]

    def first(rtype):
        return next(r for r in h if r["type"] == rtype)

    assert h[0]["type"] == "power_on" and h[0]["code"] == 0
    restart = [r for r in h if r["type"] == "power_on"][1]
    assert restart["code"] == 1 and restart["programmed_mu"] == 3000 // 6  # 10 min at max basal
    start = first("bolus_start")
    assert (start["code"], start["programmed_mu"], start["aux"]) == (2, 2000, 30 << 16 | 40)  # dual
    progress = first("bolus_progress")
    assert progress["aux"] == start["seq"] and progress["delivered_mu"] == 500
    dose = next(r for r in h if r["type"] == "dose" and r["code"] == 2)
    assert dose["delivered_mu"] == 2000 and dose["aux"] & 0xFF == 0 and dose["aux"] >> 8 >= 30 * 60
    temp = first("temp_start")
    assert temp["code"] == 150 and temp["aux"] == 30 << 16 | 1500 and temp["programmed_mu"] == 750
    suspend = first("suspend")
    assert suspend["code"] == 0 and suspend["aux"] == 15 and suspend["mode"] == 1
    timed = first("resume")
    assert timed["code"] == 3 and timed["t_s"] - suspend["t_s"] == 15 * 60
    profile = first("profile")
    assert profile["code"] == 0  # "away" sorts first
    restarted = [r for r in h if r["type"] == "suspend"][-1]
    assert restarted["code"] == 4  # reason: restart
    ops = [r for r in h if r["type"] == "operational"]
    assert all(r["t_s"] % 300 == 0 for r in ops)  # on the clock's 5-minute marks
    assert ops[0]["programmed_mu"] == 1000 and ops[0]["reservoir_mu"] > 0


def test_insulin_on_board_survives_a_restart(tmp_path):
    """A bolus given before a power cut is still on board after it (the bolus calculator
    must not forget it), counted at no less than without the cut."""
    events = [{"at_min": 10, "do": "bolus", "units": 4}]
    cut = [{"at_min": 30, "do": "power_cut"}, {"at_min": 31, "do": "power_on"}]
    steady = run_doc(doc(events, hours=2), tmp_path)
    (tmp_path / "b").mkdir()
    restarted = run_doc(doc(events + cut, hours=2), tmp_path / "b")
    assert steady["final"]["iob_mu"] > 1500  # 4 U, 110 minutes on
    assert steady["final"]["iob_mu"] <= restarted["final"]["iob_mu"] <= steady["final"]["iob_mu"] + 50
    # a bolus cut short counts on board at everything it had programmed
    (tmp_path / "c").mkdir()
    mid = run_doc(
        doc(
            [
                {"at_min": 10, "do": "bolus", "units": 4},
                {"at_min": 11, "do": "power_cut"},
                {"at_min": 12, "do": "power_on"},
            ],
            hours=2,
        ),
        tmp_path / "c",
    )
    assert mid["final"]["iob_mu"] >= steady["final"]["iob_mu"] - 50


def test_a_refused_command_leaves_a_refused_record(tmp_path):
    trace = run_doc(
        doc([{"at_min": 10, "do": "bolus", "units": 9}, {"at_min": 20, "do": "resume"}]), tmp_path
    )
    refused = [r for r in trace["history"] if r["type"] == "refused"]
    assert [(r["code"], r["programmed_mu"], r["source"]) for r in refused] == [(0, 9000, 1), (5, 0, 1)]
    assert len(trace["rejected"]) == 2
