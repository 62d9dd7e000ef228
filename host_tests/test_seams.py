"""The pump at the seams of its life: a restart, a change of the clock, a damaged flash, a
settings file written by someone else. The hard limits must hold there as they hold while it
runs: checked on the scenario's own time (the trace's minute rows), never on the pump's clock.
"""

import json
import struct

import pytest
from test_link import paired
from test_scenarios import load_doc, run_doc
from test_ui_setup import TWO, Booted

from fakeflash import FakeFlash
from pump import settings_store
from pump.boot import start
from pump.crc32 import crc32
from pump.history import History, Record, encode
from pump.history_query import OPERATIONAL, POWER_ON

MIN = 60000


def therapy_by_minute(trace):
    """Cumulative basal + bolus mU at each whole minute from 0 (the trace's rows start at 1)."""
    return [0] + [row[1] + row[2] for row in trace["minutes"]]


def worst_windows(trace):
    """(most therapy in any 60 minutes, most in any 24 hours), mU, on scenario time."""
    t = therapy_by_minute(trace)
    hour = max(t[m] - t[max(0, m - 60)] for m in range(len(t)))
    day = max(t[m] - t[max(0, m - 1440)] for m in range(len(t)))
    return hour, day


def basal_by_minute(trace):
    return [0] + [row[1] for row in trace["minutes"]]


def refused_at(trace):
    return {r["t_ms"] // MIN: r["reason"] for r in trace["rejected"]}


def history_of(trace, name):
    return [r for r in trace["history"] if r["type"] == name]


# ------------------------------------------------------------- the clock moves


def test_a_forward_clock_change_and_a_restart_keep_the_hourly_and_daily_limits(tmp_path):
    """scenarios/clock-forward.json: 11 U in 4 minutes, the clock set an hour on by a paired
    host, the power cut and back with the RTC reading that clock. The records before the change
    look an hour older than they are; on pump time they are not, so the next 6 U are refused
    (before: given, 18 U in an hour against 12 U). Later a day forward, then the same."""
    trace = run_doc(load_doc("clock-forward.json"), tmp_path)
    hour, day = worst_windows(trace)
    assert hour <= 12000 and day <= 30000, (hour, day)
    refused = refused_at(trace)
    assert "hourly 12 U limit" in refused[24] and "daily 30 U limit" in refused[300]
    assert [r["code"] for r in history_of(trace, "power_on")] == [0, 1, 1]
    # the interrupted bolus's duration is on pump time, not the day the clock jumped
    (cut,) = [d for d in trace["doses"] if d["status"] == "interrupted"]
    assert 120 * MIN <= cut["t_ms"] <= 122 * MIN


def iob_after(events, tmp_path):
    doc = {
        "start": "2026-05-04T08:00",
        "hours": 0.75,
        "settings": {
            "basal_profiles": {"d": [["00:00", 1.0]]},
            "active_profile": "d",
            "max_bolus_u": 10,
            "max_hourly_u": 12,
        },
        "events": [{"at_min": 5, "do": "bolus", "units": 10}] + events,
    }
    tmp_path.mkdir()
    return run_doc(doc, tmp_path)["final"]["iob_mu"]


def test_insulin_on_board_is_kept_through_a_forward_clock_change_and_a_restart(tmp_path):
    """Insulin on board after the clock went an hour on and the power was cut is never less
    than that of the same pump left alone (before: 7.1 U instead of 9.9 U)."""
    alone = iob_after([], tmp_path / "a")
    moved = iob_after(
        [
            {"at_min": 15, "do": "set_time", "to": "2026-05-04T09:15", "source": "link"},
            {"at_min": 16, "do": "power_cut"},
            {"at_min": 17, "do": "power_on", "rtc": "2026-05-04T09:17"},
        ],
        tmp_path / "b",
    )
    assert alone > 8000 and alone <= moved <= alone + 200, (alone, moved)


def rtc_behind_doc():
    events = []
    for day in range(5):
        events.append({"at_min": day * 1440 + 720, "do": "bolus", "units": 4})
    events += [
        {"at_min": 7000, "do": "power_cut"},
        {"at_min": 7002, "do": "power_on", "rtc": "2026-05-01T00:00"},
        {"at_min": 7003, "do": "set_time", "to": "2026-05-08T20:43", "source": "buttons"},
    ]
    events += [{"at_min": 7004 + i * 0.1, "do": "ack"} for i in range(4)]
    events += [
        {"at_min": 7005, "do": "resume"},
        {"at_min": 7100, "do": "bolus", "units": 4},
    ]
    return {
        "start": "2026-05-04T00:00",
        "hours": 24 * 6,
        "settings": {
            "basal_profiles": {"d": [["00:00", 1.0]]},
            "active_profile": "d",
            "max_bolus_u": 6,
            "max_hourly_u": 12,
            "max_daily_u": 40,
            "auto_off_h": 0,
        },
        "events": events,
    }


def test_an_rtc_that_reads_days_before_the_history_neither_crashes_nor_stops_therapy(tmp_path):
    """The board's RTC reset with the power reads 7 days early: no record is booked into the
    current minute (before: OverflowError on CPython, a wrapped 16-bit bucket on MicroPython
    and no therapy for days), the time is asked for, and once set and the restart handled
    the pump gives its basal and a bolus within the limits."""
    trace = run_doc(rtc_behind_doc(), tmp_path)
    assert 7100 not in refused_at(trace), trace["rejected"]
    basal = basal_by_minute(trace)
    assert basal[-1] - basal[7100] >= 23000  # the day after: a day of basal at 1 U/h
    assert [d["programmed_mu"] for d in trace["doses"] if d["kind"] == "normal"][-1] == 4000
    hour, day = worst_windows(trace)
    assert hour <= 12000 and day <= 40000
    assert "clock_lost" in [a["code"] for a in trace["alarms"]]


# ------------------------------------------------------------------ temp basal


def test_a_temp_basal_never_runs_above_the_cap_in_force(tmp_path):
    """scenarios/temp-cap.json: a 3 U/h temp basal runs into a 0.3 U/h segment (cap 1.2 U/h),
    and a 250 % temp into a profile switch that would make it 3.75 U/h against max basal 3:
    each time it runs at the cap, and says so (before: 3 U/h and 3.75 U/h)."""
    trace = run_doc(load_doc("temp-cap.json"), tmp_path)
    b = basal_by_minute(trace)
    step = 5  # one motor step at 200 steps/U
    assert max(b[m] - b[m - 60] for m in range(60, len(b))) <= 3000 + step
    assert abs((b[180] - b[120]) - 1200) <= step  # the 0.3 U/h segment: at the cap, 1.2 U/h
    assert abs((b[280] - b[220]) - 3000) <= step  # the switch to 1.5 U/h: at max basal
    caps = [(e["cap_mu_h"], e["rate_mu_h"]) for e in trace["events"] if e["code"] == "temp_capped"]
    assert caps == [(1200, 3000), (3000, 3750), (0, 1250)]
    assert [(r["code"], r["programmed_mu"]) for r in history_of(trace, "temp_cap")] == [
        (1, 1200),
        (1, 3000),
        (0, 0),
    ]
    assert "temp_capped" in [a["code"] for a in trace["alarms"] if a["state"] == "raised"]


def test_the_supervisor_holds_max_basal_from_its_own_books():
    """A therapy whose books are wrong (here: it asks 10 U/h) is stopped by the supervisor,
    which counts basal steps asked for in each 61 minutes against max basal."""
    sim = Booted()
    p = sim.pump
    p.programmed_basal_mu_h = lambda: 10000
    p._update_basal()
    sim.run_min(60)
    assert p.alarms.is_active("delivery_mismatch") and p.mode == "stopped"
    # max basal 3 U/h for 61 minutes, a step each end: what moved
    assert sim.hw.motor.steps_done() <= 3000 * 61 * 200 // 60000 + 2


# ------------------------------------------------------------- stored settings


def stored_then(values, tmp_path):
    """An hour at 1 U/h; the power goes; a settings file with `values` (stored form, valid
    CRC) is written; the power comes back; a person tries to resume and to bolus."""
    doc = {
        "start": "2026-05-04T08:00",
        "hours": 2,
        "settings": {
            "basal_profiles": {"day": [["00:00", 1.0]]},
            "active_profile": "day",
            "max_bolus_u": 10,
            "max_basal_u_h": 2,
        },
        "events": [
            {"at_min": 60, "do": "power_cut"},
            {"at_min": 61, "do": "settings_file", "values": values},
            {"at_min": 62, "do": "power_on"},
            {"at_min": 63, "do": "ack"},
            {"at_min": 63.5, "do": "ack"},
            {"at_min": 64, "do": "resume"},
            {"at_min": 65, "do": "bolus", "units": 5},
        ],
    }
    return run_doc(doc, tmp_path)


BAD_STORED = [
    {"max_bolus_mu": 50000},  # above the firmware's own ceiling of 25 U
    {"profiles": {"day": [0, 30000]}},  # 30 U/h with max basal 2 U/h
    {"profiles": {"day": [0, -1]}},
    {"profiles": {"day": [0, 70000]}},  # past 16 bits
    {"profiles": {"day": [0, "1000"]}},
    {"profiles": {"day": []}},
    {"profiles": {"day": [0, 1000, 60]}},  # an odd length
    {"profiles": {"day": [30, 1000]}},  # not from midnight
    {"profiles": {"day": [0, 1000, 0, 500]}},  # starts not increasing
    {"profiles": {}},
    {"active_profile": "gone"},
    {"bolus_increment_mu": 0},
    {"bolus_increment_mu": 30},
    {"max_hourly_mu": "15000"},
    {"max_daily_mu": 1.5},
    {"dia_min": True},
    {"dia_min": None},
    {"icr_dg_per_u": [0, 0]},
    {"target_mgdl": [0, 20]},
    {"low_reservoir_mu": 20500},
    {"auto_off_min": 7},
    {"max_bolus_mu": 20000, "max_hourly_mu": 15000},  # bolus above the hourly limit
]


@pytest.mark.parametrize("values", BAD_STORED, ids=[json.dumps(v)[:40] for v in BAD_STORED])
def test_stored_settings_outside_the_rules_leave_the_pump_suspended_and_deliver_nothing(values, tmp_path):
    trace = stored_then(values, tmp_path)
    therapy = therapy_by_minute(trace)
    assert therapy[-1] == therapy[62]  # nothing after the restart
    assert trace["final"]["state"] == "suspended"
    refused = refused_at(trace)
    assert "clear the alarm first" in refused[64] and "suspended" in refused[65]
    (invalid,) = [e for e in trace["events"] if e["code"] == "settings_invalid"]
    assert "not usable" in invalid["reason"] or "not a settings record" in invalid["reason"]


def test_stored_settings_within_the_rules_are_taken(tmp_path):
    """The check is no wall: the same file with a value changed within its rules is used."""
    trace = stored_then({"max_bolus_mu": 8000}, tmp_path)
    assert trace["final"]["state"] == "running" and not [
        e for e in trace["events"] if e["code"] == "settings_invalid"
    ]
    assert trace["doses"][-1]["programmed_mu"] == 5000


def test_after_damage_a_paired_host_cannot_confirm_the_firmware_defaults():
    """The settings file fails its CRC: the pump starts on the firmware's defaults, suspended.
    A paired host's settings_set is refused whatever it holds (before: one leaving out the
    limits passed the check against those defaults and cleared settings_invalid), and the
    pump stays suspended until a person sets or confirms the limits on the pump."""
    sim, link, t, s, _ = paired()
    sim.fs.corrupt(settings_store.FILE, -2)
    sim.pump = start(sim.fs, sim.rig, sim.hw, sim._emit, sim.clock.ticks_ms(), 9500, 8 * 3600000, 0)
    link.pump = sim.pump
    assert sim.pump.alarms.is_active("settings_invalid")
    s.hello()
    before = sim.fs.durable_bytes(settings_store.FILE)
    user = dict(TWO)
    import pumplink

    with pytest.raises(pumplink.LinkError) as e:
        s.call("settings_set", settings=user)
    assert e.value.error == "settings_on_pump"
    assert sim.pump.alarms.is_active("settings_invalid") and sim.pump.mode == "suspended"
    assert sim.fs.durable_bytes(settings_store.FILE) == before


# ---------------------------------------------------------------- the history


def history_with(records):
    fs = FakeFlash()
    h = History(fs)
    h.open()
    for rec in records:
        h.append(*rec)
    return fs, h


def test_a_misplaced_record_never_hides_the_others():
    """Two intact records of one segment swap places: every record is still read (before: 23
    of 38 were hidden from every reader, having seqs below one already seen)."""
    fs, h = history_with([(11, 1000 + i) for i in range(38)])
    name = "h_ev_000000.bin"
    data = bytearray(fs.durable_bytes(name))
    a, b = 3 * 32, 30 * 32
    data[a : a + 32], data[b : b + 32] = data[b : b + 32], data[a : a + 32]
    fs.put(name, bytes(data))
    again = History(fs)
    again.open()
    assert sorted(r.seq for r in again.records()) == list(range(1, 39))


def crafted(rec_type, t_s, seq, **fields):
    """A CRC-valid record as a build of other rules, or a hand, could write it: no range check."""
    r = Record(rec_type, t_s, seq=seq, **fields)
    body = struct.pack("<IIBBBBIIIII", *(r.fields() + (0,)))[:28]
    return body + struct.pack("<I", crc32(body))


def started(fs, t_s=9500 * 86400 + 8 * 3600):
    sim = Booted(fs=fs, day=t_s // 86400, tod_min=t_s % 86400 // 60)
    return sim


def a_day_of_history():
    """A pump that ran 10 hours at 1 U/h with a 5 U bolus: its flash."""
    sim = Booted(settings=dict(TWO, max_bolus_u=6, max_hourly_u=7, max_daily_u=20))
    sim.run_min(60)
    sim.pump.bolus(5000)
    sim.run_min(600)
    return sim


@pytest.mark.parametrize(
    "bad",
    ["seq", "huge_operational", "reservoir", "bolus_kind"],
)
def test_flash_content_the_pump_cannot_use_never_stops_it_starting(bad):
    """A record with sequence number 2**32 - 1, an operational record claiming 4e9 mU, a
    reservoir of 2**31 mU: start-up never raises (before: the POWER_ON append raised, a
    bucket overflowed, the reservoir alarms could never fire), the pump comes up suspended
    with an alarm naming the problem, and the limits still hold."""
    sim = a_day_of_history()
    h = sim.pump.history()
    last_t = h.last_t_s
    ring = "h_op_" if bad == "huge_operational" else "h_ev_"
    name = sorted(n for n in sim.fs.listdir() if n.startswith(ring))[-1]
    data = sim.fs.durable_bytes(name)
    seq = h.next_seq
    if bad == "seq":
        data += crafted(11, last_t, 0xFFFFFFFF)
    elif bad == "huge_operational":
        data += crafted(OPERATIONAL, last_t, seq, delivered_mu=4000000000)
    elif bad == "bolus_kind":  # a bolus start of a kind and source no pump writes, unfinished
        data += crafted(9, last_t, seq, code=77, source=9, programmed_mu=3000000000)
    else:
        data += crafted(POWER_ON, last_t, seq, reservoir_mu=1 << 31)
    sim.fs.put(name, data)
    again = Booted(fs=sim.fs, day=last_t // 86400, tod_min=last_t % 86400 // 60 + 1)
    p = again.pump
    assert p.mode == "suspended" and p.alarms.is_active("unexpected_restart")
    if bad == "seq":
        assert p.history().next_seq < 1 << 30  # the bogus number is damage, not the sequence
        assert [r.seq for r in p.history().records()][-1] == p.history().next_seq - 1
    else:
        assert p.alarms.is_active("history_damaged")
    if bad == "reservoir":
        assert p.reservoir_mu() == 0
        again.run_min(1)
        assert p.alarms.is_active("reservoir_empty")
    if bad == "huge_operational":
        assert p.bolus_allowed()[0] == 0  # the record's span is taken at the worst


@pytest.mark.parametrize("kind", ["erase_segment", "flip", "swap_records", "truncate", "read_error"])
def test_history_damage_is_said_with_an_alarm_and_never_stops_a_start(kind, tmp_path):
    """Each kind of damage, made while the power is off (scenario flash_damage), on a history
    that ran a day: the pump starts, suspended; damage the rebuild can see (a number missing,
    a record out of place or unreadable) raises history_damaged; the limits hold."""
    events = [{"at_min": m, "do": "bolus", "units": 5} for m in (60, 200, 400, 600)]
    events += [
        {"at_min": 700, "do": "power_cut"},
        {"at_min": 701, "do": "flash_damage", "target": "history", "kind": kind, "seed": 3},
        {"at_min": 702, "do": "power_on"},
    ]
    events += [{"at_min": 703 + i * 0.1, "do": "ack"} for i in range(4)]
    events += [{"at_min": 704, "do": "resume"}]
    events += [{"at_min": 705 + 10 * i, "do": "bolus", "units": 5} for i in range(12)]
    doc = {
        "start": "2026-05-04T00:00",
        "hours": 16,
        "settings": {
            "basal_profiles": {"d": [["00:00", 1.0]]},
            "active_profile": "d",
            "max_bolus_u": 6,
            "max_hourly_u": 7,
            "max_daily_u": 30,
            "auto_off_h": 0,
        },
        "events": events,
    }
    trace = run_doc(doc, tmp_path)
    hour, day = worst_windows(trace)
    assert hour <= 7000 and day <= 30000, (hour, day)
    damage = [e for e in trace["events"] if e["code"] == "flash_damage"]
    assert len(damage) == 1 and damage[0]["what"]
    raised = [a["code"] for a in trace["alarms"] if a["state"] == "raised"]
    if kind != "truncate":  # a file cut at a record's end looks like the newest records never came
        assert "history_damaged" in raised


def test_a_segment_that_cannot_be_read_is_skipped_and_its_numbers_never_given_again():
    sim = a_day_of_history()
    h = sim.pump.history()
    top = h.next_seq - 1
    names = sorted(n for n in sim.fs.listdir() if n.startswith("h_ev_"))
    sim.fs.fail_reads(names[-1])
    again = Booted(fs=sim.fs, day=h.last_t_s // 86400, tod_min=h.last_t_s % 86400 // 60 + 1)
    h2 = again.pump.history()
    assert h2.unreadable >= 1 and h2.next_seq > top
    assert again.pump.alarms.is_active("history_damaged")
    assert again.pump.bolus_allowed()[0] == 0  # what the lost records held is unknown: the worst


def test_the_recorded_temp_cap_and_power_on_fields_encode():
    """The fields the new records carry fit the format: TEMP_CAP's rate and POWER_ON's
    clock-before."""
    assert len(encode(Record(18, 5, code=1, programmed_mu=1200, aux=3000, seq=1))) == 32
    assert len(encode(Record(POWER_ON, 5, code=1, programmed_mu=500, aux=4000000000, seq=2))) == 32


@pytest.mark.parametrize("day", [-300, 40000])
def test_an_rtc_outside_the_calendar_never_stops_the_pump_starting(day):
    """A board's RTC that lost its power can read 1999 or 2110: start-up runs on from the
    newest record and asks for the time (before: the POWER_ON record could not be written and
    start-up raised, a reset on every start)."""
    sim = a_day_of_history()
    last = sim.pump.history().last_t_s
    again = Booted(fs=sim.fs, day=day)
    p = again.pump
    assert p.mode == "suspended" and p.alarms.is_active("clock_lost")
    assert p.day * 86400 + p.tod_ms // 1000 == last
    with pytest.raises(Exception) as e:
        p.confirm_time(40000, 0)
    assert "2099" in str(e.value)


def test_a_history_whose_files_hold_no_record_is_a_restart_that_proves_nothing():
    """Every history file cut to nothing: there are files, so this is no first start (before: a
    fresh pump, running, its limit windows empty); nothing is proved, so the worst is booked."""
    sim = a_day_of_history()
    last = sim.pump.history().last_t_s
    for name in sim.fs.listdir():
        if name.startswith("h_"):
            sim.fs.put(name, b"")
    again = Booted(fs=sim.fs, day=last // 86400, tod_min=last % 86400 // 60)
    p = again.pump
    assert p.mode == "suspended" and p.alarms.is_active("unexpected_restart")
    assert p.alarms.is_active("history_damaged") and p.bolus_allowed()[0] == 0


@pytest.mark.parametrize(
    "event, says",
    [
        ({"do": "set_time", "to": "2026-13-01T00:00"}, "events[0].to: no such date and time"),
        ({"do": "set_time", "to": "2026-05-04T08:00", "source": "phone"}, "events[0].source: unknown source"),
        ({"do": "power_on", "rtc": "noon"}, "events[0].rtc: expected local time"),
        ({"do": "flash_damage", "target": "history", "kind": "melt", "seed": 1}, "unknown damage 'melt'"),
        ({"do": "flash_damage", "target": "rom", "kind": "flip", "seed": 1}, "unknown target 'rom'"),
        ({"do": "flash_damage", "target": "settings", "kind": "swap_records", "seed": 1}, "not the settings"),
        ({"do": "flash_damage", "target": "history", "kind": "flip", "seed": -1}, "seed: must be"),
        ({"do": "settings_file", "values": []}, "values: expected an object"),
    ],
)
def test_bad_seam_events_are_refused_naming_the_key(event, says):
    import scenario

    doc = {"hours": 1, "settings": {"basal_profiles": {"d": [["00:00", 1]]}, "active_profile": "d"}}
    doc["events"] = [dict(event, at_min=1)]
    with pytest.raises(scenario.ScenarioError) as e:
        scenario.Scenario(doc)
    assert says in str(e.value)


def test_the_flash_is_changed_only_while_the_power_is_off(tmp_path):
    doc = {
        "hours": 1,
        "settings": {"basal_profiles": {"d": [["00:00", 1]]}, "active_profile": "d"},
        "events": [
            {"at_min": 5, "do": "flash_damage", "target": "history", "kind": "flip", "seed": 1},
            {"at_min": 6, "do": "settings_file", "values": {"max_bolus_mu": 1000}},
        ],
    }
    trace = run_doc(doc, tmp_path)
    assert [r["reason"] for r in trace["rejected"]] == [
        "flash: the flash is changed only while the power is off"
    ] * 2
    assert trace["final"]["state"] == "running" and not trace["events"]


# ------------------------------------- what a review of the rebuild found, each a test


def restarted(sim, minutes_later=1):
    """The same pump after a power cut, its RTC on its own clock minutes_later on."""
    t = sim.pump.day * 86400 + sim.pump.tod_ms // 1000 + minutes_later * 60
    return Booted(fs=sim.fs, day=t // 86400, tod_min=t % 86400 // 60)


def test_records_the_history_had_to_drop_are_taken_at_their_worst():
    """The flash full for two hours: the RAM queue fills, later records are dropped and only
    their number is kept (a LOST record once space returns). No bolus starts while records
    wait, and after a restart what the dropped ones may have held is booked (before: nothing
    was, and 10 U more were allowed 15 minutes after a 10 U bolus)."""
    sim = Booted(settings=dict(TWO, max_bolus_u=10, max_hourly_u=12, max_daily_u=40))
    sim.fs.set_full(True)
    sim.run_min(120)
    with pytest.raises(Exception) as e:
        sim.pump.bolus(10000)
    assert "flash failing" in str(e.value) and sim.pump.current_bolus is None
    assert sim.pump.history().lost > 0
    sim.fs.set_full(False)
    sim.run_min(6)
    again = restarted(sim)
    assert again.pump.alarms.is_active("history_damaged")
    assert again.pump.bolus_allowed()[0] < 10000


def test_a_clock_record_out_of_its_place_leaves_the_day_unproved():
    """The clock set back 3 hours, then the TIME_SET record swapped with the next one: the
    records after it would be placed 3 hours too old. The day is taken as unproved: the
    windows after the restart hold at least what an intact history gives."""
    sim = Booted(settings=dict(TWO, max_bolus_u=10, max_hourly_u=12, max_daily_u=30))
    sim.run_min(60)
    p = sim.pump
    p.confirm_time(p.day, p.tod_ms - 3 * 3600000, "link")
    p.set_profile("rest")
    sim.run_min(190)
    p.bolus(10000)
    sim.run_min(60)
    intact = FakeFlash()
    for name in sim.fs.listdir():
        intact.put(name, sim.fs.durable_bytes(name))
    name = sorted(n for n in sim.fs.listdir() if n.startswith("h_ev_"))[-1]
    data = bytearray(sim.fs.durable_bytes(name))
    recs = [bytes(data[i : i + 32]) for i in range(0, len(data) - len(data) % 32, 32)]
    i = [k for k, r in enumerate(recs) if r[8] == 2][0]  # the TIME_SET
    data[i * 32 : i * 32 + 64] = recs[i + 1] + recs[i]
    sim.fs.put(name, bytes(data))
    ok = Booted(fs=intact, day=p.day, tod_min=p.tod_ms // 60000 + 1)
    swapped = Booted(fs=sim.fs, day=p.day, tod_min=p.tod_ms // 60000 + 1)
    assert swapped.pump.alarms.is_active("history_damaged")
    assert swapped.pump.totals.day_steps >= ok.pump.totals.day_steps
    assert swapped.pump.totals.hour_steps >= ok.pump.totals.hour_steps
    assert swapped.pump.bolus_allowed()[0] <= ok.pump.bolus_allowed()[0]


def test_a_clock_set_back_is_no_damage_a_day_later():
    """The clock set back 3 hours, the restart 25 hours later: the records stamped before the
    window are not read, and are not taken for lost ones (before: HISTORY DAMAGED, the day
    window filled, nothing allowed)."""
    sim = Booted(settings=dict(TWO, max_daily_u=30))
    sim.run_min(120)
    p = sim.pump
    p.confirm_time(p.day, p.tod_ms - 3 * 3600000, "link")
    sim.run_min(25 * 60)
    again = restarted(sim)
    assert not again.pump.alarms.is_active("history_damaged")
    assert again.pump.bolus_allowed()[0] > 0


def test_a_settings_file_nested_past_any_record_is_unusable_not_a_crash():
    """A CRC-valid body of lists 3000 deep: the JSON parser's own depth (RuntimeError) and the
    record check's would have escaped start-up, a reset on every start."""
    fs = FakeFlash()
    body = ("[" * 3000 + "]" * 3000).encode()
    fs.put(settings_store.FILE, ("PUMPSETTINGS 1 %08x %d\n" % (crc32(body), len(body))).encode() + body)
    sim = Booted(fs=fs)
    assert sim.pump.alarms.is_active("settings_invalid") and sim.pump.mode == "suspended"
    deep = {"profiles": {"day": [[[[0, 1000]]]]}}
    with pytest.raises(settings_store.SettingsError):
        settings_store.decode(settings_store.encode(deep))


def test_an_rtc_outside_the_calendar_and_a_record_near_2_32_do_not_loop():
    """The newest record stamped 0xFFFFFFF0 and the RTC unreadable: the clock is held to
    2099-12-31, so records can still be written (before: an uncaught encode error minutes
    after every start)."""
    sim = a_day_of_history()
    name = sorted(n for n in sim.fs.listdir() if n.startswith("h_ev_"))[-1]
    h = sim.pump.history()
    sim.fs.put(name, sim.fs.durable_bytes(name) + crafted(6, 0xFFFFFFF0, h.next_seq))
    again = Booted(fs=sim.fs, day=-5)
    again.run_min(30)
    assert again.pump.day <= 36524 and again.pump.alarms.is_active("clock_lost")
    assert again.pump.history().queued == 0  # every record written


def test_a_booking_a_day_and_five_minutes_back_never_lands_in_the_current_bucket():
    from pump.limits import RollingTotals

    t = RollingTotals(2002)
    t.book_past(1444, 100)
    t.book_past(1440, 7)
    assert t.day_steps == 7
    t.advance_to(2002 + 1440 + 5)
    assert t.day_steps == 0


def test_one_stray_segment_number_does_not_mean_a_million_opens():
    sim = a_day_of_history()
    sim.fs.put("h_op_999999.bin", b"")
    before = sim.fs.ops
    again = restarted(sim)
    assert again.pump.alarms.is_active("unexpected_restart")
    assert sim.fs.ops - before < 5000


def test_a_lost_move_of_the_clock_leaves_the_day_unproved():
    """11 U, the clock set 10 hours on, one more record, then a bit of the TIME_SET flipped:
    without it every earlier record looks 10 hours older. A record missing inside the window
    may have been such a move, so the day up to it counts as unproved (before: 7.1 U in the
    hour window and a 4.9 U bolus allowed, 15.9 U in an hour against 12 U)."""
    sim = Booted(settings=dict(TWO, max_bolus_u=6, max_hourly_u=12, max_daily_u=40))
    p = sim.pump
    p.bolus(5500)
    sim.run_min(10)
    p.bolus(5500)
    sim.run_min(5)
    p.confirm_time(p.day, p.tod_ms + 10 * 3600000, "link")
    p.set_profile("rest")
    sim.run_min(2)
    name = sorted(n for n in sim.fs.listdir() if n.startswith("h_ev_"))[-1]
    data = bytearray(sim.fs.durable_bytes(name))
    i = [k for k in range(0, len(data) - 31, 32) if data[k + 8] == 2][0]  # the TIME_SET
    data[i + 12] ^= 4
    sim.fs.put(name, bytes(data))
    again = restarted(sim)
    assert again.pump.alarms.is_active("history_damaged")
    assert again.pump.bolus_allowed()[0] <= 12000 - 11000


def test_damage_older_than_the_window_is_not_taken_again_at_every_restart():
    """A TIME_SET out of its place two days back (behind a 4-day power-off, which makes the read
    reach far back): it is no business of the last day's, and a restart a day later is not
    damaged (before: HISTORY DAMAGED and a full window at every restart, for months)."""
    sim = Booted(settings=dict(TWO, max_daily_u=30))
    sim.run_min(60)
    sim = restarted(sim, 4 * 1440)
    sim.pump.ack()
    sim.pump.resume()
    p = sim.pump
    sim.run_min(30)
    p.confirm_time(p.day, p.tod_ms - 3 * 3600000, "link")
    p.set_profile("rest")
    name = sorted(n for n in sim.fs.listdir() if n.startswith("h_ev_"))[-1]
    data = bytearray(sim.fs.durable_bytes(name))
    i = [k for k in range(0, len(data) - 31, 32) if data[k + 8] == 2][0]
    data[i : i + 64] = data[i + 32 : i + 64] + data[i : i + 32]
    sim.fs.put(name, bytes(data))
    sim.run_min(2 * 1440)
    for _ in range(3):
        sim = restarted(sim)
        assert not sim.pump.alarms.is_active("history_damaged")
        assert sim.pump.bolus_allowed()[0] > 0


def test_the_history_s_recovery_keeps_the_record_that_found_the_flash_well_again():
    """The queue full and a record dropped; space returns; the next append drains the queue,
    logs the LOST record and then its own record, each once (before: its own was replaced by
    a second copy of the LOST record, and a number skipped)."""
    fs = FakeFlash()
    h = History(fs, ev_segments=4, op_segments=4, segment_records=8, queue_records=4)
    h.open()
    fs.set_full(True)
    for i in range(6):
        try:
            h.append(11, 100 + i)
        except Exception:
            pass
    assert h.lost == 2 and h.queued == 4
    fs.set_full(False)
    h.append(15, 200)
    got = [(r.seq, r.type) for r in h.records()]
    assert got == [(1, 11), (2, 11), (3, 11), (4, 11), (5, 16), (6, 15)]


def test_a_line_too_long_for_a_frame_is_cut_and_the_next_one_is_whole():
    from pump.link import MAX_FRAME, Lines

    lines = Lines()
    got = lines.feed(b"x" * 3000 + b"\nPL1 abc\r\r\n")
    assert len(got) == 2 and len(got[0]) == MAX_FRAME + 1 and got[1] == b"PL1 abc"
    assert lines.feed(b"PL1 - 0 {}\n") == [b"PL1 - 0 {}"]


def test_a_pump_switched_off_every_night_reads_about_a_day_at_each_start():
    """Every night 8 hours off: each restart's clock moves forward by the outage, and
    counting every move of the history would make each start read all of it (on a board,
    seconds under the watchdog). Only the moves inside the window count, so the reading
    does not grow with the history."""
    import pump.history as H

    decoded = [0]
    decode = H.decode

    def counting(buf):
        decoded[0] += 1
        return decode(buf)

    sim = Booted(settings=dict(TWO, max_daily_u=40))
    reads = []
    H.decode = counting
    try:
        for _ in range(6):
            sim.run_min(16 * 60)
            before = decoded[0]
            sim = restarted(sim, 8 * 60)
            reads.append(decoded[0] - before)
            sim.pump.ack()
            sim.pump.resume()
            assert not sim.pump.alarms.is_active("history_damaged")
    finally:
        H.decode = decode
    assert reads[-1] < 1.3 * reads[2], reads  # records decoded (their CRC checked) at each start
