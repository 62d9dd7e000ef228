"""The serial link (pump/link.py, tools/pumplink.py): HMAC-SHA256 by RFC 4231 on both
interpreters, pairing, sessions, forged, replayed, stale and unpaired frames, lockout, remote
doses off and on, settings, history pages, and fuzzing of the parser."""

import json
import os
import random
import subprocess

import pumplink
import pumpsim
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ui_setup import TWO, Booted

from fakeflash import FakeFlash
from pump import history_query as Q
from pump import settings_store
from pump.boot import start
from pump.hmac256 import hmac_sha256, same
from pump.link import MAX_FRAME, Link, LinkStore, key_from_code, tag
from pump.settings_user import settings_to_record

# RFC 4231, test cases 1-7 (case 5 truncated to 128 bits, as the RFC gives it)
RFC4231 = [
    ("0b" * 20, b"Hi There".hex(), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (
        b"Jefe".hex(),
        b"what do ya want for nothing?".hex(),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ),
    ("aa" * 20, "dd" * 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
    (
        bytes(range(1, 26)).hex(),
        "cd" * 50,
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
    ),
    ("0c" * 20, b"Test With Truncation".hex(), "a3b6167473100ee06e0c796c2955552b"),
    (
        "aa" * 131,
        b"Test Using Larger Than Block-Size Key - Hash Key First".hex(),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ),
    (
        "aa" * 131,
        b"This is a test using a larger than block-size key and a larger than block-size data. "
        b"The key needs to be hashed before being used by the HMAC algorithm.".hex(),
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ),
]


def test_hmac_sha256_gives_the_rfc_4231_vectors_on_cpython():
    for key, data, expected in RFC4231:
        assert hmac_sha256(bytes.fromhex(key), bytes.fromhex(data)).hex().startswith(expected)
    assert same(b"abc", b"abc") and not same(b"abc", b"abd") and not same(b"abc", b"ab")


def test_hmac_sha256_gives_the_rfc_4231_vectors_on_micropython():
    script = (
        "import sys, json\n"
        "from pump.hmac256 import hmac_sha256\n"
        "for key, data in json.loads(sys.stdin.read()):\n"
        "    print(hmac_sha256(bytes.fromhex(key), bytes.fromhex(data)).hex())\n"
    )
    proc = subprocess.run(
        [pumpsim.tool("micropython"), "-c", script],
        input=json.dumps([[k, d] for k, d, _ in RFC4231]),
        env=dict(os.environ, MICROPYPATH=pumpsim.compile_mpy()),
        capture_output=True,
        text=True,
        check=True,
    )
    lines = proc.stdout.split()
    assert len(lines) == len(RFC4231)
    for line, (_, _, expected) in zip(lines, RFC4231, strict=True):
        assert line.startswith(expected)


class Direct:
    """A transport straight into the pump's Link, with the simulated clock."""

    def __init__(self, sim, link):
        self.sim = sim
        self.link = link
        self.replies = []

    def write(self, data):
        for line in data.split(b"\n"):
            if line:
                self.replies.append(self.link.frame(line, self.sim.clock.ticks_ms()) + b"\n")

    def readline(self):
        return self.replies.pop(0) if self.replies else b""


def pump_with_link(**kw):
    sim = Booted(**kw)
    rng = random.Random(7)
    announced = []
    saved = []
    link = Link(
        sim.pump,
        LinkStore(sim.fs),
        lambda n: bytes(rng.getrandbits(8) for _ in range(n)),
        save_settings=lambda rec: (settings_store.save(sim.fs, rec), saved.append(rec)),
        announce=announced.append,
    )
    return sim, link, Direct(sim, link), announced


def paired(**kw):
    sim, link, t, announced = pump_with_link(**kw)
    code = link.open_pairing(sim.clock.ticks_ms())
    key = pumplink.pair(t, code)
    s = pumplink.Session(t, key)
    s.hello()
    return sim, link, t, s, announced


def test_pairing_takes_the_code_the_pump_shows_and_only_while_its_window_is_open():
    sim, link, t, _ = pump_with_link()
    code = link.open_pairing(sim.clock.ticks_ms())
    assert len(code) == 19 and code.count("-") == 3
    with pytest.raises(pumplink.LinkError) as e:
        pumplink.pair(t, "AAAA-BBBB-CCCC-DDDD")  # a guess
    assert e.value.error == "bad_tag"
    key = pumplink.pair(t, code.lower())  # typed in lower case: the same code
    assert link.store.key == key and LinkStore(sim.fs).key == key  # kept on the flash
    assert link.pairing_until is None  # the window closes once paired
    # a second pairing needs the window opened again on the pump
    with pytest.raises(pumplink.LinkError) as e:
        pumplink.pair(t, code)
    assert e.value.error in ("bad_tag", "not_pairing", "locked")
    sim2, link2, t2, _ = pump_with_link()
    code2 = link2.open_pairing(sim2.clock.ticks_ms())
    sim2.run_min(2.1)  # the window shuts after 2 minutes
    with pytest.raises(pumplink.LinkError) as e:
        pumplink.pair(t2, code2)
    assert e.value.error == "unpaired" and link2.store.key is None


def test_status_comes_back_verified_and_matches_the_pump():
    sim, link, t, s, _ = paired()
    sim.run_min(30)
    st_ = s.call("status")
    p = sim.pump
    assert (
        st_["mode"] == "running" and st_["reservoir_mu"] == p.reservoir_mu() and st_["iob_mu"] == p.iob_mu()
    )
    assert st_["basal_mu_h"] == 1000 and st_["profile"] == "work" and st_["remote_doses"] is False


def test_forged_replayed_stale_and_unpaired_frames_are_refused_and_change_nothing():
    sim, link, t, s, _ = paired()
    body = b'{"cmd": "status"}'
    good = tag(link.store.key, s.nonce, b"H", 5, body)
    forged = bytearray(good)
    forged[0] ^= 1
    replies = []
    for frame in (
        b"PL1 " + bytes(forged).hex().encode() + b" 5 " + body,  # forged tag
        b"PL1 " + tag(b"k" * 32, s.nonce, b"H", 5, body).hex().encode() + b" 5 " + body,  # wrong key
        b"PL1 - 5 " + body,  # no tag
    ):
        t.write(frame + b"\n")
        replies.append(json.loads(t.readline().split(b" ", 3)[3]))
    assert [r["error"] for r in replies] == ["bad_tag", "bad_tag", "unauthenticated"]
    # three failures: locked out, even for a good frame
    t.write(b"PL1 " + good.hex().encode() + b" 5 " + body + b"\n")
    locked = json.loads(t.readline().split(b" ", 3)[3])
    assert locked["error"] == "locked" and locked["retry_s"] == 2
    sim.run_min(0.05)  # 3 s later the lock is over
    t.write(b"PL1 " + good.hex().encode() + b" 5 " + body + b"\n")
    assert json.loads(t.readline().split(b" ", 3)[3])["ok"]
    # the same frame again is a replay, and a lower counter is stale
    for counter in (5, 4):
        frame = b"PL1 " + tag(link.store.key, s.nonce, b"H", counter, body).hex().encode()
        t.write(frame + b" " + str(counter).encode() + b" " + body + b"\n")
        assert json.loads(t.readline().split(b" ", 3)[3])["error"] == "replay"
    # an old session's frame does not verify in a new session
    s.hello()
    t.write(b"PL1 " + good.hex().encode() + b" 6 " + body + b"\n")
    assert json.loads(t.readline().split(b" ", 3)[3])["error"] in ("bad_tag", "locked")
    # a pump that was never paired refuses every authenticated command
    sim2, link2, t2, _ = pump_with_link()
    with pytest.raises(pumplink.LinkError) as e:
        pumplink.Session(t2, key_from_code("AAAA-BBBB-CCCC-DDDD")).call("status")
    assert e.value.error == "unpaired"
    assert sim.pump.current_bolus is None and sim2.pump.current_bolus is None


def test_the_lockout_grows_with_each_further_failure():
    sim, link, t, s, _ = paired()
    waits = []
    for _ in range(6):
        t.write(b"PL1 " + b"00" * 32 + b' 99 {"cmd": "status"}\n')
        t.readline()
        t.write(b"PL1 - 0 {}\n")
        reply = json.loads(t.readline().split(b" ", 3)[3])
        if reply["error"] == "locked":
            waits.append(reply["retry_s"])
            sim.run_min(reply["retry_s"] / 60 + 0.001)
    assert waits == sorted(waits) and waits[-1] > waits[0] >= 2


def test_remote_doses_are_refused_while_off_and_announced_limited_and_logged_when_on():
    sim, link, t, s, announced = paired()
    with pytest.raises(pumplink.LinkError) as e:
        s.call("bolus", mu=1000)
    assert e.value.error == "remote_doses_off" and sim.pump.current_bolus is None
    link.store.remote_doses = True  # switched on at the pump (its settings screen)
    link.store.save()
    s.call("bolus", mu=1000)
    assert announced == ["BOLUS 1.00 U"]
    sim.run_min(2)
    assert sim.bolus_mu == 1000
    with pytest.raises(pumplink.LinkError) as e:
        s.call("bolus", mu=12000)  # above max bolus (10 U): the pump's own limit
    assert e.value.error == "refused" and "max bolus" in e.value.detail
    records = list(sim.pump.history().records())
    starts = [r for r in records if r.type == Q.BOLUS_START]
    assert starts and starts[-1].source == Q.SOURCE_LINK
    refused = [r for r in records if r.type == Q.REFUSED]
    assert refused and refused[-1].source == Q.SOURCE_LINK and refused[-1].programmed_mu == 12000
    s.call("suspend")
    assert sim.pump.mode == "suspended" and announced[-1] == "SUSPEND"


def test_settings_come_and_go_but_the_hard_limits_change_only_on_the_pump():
    sim, link, t, s, _ = paired()
    got = s.call("settings_get")
    assert got["settings"] == settings_to_record(sim.pump.settings)
    user = dict(TWO, max_bolus_u=12)
    with pytest.raises(pumplink.LinkError) as e:
        s.call("settings_set", settings=user)
    assert e.value.error == "limits_on_pump"
    user = dict(TWO, basal_profiles={"work": [["00:00", 1.2]], "rest": [["00:00", 0.8]]})
    with pytest.raises(pumplink.LinkError) as e:
        s.call("settings_set", settings=user)
    assert e.value.error == "refused" and "suspend" in e.value.detail  # only while suspended
    sim.pump.suspend()
    s.call("settings_set", settings=user)
    assert list(sim.pump.settings.profiles["work"]) == [0, 1200]
    assert settings_store.load(sim.fs)["profiles"]["work"] == [0, 1200]


def test_history_pages_give_back_exactly_the_pumps_records():
    sim, link, t, s, _ = paired()
    sim.run_min(600)  # operational records every 5 minutes
    got = []
    since = after = 0
    while True:
        page = s.call("history", since=since, after_seq=after, count=20)
        assert len(page["records"]) <= 20
        got += page["records"]
        if not page["more"]:
            break
        since, after = got[-1][1], got[-1][0]
    mine = [
        [
            r.seq,
            r.t_s,
            r.type,
            r.source,
            r.mode,
            r.code,
            r.programmed_mu,
            r.delivered_mu,
            r.reservoir_mu,
            r.aux,
        ]
        for r in sim.pump.history().records()
    ]
    assert got == mine and len(got) > 100
    # a range: the second hour's records only
    t0 = mine[0][1]
    page = s.call("history", since=t0 + 3600, until=t0 + 7200, count=20)
    assert page["records"] == [r for r in mine if t0 + 3600 <= r[1] < t0 + 7200][:20] and page["records"]


def test_bad_frames_get_an_error_and_change_nothing():
    sim, link, t, s, _ = paired()
    for frame in (
        b"",
        b"hello",
        b"PL2 - 0 {}",
        b"PL1 - x {}",
        b"PL1 - 0 [1]",
        b"PL1 - 0 {\xff}",
        b"x" * 3000,
    ):
        t.write(frame + b"\n")
        reply = t.readline()
        if frame:
            assert reply.startswith(b"PL1 - 0 ") and not json.loads(reply.split(b" ", 3)[3])["ok"]
    t.write(b"PL1 - 0 " + b" " * MAX_FRAME + b"\n")
    assert json.loads(t.readline().split(b" ", 3)[3])["error"] == "too_long"


def test_a_burst_of_frames_is_cut_at_twenty_and_then_ten_a_second():
    sim, link, t, s, _ = paired()
    sim.run_min(0.1)
    errors = []
    for _ in range(40):
        t.write(b'PL1 - 0 {"cmd": "hello"}\n')
        errors.append(json.loads(t.readline().split(b" ", 3)[3]).get("error"))
    assert errors.count("busy") == 20
    sim.run_min(1 / 60)  # a second: ten more
    for _ in range(12):
        t.write(b'PL1 - 0 {"cmd": "hello"}\n')
        errors.append(json.loads(t.readline().split(b" ", 3)[3]).get("error"))
    assert errors[40:].count("busy") == 2


def test_a_link_store_that_does_not_check_out_leaves_the_pump_unpaired():
    fs = FakeFlash()
    store = LinkStore(fs)
    store.key = b"k" * 32
    store.remote_doses = True
    store.save()
    assert LinkStore(fs).key == b"k" * 32 and LinkStore(fs).remote_doses
    with fs.open("link.json", "rb") as f:
        doc = json.loads(f.read())
    doc["remote"] = True
    doc["key"] = "00" * 32
    with fs.open("link.json", "wb") as f:
        f.write(json.dumps(doc).encode())
    again = LinkStore(fs)
    assert again.key is None and again.remote_doses is False


FRAMES = st.one_of(
    st.binary(max_size=700),
    st.builds(
        lambda t, c, body: b"PL1 " + t + b" " + c + b" " + body,
        st.sampled_from([b"-", b"00" * 32, b"zz", b""]),
        st.sampled_from([b"0", b"1", b"-1", b"99999999999999999999", b"x"]),
        st.one_of(
            st.binary(max_size=200),
            st.sampled_from(
                [b'{"cmd": "bolus", "mu": 5000}', b'{"cmd": "pair"}', b'{"cmd": "hello"}', b'{"cmd": 1}']
            ),
        ),
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(FRAMES, max_size=30))
def test_fuzzed_frames_never_raise_never_dose_and_always_get_a_reply(frames):
    sim, link, t, s, _ = paired()
    link.store.remote_doses = True  # even with remote doses on, no forged frame doses
    for frame in frames:
        reply = link.frame(frame, sim.clock.ticks_ms())
        assert reply.startswith(b"PL1 ") and b"\n" not in reply
    assert sim.pump.current_bolus is None and sim.bolus_mu == 0 and sim.pump.temp is None


def test_the_pump_started_from_its_flash_keeps_its_pairing():
    sim, link, t, s, _ = paired()
    again = start(sim.fs, sim.rig, sim.hw, sim._emit, sim.clock.ticks_ms(), 9500, 0, 0)
    store = LinkStore(sim.fs)
    assert store.key == link.store.key and again.settings.active_profile == "work"


def test_the_link_parses_verifies_and_pairs_inside_micropython():
    """The pump's side on the real interpreter: hello, a refused unauthenticated command, a
    forged pairing, then the pairing with the code's key; the host side here computes tags."""
    script = (
        "import sys, json\n"
        "from fakeflash import FakeFlash\n"
        "from pump.link import Link, LinkStore\n"
        "n = [0]\n"
        "def rnd(k):\n"
        "    n[0] += 1\n"
        "    return bytes([(n[0] * 37 + i) & 255 for i in range(k)])\n"
        "link = Link(None, LinkStore(FakeFlash()), rnd)\n"
        "print(link.open_pairing(0))\n"
        "for line in sys.stdin:\n"
        "    print(link.frame(line.strip().encode(), 1000).decode())\n"
        "print(link.store.key.hex() if link.store.key else '-')\n"
    )
    proc = subprocess.Popen(
        [pumpsim.tool("micropython"), "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=dict(os.environ, MICROPYPATH=pumpsim.compile_mpy()),
        text=True,
    )
    code = proc.stdout.readline().strip()
    proc.stdin.write('PL1 - 0 {"cmd": "hello"}\n')
    proc.stdin.flush()
    hello = json.loads(proc.stdout.readline().split(" ", 3)[3])
    nonce = bytes.fromhex(hello["nonce"])
    key = key_from_code(code)
    body = b'{"cmd": "pair"}'
    lines = [
        'PL1 - 0 {"cmd": "status"}',
        "PL1 " + tag(b"x" * 32, nonce, b"H", 1, body).hex() + " 1 " + body.decode(),
        "PL1 " + tag(key, nonce, b"H", 2, body).hex() + " 2 " + body.decode(),
    ]
    out, _ = proc.communicate("\n".join(lines) + "\n", timeout=60)
    replies = out.split("\n")
    assert json.loads(replies[0].split(" ", 3)[3])["error"] == "unauthenticated"
    assert json.loads(replies[1].split(" ", 3)[3])["error"] == "bad_tag"
    signed = replies[2].split(" ", 3)
    assert json.loads(signed[3]) == {"ok": True} and signed[2] == "1"
    assert same(bytes.fromhex(signed[1]), tag(key, nonce, b"P", 1, signed[3].encode()))
    assert replies[3] == key.hex()


def test_the_pairing_screen_shows_the_code_and_remote_doses_are_switched_on_at_the_pump():
    from test_ui import menu_to

    sim, link, t, _ = pump_with_link()
    you = sim.person()
    you.ui.link = link
    menu_to(you, "Settings")
    you.press("OK")
    menu_to(you, "Pair link", open_menu=False)
    you.press("OK")
    rows = you.screen()
    assert rows[0] == "PAIR THE LINK" and rows[6] == "120 s left"
    code = rows[3].strip() + "-" + rows[4].strip()
    sim.run_min(1.5)  # the person types the code: no key on the pump for 90 s
    you.ui.tick(sim.clock.ticks_ms())
    assert you.screen()[0] == "PAIR THE LINK" and you.screen()[6] == "30 s left"
    key = pumplink.pair(t, code)
    assert you.screen()[0] == "PAIRED" and link.store.key == key
    you.press("OK")
    assert not you.ui.stack
    menu_to(you, "Settings")
    you.press("OK")
    menu_to(you, "Link doses", open_menu=False)
    you.press("OK")
    assert you.screen()[:4] == ["Doses by link", "(bolus, temp,", "suspend, resume)", "  ON"]
    you.press("OK")
    assert link.store.remote_doses and LinkStore(sim.fs).remote_doses
    s = pumplink.Session(t, key)
    s.call("bolus", mu=500)
    assert sim.pump.current_bolus is not None


def test_the_export_and_the_report_cover_what_the_pump_did(tmp_path, capsys):
    import pumpctl
    from PIL import Image

    sim, link, t, s, _ = paired()
    key_file = tmp_path / "key"
    pumpctl.write_key(str(key_file), link.store.key)
    p = sim.pump
    p.calc(45, 150, True)  # a meal bolus through the calculator: 45 g
    sim.run_min(10)
    p.temp_basal(60, 150)
    sim.run_min(70)
    p.bolus(2000, 50, 60)  # a dual bolus
    sim.run_min(70)
    sim.hw.line.block()  # an occlusion: an alarm
    sim.run_min(60)
    p.ack()
    sim.hw.line.clear()
    sim.run_min(2)
    p.ack()
    out = tmp_path / "ns.json"
    args = ["--key-file", str(key_file)]
    assert pumpctl.main(args + ["export", "--nightscout", str(out)], transport=t) == 0
    kinds = {}
    for x in json.loads(out.read_text()):
        kinds.setdefault(x["eventType"], []).append(x)
    meal = kinds["Meal Bolus"][0]
    assert meal["carbs"] == 45 and meal["insulin"] > 0
    assert kinds["Temp Basal"][0]["percent"] == 50 and kinds["Temp Basal"][0]["duration"] == 60
    assert kinds["Combo Bolus"][0]["insulin"] == 2.0 and kinds["Combo Bolus"][0]["duration"] == 60
    assert any("OCCLUSION" in n["notes"] for n in kinds["Note"])
    assert pumpctl.main(args + ["report", str(tmp_path / "report")], transport=t) == 0
    for name in ("timeline.png", "daily-totals.png", "alarms.png"):
        img = Image.open(tmp_path / "report" / name)
        assert img.size[0] >= 600 and len(set(img.convert("L").getdata())) > 2
    capsys.readouterr()
    assert pumpctl.main(args + ["history", "--json"], transport=t) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert any(r["type"] == "dose" and r["source"] == "buttons" for r in records)


def test_settings_written_by_settings_get_are_taken_back_by_settings_set(tmp_path):
    import pumpctl

    sim, link, t, s, _ = paired()
    key_file = tmp_path / "key"
    pumpctl.write_key(str(key_file), link.store.key)
    args = ["--key-file", str(key_file), "settings"]
    path = tmp_path / "settings.json"
    assert pumpctl.main(args + ["get", "--file", str(path)], transport=t) == 0
    user = json.loads(path.read_text())
    assert user["basal_profiles"]["work"] == [["00:00", "1.000"], ["12:00", "0.500"]]
    user["basal_profiles"]["work"][1][1] = "0.650"
    path.write_text(json.dumps(user))
    sim.pump.suspend()
    assert pumpctl.main(args + ["set", "--file", str(path)], transport=t) == 0
    assert list(sim.pump.settings.profiles["work"]) == [0, 1000, 720, 650]
    before = settings_to_record(sim.pump.settings)
    user["max_daily_u"] = "90"  # a hard limit: only on the pump
    path.write_text(json.dumps(user))
    assert pumpctl.main(args + ["set", "--file", str(path)], transport=t) == 2
    assert settings_to_record(sim.pump.settings) == before


def test_a_settings_document_too_big_for_a_frame_goes_in_parts():
    sim, link, t, s, _ = paired()
    day = [["%02d:00" % h, "%d.%02d" % (1, h)] for h in range(24)]
    user = dict(TWO, basal_profiles={"p%d" % i: day for i in range(6)}, active_profile="p0")
    assert len(json.dumps(user, separators=(",", ":"))) > 2048
    sim.pump.suspend()
    pumplink.send_settings(s, user)
    assert len(sim.pump.settings.profiles) == 6 and sim.pump.settings.profiles["p5"][47] == 1230
    assert settings_store.load(sim.fs)["active_profile"] == "p0"
    # parts out of order, or more than the pump keeps, are refused and nothing changes
    with pytest.raises(pumplink.LinkError) as e:
        s.call("settings_part", i=1, text="{")
    assert e.value.error == "bad_args"
    refused = []
    for i in range(5):
        try:
            s.call("settings_part", i=i, text="x" * 1800)
        except pumplink.LinkError as err:
            refused.append((i, err.error))
    assert refused == [(4, "too_long")]
    with pytest.raises(pumplink.LinkError):
        s.call("settings_set", parts=5)
    assert len(sim.pump.settings.profiles) == 6


def test_pumpctl_says_clearly_what_is_wrong_with_its_input(tmp_path):
    import pumpctl

    sim, link, t, s, _ = paired()
    key_file = tmp_path / "key"
    with pytest.raises(SystemExit, match="pair first"):
        pumpctl.main(["--key-file", str(key_file), "status"], transport=t)
    pumpctl.write_key(str(key_file), link.store.key)
    assert oct(os.stat(key_file).st_mode & 0o777) == "0o600"
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    before = settings_to_record(sim.pump.settings)
    with pytest.raises(SystemExit, match="bad.json"):
        pumpctl.main(["--key-file", str(key_file), "settings", "set", "--file", str(bad)], transport=t)
    bad.write_text(json.dumps(dict(TWO, max_bolus_u="lots")))
    sim.pump.suspend()
    assert (
        pumpctl.main(["--key-file", str(key_file), "settings", "set", "--file", str(bad)], transport=t) == 2
    )
    assert settings_to_record(sim.pump.settings) == before
    with pytest.raises(SystemExit, match="--since"):
        pumpctl.main(["--key-file", str(key_file), "history", "--since", "yesterday"], transport=t)
