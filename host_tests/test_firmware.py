"""The whole firmware, as built for the Pico (build/pico/, .mpy for the RP2040) and the ESP32,
booted by its own firmware/main.py inside the MicroPython unix port with a 152 KB heap, on the
virtual rig behind stand-in machine, rp2, esp32 and time modules (host_tests/upy/,
tools/fwsim.py): the asyncio shell, the drivers (PIO or RMT stepper, HX711 bit by bit, SSD1306
over I2C, PWM buzzer, buttons on pin interrupts, watchdog) and the core together, for a
simulated day and more.

Each run is checked against the CPython simulator running the same scenario on the same
mechanism (tools/pumpsim.py), which ticks the core exactly when it asks: the board's shell
ticks it on its own schedule, through real drivers, so a step either way at a cancel or an
alarm is expected; more is a defect."""

import json
import os
import shutil
import subprocess
import sys

import fwsim
import pumpsim
import pytest

from pump.engine import BASAL, BOLUS, PRIME

STEP_MU = 3  # one motor step on the Pico rig: 1000 / 446 = 2.24 mU


def load(name):
    with open(fwsim.ROOT + "/scenarios/" + name) as f:
        return json.load(f)


def simulated(name, tmp_path):
    """The CPython simulator's trace of scenarios/<name> on the Pico's mechanism."""
    doc = fwsim.board_doc(load(name), "pico")
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    trace = tmp_path / (name + ".trace")
    pumpsim.run_cpython(str(path), str(trace))
    return json.loads(trace.read_text())


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("day")
    return fwsim.run(fwsim.ROOT + "/scenarios/day-mixed.json", "pico", "152K"), simulated(
        "day-mixed.json", tmp
    )


@pytest.fixture(scope="module")
def occlusion(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("occlusion")
    return fwsim.run(fwsim.ROOT + "/scenarios/occlusion.json", "pico", "152K"), simulated(
        "occlusion.json", tmp
    )


SKIP = ("operational", "bolus_progress")


def therapy_records(history):
    """Record types and codes, without the five-minute operational records and a bolus's
    progress records (a step more or less can cross a 0.5 U mark)."""
    return [(r[0], r[1]) for r in history if r[0] not in SKIP]


def sim_records(trace):
    return [(r["type"], r["code"]) for r in trace["history"] if r["type"] not in SKIP]


def test_a_day_of_the_whole_firmware_delivers_what_the_simulator_does(day):
    fw, sim = day
    assert fw["end"] == "end" and fw["end_ms"] == 24 * 3600000, fw["console"]
    row = sim["minutes"][-1]
    for kind in (BASAL, BOLUS, PRIME):
        assert abs(fw["delivered_mu"][kind] - row[1 + kind]) <= STEP_MU, kind
    assert fw["delivered_mu"][BASAL] > 23000 and fw["delivered_mu"][BOLUS] > 11000
    assert abs(fw["steps"] - row[4]) <= 1
    # every pulse the PIO counted reached the plunger, forward
    assert fw["plunger"] == [fw["steps"], 0]
    assert abs(fw["reservoir_mu"] - sim["final"]["reservoir_mu"]) <= STEP_MU
    assert fw["mode"] == sim["final"]["state"] == "running"
    assert fw["rejected"] == [] and sim["rejected"] == []
    assert therapy_records(fw["history"]) == sim_records(sim)
    assert abs(len(fw["history"]) - len(sim["history"])) <= 1


def test_the_esp32_build_delivers_the_same_day_through_its_rmt_and_pulse_counter(day):
    """The ESP32 rig has the Pico's mechanism; its driver sends pulses in RMT chunks fed by
    the delivery task and counts them with a PCNT unit."""
    _, sim = day
    fw = fwsim.run(fwsim.ROOT + "/scenarios/day-mixed.json", "esp32", "152K")
    assert fw["end"] == "end", fw["console"]
    row = sim["minutes"][-1]
    for kind in (BASAL, BOLUS, PRIME):
        assert abs(fw["delivered_mu"][kind] - row[1 + kind]) <= STEP_MU, kind
    assert fw["plunger"] == [fw["steps"], 0]
    assert therapy_records(fw["history"]) == sim_records(sim)
    assert fw["first_frame_matches"]


def test_the_shell_keeps_every_task_alive_and_the_watchdog_fed(day):
    fw, _ = day
    assert fw["watchdog_feeds"] >= 24 * 3600 - 10  # once a second, all day
    steps = fw["task_steps"]
    assert steps["delivery"] >= 24 * 3600 and steps["display"] >= 24 * 3600
    assert steps["buzzer"] > 0  # the day's alarms sounded (temp basal ended, suspend reminder)
    assert fw["tones"] > 0
    assert fw["hx711_reads"] > 1000  # the force sensor was read, bit by bit, while the motor moved
    assert all(us > 0 for task, us in fw["worst_us"].items() if task in ("delivery", "display", "watchdog"))


def test_the_home_screen_is_drawn_on_the_oled(day):
    fw, _ = day
    rows = fw["first_lines"]
    assert rows[0].startswith("00:00") and rows[1] == "RUNNING"
    assert rows[2] == "Basal 0.90 U/h" and rows[4] == "Res   250.0 U"
    # the frame the panel got over I2C is exactly those lines in framebuf's font
    assert fw["first_frame_matches"] and fw["first_frame_lit"] > 50
    assert fw["frames"] > 30


def test_the_firmware_runs_in_a_152k_heap_and_reports_what_it_used(day):
    fw, _ = day
    assert fw["heap_total"] <= 152 * 1024 + 1024
    assert fw["heap_before"] < fw["heap_started"] <= fw["peak_live"] <= fw["peak_alloc"] <= fw["heap_total"]


def test_an_occlusion_is_found_through_the_load_cell_and_acknowledged_on_the_ok_button(occlusion):
    fw, sim = occlusion
    assert fw["end"] == "end", fw["console"]
    alarms = [(r[1], r[4] & 0xFF) for r in fw["history"] if r[0] == "alarm"]
    raised_occlusion = [a for a in alarms if a == (0, 0)]
    acked_occlusion = [a for a in alarms if a == (0, 1)]
    assert len(raised_occlusion) == 2 and len(acked_occlusion) == 2
    assert therapy_records(fw["history"]) == sim_records(sim)
    # found a little later than the simulator's instant sensor: the HX711 converts 10 times a second
    row = sim["minutes"][-1]
    assert 0 <= fw["delivered_mu"][BOLUS] - row[1 + BOLUS] <= 150
    # the plunger backed off; the reservoir books the pulses the motor made back, not the
    # ones asked for, so the count still adds up
    fwd, back = fw["plunger"]
    assert back > 0
    made_mu = (fwd - back) * 1000 // 446
    assert abs((150000 - made_mu) - fw["reservoir_mu"]) <= STEP_MU
    assert abs(fw["reservoir_mu"] - sim["final"]["reservoir_mu"]) <= 300
    assert fw["mode"] == sim["final"]["state"] == "running"


def test_an_exception_in_a_task_stops_the_motor_is_recorded_and_the_watchdog_resets(tmp_path):
    doc = load("day-mixed.json")
    doc["hours"] = 2
    # a 3 U bolus takes 90 s; half a minute in, a key wakes the screen, whose first frame
    # meets the display bus failing in a way its driver does not expect
    doc["events"] = [{"at_min": 30, "do": "bolus", "units": 3.0}, {"at_min": 30.5, "do": "ack"}]
    path = tmp_path / "crash.json"
    path.write_text(json.dumps(doc))
    fw = fwsim.run(str(path), "pico", "152K", crash_at_min=30)
    assert fw["end"] == "watchdog", fw["console"]
    # the watchdog (5 s) reset the board within 5 s of the first frame after the key
    assert 30.5 * 60000 < fw["end_ms"] <= 30.5 * 60000 + 1000 + 5000 + 200
    last = fw["history"][-1]
    assert last[0] == "firmware_error" and last[1] == 3  # in the display task
    assert "RuntimeError" in fw["error_txt"] and "display" in fw["error_txt"]
    assert "RuntimeError" in fw["console"]
    # the motor stopped: the bolus was cut short, nothing moved after the crash
    assert 0 < fw["delivered_mu"][BOLUS] < 3000 - 50
    assert fw["plunger"][0] == fw["steps"]


def test_a_power_cut_scenario_is_refused_with_a_clear_error(tmp_path, capsys):
    path = tmp_path / "cut.json"
    path.write_text(json.dumps(load("power-cut.json")))
    with pytest.raises(SystemExit) as e:
        fwsim.run(str(path), "pico", "152K")
    assert "power_cut is not for a run of the board's firmware" in str(e.value)


def test_the_bench_self_test_passes_on_a_good_rig_and_names_what_fails():
    # the buttons check starts after the clock's 1.1 s and the motor's 2 x 1.1 s
    every = [(name, 5000 + i * 1000) for i, name in enumerate(("UP", "DOWN", "OK", "BACK"))]
    ok, out = fwsim.bench_tool("selftest", every)
    assert ok and out.rstrip().endswith("SELFTEST PASS"), out
    assert "446 of 446 steps forward, 446 back" in out and "test frame shown" in out
    ok, out = fwsim.bench_tool("selftest", [every[0], every[2]])
    assert not ok and out.rstrip().endswith("SELFTEST FAIL: buttons"), out
    assert "not pressed: DOWN BACK" in out


def test_the_bench_demo_primes_then_delivers_1_u_through_the_core():
    # OK at 30 s stops the 2 U prime (60 s at 2 U/min) early; OK at 40 s starts the bolus
    ok, out = fwsim.bench_tool("benchdemo", [("OK", 30000), ("OK", 40000)])
    assert ok, out
    assert "bolus 1.000 U: 446 steps counted by the motor's hardware = 10.000 uL" in out
    primed = int(out.split("primed ")[1].split()[0])
    assert 0 < primed < 892  # stopped before the whole 2 U


def test_the_firmware_starts_again_from_the_flash_it_left_suspended_and_asking_for_the_time(tmp_path):
    """A second run on the flash the first left is the board starting after a power cut: the
    restart is found from the history, the pump comes up suspended with the restart alarm,
    and, the RTC being 2 hours past the last record, with the time to confirm (S19, S21).
    The restart path loads more code than a first start: it too fits the 152 KB heap."""
    doc = load("day-mixed.json")
    doc["hours"] = 1
    doc["events"] = [{"at_min": 30, "do": "bolus", "units": 2.0}]
    first = tmp_path / "first.json"
    first.write_text(json.dumps(doc))
    doc["start"] = "2026-01-05T03:00"
    doc["events"] = []
    again = tmp_path / "again.json"
    again.write_text(json.dumps(doc))
    flash = str(tmp_path / "flash")
    one = fwsim.run(str(first), "pico", "152K", flash_dir=flash)
    assert one["end"] == "end" and one["delivered_mu"][BOLUS] == 2000
    two = fwsim.run(str(again), "pico", "152K", flash_dir=flash)
    assert two["end"] == "end", two["console"]
    assert two["mode"] == "suspended" and two["delivered_mu"] == [0, 0, 0]
    assert "unexpected_restart" in two["alarms"] and "clock_lost" in two["alarms"]
    starts = [r for r in two["history"] if r[0] == "power_on"]
    assert [r[1] for r in starts] == [0, 1]  # the second is a restart
    assert two["history"][: len(one["history"])] == one["history"]  # nothing lost


def test_presses_on_the_button_pins_give_the_simulators_screens_and_doses(tmp_path):
    """scenarios/buttons.json pressed on the firmware's button pins (each press held 150 ms,
    a long one 1 s): every snapshot taken while the screen is lit is on the panel exactly as
    its text says (the screen is dark 30 s after the last key unless an alarm waits), the
    screens of the menus and confirmations read as in the simulator, and the same doses are
    given. The
    heap is larger than the other runs': the harness holds this plan's 60 events (42 KB in
    all), and the firmware peaks at about 96 KB with the daily totals open."""
    fw = fwsim.run(fwsim.ROOT + "/scenarios/buttons.json", "pico", "160K")
    sim = simulated("buttons.json", tmp_path)
    assert fw["end"] == "end", fw["console"]
    assert [s[0] for s in fw["screens"]] == [s["name"] for s in sim["screens"]]
    for (name, rows, lit, on_panel), shot in zip(fw["screens"], sim["screens"], strict=True):
        assert on_panel or not lit, name
        if rows[0][:2].isdigit():
            continue  # the home screen: its clock and insulin on board move on
        assert lit, name
        if name in ("calculator", "daily-totals"):
            # their figures follow insulin on board and basal delivered, which a few seconds of
            # pressing (on the pins, 250 ms a press) move on; the lines are the same lines
            assert [r.split(" ")[0] for r in rows] == [r.split(" ")[0] for r in shot["rows"]], name
        else:
            assert rows == shot["rows"], name
    assert [s[0] for s in fw["screens"] if s[2]][:3] == ["menu", "bolus-kinds", "bolus-amount"]
    kinds = ("normal", "extended", "dual", "prime", "temp_basal")
    fw_doses = [(kinds[r[1]], r[2]) for r in fw["history"] if r[0] == "dose"]
    assert fw_doses == [(d["kind"], d["programmed_mu"]) for d in sim["doses"]]


def test_the_board_answers_the_link_on_its_usb_port(tmp_path):
    """Frames waiting on the firmware's stdin (a board's USB serial port) are answered on its
    stdout by the shell's link task: a hello gets a session nonce, an unauthenticated command
    is refused, a line too long is refused; the pump runs on."""
    frames = b'PL1 - 0 {"cmd": "hello"}\nPL1 - 0 {"cmd": "bolus", "mu": 5000}\n' + b"x" * 3000 + b"\n"
    doc = load("occlusion.json")
    doc["hours"] = 1
    doc["events"] = []
    path = tmp_path / "hour.json"
    path.write_text(json.dumps(doc))
    fw = fwsim.run(str(path), "pico", "152K", link_input=frames)
    assert fw["end"] == "end", fw["console"]
    replies = [
        json.loads(line.split(" ", 3)[3]) for line in fw["console"].splitlines() if line.startswith("PL1 ")
    ]
    assert len(replies) == 3
    assert replies[0]["ok"] and len(replies[0]["nonce"]) == 32 and replies[0]["paired"] is False
    assert replies[1]["error"] == "unauthenticated" and replies[2]["error"] == "too_long"
    assert fw["delivered_mu"][BOLUS] == 0 and fw["task_steps"]["link"] > 0


# ------------------------------------------------- the seams, on the board's own build


def seam_doc(start, hours, events, **settings):
    s = {
        "basal_profiles": {"day": [["00:00", 1.0]]},
        "active_profile": "day",
        "max_bolus_u": 6,
        "max_basal_u_h": 3,
        "max_hourly_u": 12,
        "max_daily_u": 30,
        "auto_off_h": 0,
    }
    s.update(settings)
    return {"start": start, "hours": hours, "settings": s, "events": events}


def run_on(tmp_path, name, doc, flash):
    """One life of the Pico build on `flash`. 160K: a restart onto damaged settings or history
    loads the restart's and the settings' code and keeps their messages, beside a harness of
    32 KB; at 152K it fits or not by a few hundred bytes (the length of the flash's path)."""
    path = tmp_path / (name + ".json")
    path.write_text(json.dumps(doc))
    fw = fwsim.run(str(path), "pico", "160K", flash_dir=flash)
    assert fw["end"] == "end", fw["console"]
    return fw


RESTARTED = [{"at_min": 1 + i * 0.15, "do": "ack"} for i in range(6)] + [{"at_min": 2, "do": "resume"}]


def test_the_board_keeps_the_hourly_limit_through_a_forward_clock_change_and_a_restart(tmp_path):
    """The Pico build: 11 U, the clock set an hour on over the link, the power off (the run
    ends), the board starting again with its RTC on the moved clock: the next 6 U are refused
    by the hourly limit, as in the simulator."""
    flash = str(tmp_path / "flash")
    first = seam_doc(
        "2026-05-04T08:00",
        0.35,
        [
            {"at_min": 10, "do": "bolus", "units": 6},
            {"at_min": 14, "do": "bolus", "units": 5},
            {"at_min": 20, "do": "set_time", "to": "2026-05-04T09:20", "source": "link"},
        ],
    )
    one = run_on(tmp_path, "one", first, flash)
    assert one["delivered_mu"][BOLUS] == 11000
    again = seam_doc("2026-05-04T09:22", 0.2, RESTARTED + [{"at_min": 3, "do": "bolus", "units": 6}])
    two = run_on(tmp_path, "two", again, flash)
    assert two["delivered_mu"][BOLUS] == 0 and two["mode"] == "running"
    assert [r[1] for r in two["rejected"]] == ["bolus"] and "hourly 12 U limit" in two["rejected"][0][2]


def test_the_board_starts_suspended_on_a_stored_settings_file_outside_its_rules(tmp_path):
    """A CRC-valid settings file holding a 50 U max bolus (the firmware's ceiling is 25 U),
    as another build or mpremote could leave it: the Pico build comes up suspended with
    BAD SETTINGS and delivers nothing."""
    from flashdamage import settings_file

    from pump import settings_store
    from rig import DirFlash

    flash = str(tmp_path / "flash")
    run_on(tmp_path, "one", seam_doc("2026-05-04T08:00", 0.2, []), flash)
    stored = settings_store.load(DirFlash(flash, fresh=False))
    settings_file(DirFlash(flash, fresh=False), stored, json.dumps({"max_bolus_mu": 50000}))
    doc = seam_doc("2026-05-04T08:14", 0.25, RESTARTED + [{"at_min": 3, "do": "bolus", "units": 5}])
    two = run_on(tmp_path, "two", doc, flash)
    assert two["mode"] == "suspended" and two["delivered_mu"] == [0, 0, 0]
    assert "settings_invalid" in two["alarms"]


def test_the_board_says_its_history_is_damaged_and_takes_the_worst(tmp_path):
    """Events erased from the flash while the power was off: the Pico build comes up with
    HISTORY DAMAGED, and books what the lost records could have held, so the bolus a whole
    history would have allowed is refused."""
    from flashdamage import damage

    from rig import DirFlash

    flash = str(tmp_path / "flash")
    first = seam_doc("2026-05-04T08:00", 0.5, [{"at_min": 5, "do": "bolus", "units": 6}])
    run_on(tmp_path, "one", first, flash)
    what = damage(DirFlash(flash, fresh=False), "history", "erase_segment", 0)
    assert "h_ev_" in what or "h_op_" in what
    # the newest records being gone, the RTC is far past the last one left: the time is asked
    # for, and OK on CONFIRM TIME walks its screens (hour, minute, year, month, day, confirm)
    oks = [{"at_min": 0.5 + i * 0.1, "do": "ack"} for i in range(12)]
    doc = seam_doc(
        "2026-05-04T08:31",
        0.25,
        oks + [{"at_min": 2, "do": "resume"}, {"at_min": 4, "do": "bolus", "units": 5}],
    )
    two = run_on(tmp_path, "two", doc, flash)
    history_damaged = 20  # its number in pump/alarms.py's table
    raised = [r[1] for r in two["history"] if r[0] == "alarm" and r[4] & 0xFF == 0]
    assert history_damaged in raised
    assert two["delivered_mu"][BOLUS] == 0 and "limit" in two["rejected"][-1][2], (
        two["alarms"],
        two["rejected"],
    )


CHECK = """
import sys
sys.path.insert(0, "%s")
from pump.boot import LATER_MODULES
from shell.modules import missing
print(",".join(missing(LATER_MODULES + ("asyncio.core", "pump.no_such_module"))))
print(",".join(k for k in sys.modules if k.startswith("pump.ui_")))
def main(argv):
    return 0
"""


def test_the_self_test_finds_modules_as_the_interpreter_does(tmp_path):
    """The start-up self test's module check, in the MicroPython unix port on the Pico build:
    modules as .mpy files on the filesystem, in a ROMFS image (as fwsim runs the firmware),
    and frozen into the interpreter (the port's own asyncio, standing for a board image with
    the firmware frozen, where os.stat finds nothing: before, every such module was called
    missing and the pump refused all therapy). Only the module that is nowhere is missing,
    and the check leaves none of the modules it had to import loaded."""
    import build

    lib = tmp_path / "pico"
    build.build("pico", str(lib))
    upy = os.path.join(os.path.dirname(sys.executable), "micropython")
    on_fs = subprocess.run(
        [upy, "-X", "heapsize=256K", "-c", CHECK % (lib / "lib")],
        capture_output=True,
        text=True,
        env=dict(os.environ, MICROPYPATH=".frozen"),
    )
    assert on_fs.stdout.splitlines() == ["pump.no_such_module", ""], on_fs.stdout + on_fs.stderr
    stage = tmp_path / "rom"
    shutil.copytree(lib / "lib", stage / "lib")
    (stage / "modcheck.py").write_text(CHECK % "/rom/lib")
    img = tmp_path / "rom.img"
    subprocess.run(
        [sys.executable, "-m", "mpremote", "romfs", "--no-mpy", "-o", str(img), "build", str(stage)],
        check=True,
        capture_output=True,
    )
    in_rom = subprocess.run(
        [sys.executable, os.path.join(fwsim.ROOT, "tools", "mprom.py"), str(img), "256K", "modcheck"],
        capture_output=True,
        text=True,
        env=dict(os.environ, MICROPYPATH=".frozen"),
    )
    assert in_rom.stdout.splitlines() == ["pump.no_such_module", ""], in_rom.stdout + in_rom.stderr
