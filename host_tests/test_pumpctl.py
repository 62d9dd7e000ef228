"""pumpctl against the simulated pump, through the pseudo-terminal `make sim` shows: pairing from
the pump's screen, status, the history download equal to the pump's own records, the
Nightscout export's fields and types, settings, and remote doses refused while off and
accepted (announced, limited, logged) once switched on at the pump."""

import json
import re

import pumpctl
import pumplink
import pytest
from test_termsim import Terminal

from pump import history_query as Q
from pump.history import History
from rig import DirFlash

NIGHTSCOUT_TYPES = {
    "Temp Basal": {"duration": (int, float), "absolute": (int, float)},
    "Meal Bolus": {"insulin": (int, float), "carbs": (int, float)},
    "Correction Bolus": {"insulin": (int, float)},
    "Combo Bolus": {"insulin": (int, float), "duration": (int, float), "enteredinsulin": (int, float)},
    "Suspend Pump": {},
    "Resume Pump": {},
    "Site Change": {"notes": (str,)},
    "Insulin Change": {"notes": (str,)},
    "Note": {"notes": (str,)},
}


def menu_keys(t, *items):
    """Enter, then DOWN to each item in turn and Enter: items are the moves."""
    for downs in items:
        t.keys("s" * downs + "\r")


@pytest.fixture(params=["core", "firmware"])
def pump(tmp_path, request):
    """make sim: the core on the CPython rig, or (--firmware) the Pico build's whole firmware
    in the MicroPython unix port, whose link is the board's own transport (shell/link.py)."""
    flash = tmp_path / "flash"
    mode = ("--firmware", "pico") if request.param == "firmware" else ()
    t = Terminal("--speed", "60", "--flash", str(flash), *mode)
    try:
        screen = t.wait_for("|RUNNING         |", timeout=90)
        # the whole line (the path, then its state): a screen read part-way through its
        # drawing can end at "/dev/pts"
        screen = t.wait_until(lambda screen: re.search(r"Link: /dev/\S+  \(", screen))
        port = re.search(r"Link: (\S+)", screen).group(1)
        yield t, port, flash, tmp_path
    finally:
        t.close()


def test_pumpctl_pairs_reads_and_exports_through_the_simulators_pty(pump, capsys):
    t, port, flash, tmp = pump
    key_file = str(tmp / "key")
    # the pump's menu: Settings (9th item), then Pair link (14th)
    menu_keys(t, 0, 8, 13)
    screen = t.wait_for("|PAIR THE LINK   |")
    rows = re.findall(r"\|  ([A-Z2-9]{4}-[A-Z2-9]{4}) *\|", screen)
    assert len(rows) == 2
    assert pumpctl.main(["--port", port, "--key-file", key_file, "pair", "--code", "-".join(rows)]) == 0
    t.wait_for("|PAIRED          |")
    t.keys("\r")  # home
    # a bolus on the pump's own buttons, so the history holds one
    menu_keys(t, 0, 0, 0)
    t.keys("w" * 9 + "\r\r")  # 0.50 U, confirmed
    t.wait_for("bolus 0.50 U,", timeout=60)
    capsys.readouterr()
    assert pumpctl.main(["--port", port, "--key-file", key_file, "status"]) == 0
    out = capsys.readouterr().out
    assert "running, profile demo" in out and "remote doses off" in out
    assert pumpctl.main(["--port", port, "--key-file", key_file, "history", "--csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("time,seq,t_s,type")
    downloaded = [line.split(",") for line in lines[1:]]
    assert pumpctl.main(["--port", port, "--key-file", key_file, "totals", "--days", "2"]) == 0
    assert "bolus    0.50 U" in capsys.readouterr().out
    out_json = tmp / "ns.json"
    assert (
        pumpctl.main(["--port", port, "--key-file", key_file, "export", "--nightscout", str(out_json)]) == 0
    )
    treatments = json.loads(out_json.read_text())
    assert any(x["eventType"] == "Correction Bolus" and x["insulin"] == 0.5 for x in treatments)
    for x in treatments:
        assert x["eventType"] in NIGHTSCOUT_TYPES and isinstance(x["created_at"], str)
        assert (
            re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", x["created_at"]) and x["enteredBy"] == "pumpctl"
        )
        for field, types in NIGHTSCOUT_TYPES[x["eventType"]].items():
            assert isinstance(x[field], types), (x, field)
    settings_file = tmp / "settings.json"
    assert (
        pumpctl.main(
            ["--port", port, "--key-file", key_file, "settings", "get", "--file", str(settings_file)]
        )
        == 0
    )
    assert json.loads(settings_file.read_text())["active_profile"] == "demo"
    t.keys("q")
    t.proc.wait(10)
    # what was downloaded is what the pump wrote on its flash
    h = History(DirFlash(str(flash), fresh=False))
    h.open()
    mine = pumpctl.described([{f: getattr(r, f) for f in pumpctl.FIELDS} for r in h.records()])
    mine = [[str(r[f]) for f in ("time",) + pumpctl.FIELDS] for r in mine]
    assert downloaded == mine[: len(downloaded)] and len(downloaded) >= 3


def test_remote_doses_are_refused_until_switched_on_at_the_pump_then_announced_and_logged(pump):
    t, port, flash, tmp = pump
    menu_keys(t, 0, 8, 13)
    screen = t.wait_for("|PAIR THE LINK   |")
    code = "-".join(re.findall(r"\|  ([A-Z2-9]{4}-[A-Z2-9]{4}) *\|", screen))
    serial = pumpctl.Serial(port)
    key = pumplink.pair(serial, code)
    t.wait_for("|PAIRED          |")
    t.keys("\r")
    s = pumplink.Session(serial, key)
    s.hello()
    with pytest.raises(pumplink.LinkError) as e:
        s.call("bolus", mu=500)
    assert e.value.error == "remote_doses_off"
    menu_keys(t, 0, 8, 14)  # Settings > Link doses
    t.wait_for("|  ON            |")
    t.keys("\r")
    t.wait_for("remote doses on")
    with pytest.raises(pumplink.LinkError) as e:
        s.call("bolus", mu=25000)  # above max bolus: the pump's own limit
    assert e.value.error == "refused"
    s.call("bolus", mu=500)
    t.wait_for("|BOLUS 0.50 U    |")
    t.wait_for("bolus 0.50 U,", timeout=60)
    t.keys("q")
    t.proc.wait(10)
    h = History(DirFlash(str(flash), fresh=False))
    h.open()
    starts = [r for r in h.records() if r.type == Q.BOLUS_START]
    refused = [r for r in h.records() if r.type == Q.REFUSED]
    assert [(r.source, r.programmed_mu) for r in starts] == [(Q.SOURCE_LINK, 500)]
    assert [(r.source, r.programmed_mu) for r in refused] == [(Q.SOURCE_LINK, 25000)]
