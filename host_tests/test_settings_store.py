"""Settings on flash: the old file stays readable until the new one has replaced it whole,
damage is always detected, and nothing here ever falls back to defaults."""

import json
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sim as board
from fakeflash import ENOSPC, FakeFlash, PowerCut
from pump import settings_store as store
from pump.settings import Settings
from pump.settings_store import FILE, TMP, SettingsError, load, save
from pump.settings_user import rig_from_user, settings_from_user, settings_to_record

RIG = rig_from_user({}, board)


def record(**user):
    doc = {
        "basal_profiles": {
            "weekday": [["00:00", 0.8], ["06:30", 1.25], ["22:00", 0.9]],
            "Café": [["00:00", 0.5]],
        },
        "active_profile": "weekday",
        "icr_g_per_u": [["00:00", 12], ["11:00", 9.5]],
    }
    doc.update(user)
    return settings_to_record(settings_from_user(doc, RIG))


OLD = record()
NEW = record(max_bolus_u=7.5, active_profile="Café")


def test_a_record_round_trips_and_builds_the_same_settings():
    fs = FakeFlash()
    save(fs, OLD)
    assert load(fs) == OLD
    s = Settings.from_record(load(fs))
    assert list(s.profiles["weekday"]) == [0, 800, 390, 1250, 1320, 900] and s.active_profile == "weekday"
    assert fs.listdir() == [FILE]


def test_the_file_is_a_checked_header_and_canonical_json():
    fs = FakeFlash()
    save(fs, OLD)
    data = fs.durable_bytes(FILE)
    header, body = data.split(b"\n", 1)
    magic, version, crc, length = header.split(b" ")
    assert (magic, version, int(crc, 16), int(length)) == (b"PUMPSETTINGS", b"1", zlib.crc32(body), len(body))
    assert len(crc) == 8 and body == json.dumps(OLD, sort_keys=True, separators=(",", ":")).encode()
    assert b'"Caf\\u00e9"' in body  # text outside ASCII is escaped: the same bytes on every interpreter


def test_a_missing_file_is_reported_never_replaced():
    fs = FakeFlash()
    with pytest.raises(SettingsError) as e:
        load(fs)
    assert e.value.reason == "missing" and str(e.value) == "settings missing: no settings.json"
    assert fs.listdir() == []


def test_every_corrupted_byte_is_detected():
    fs = FakeFlash()
    save(fs, OLD)
    good = fs.durable_bytes(FILE)
    reasons = set()
    for offset in range(len(good)):
        for mask in (0x01, 0x20, 0x80, 0xFF):
            fs.put(FILE, good)
            fs.corrupt(FILE, offset, mask)
            with pytest.raises(SettingsError) as e:
                load(fs)
            assert e.value.reason in ("corrupt", "version")
            reasons.add(e.value.reason)
    assert reasons == {"corrupt", "version"}  # "version": the version digit itself was hit


@pytest.mark.parametrize("cut", ["short", "long"])
def test_a_file_of_the_wrong_length_is_corrupt(cut):
    fs = FakeFlash()
    save(fs, OLD)
    good = fs.durable_bytes(FILE)
    fs.put(FILE, good[:-1] if cut == "short" else good + b" ")
    with pytest.raises(SettingsError, match="corrupt: .* bytes of body"):
        load(fs)


@pytest.mark.parametrize(
    "body, detail",
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "not a settings record"),
        (b'{"a": 1.5}', "not a settings record"),
        (b'{"a": true}', "not a settings record"),
        (b'{"a": null}', "not a settings record"),
    ],
)
def test_a_body_with_a_good_crc_must_still_be_a_settings_record(body, detail):
    fs = FakeFlash()
    fs.put(FILE, b"PUMPSETTINGS 1 %08x %d\n" % (zlib.crc32(body), len(body)) + body)
    with pytest.raises(SettingsError) as e:
        load(fs)
    assert (e.value.reason, e.value.detail) == ("corrupt", detail)


def test_another_format_is_a_version_error():
    fs = FakeFlash()
    body = b"{}"
    fs.put(FILE, b"PUMPSETTINGS 2 %08x %d\n" % (zlib.crc32(body), len(body)) + body)
    with pytest.raises(SettingsError) as e:
        load(fs)
    assert e.value.reason == "version" and "format 2" in str(e.value)
    fewer = dict(OLD)
    del fewer["max_daily_mu"]
    save(fs, fewer)
    with pytest.raises(SettingsError, match="version: its fields"):
        load(fs)


@pytest.mark.parametrize(
    "header",
    [b"", b"PUMPSETTINGS", b"PUMPSETTINGS 1 zz 2", b"PUMPSETTINGS x 0 2", b"PUMPSETTINGS  1 0 2", b"X 1 0 2"],
)
def test_bad_headers_are_corrupt(header):
    fs = FakeFlash()
    fs.put(FILE, header + b"\n{}")
    with pytest.raises(SettingsError, match="^settings corrupt"):
        load(fs)


def test_a_huge_file_is_not_read():
    fs = FakeFlash()
    fs.put(FILE, b"PUMPSETTINGS 1 00000000 99999\n" + b" " * 99999)
    with pytest.raises(SettingsError, match="too long"):
        load(fs)


@pytest.mark.parametrize("value", [1.5, True, None, (1, 2), {1: 2}, "\U0001f600"])
def test_unstorable_values_are_refused_before_anything_is_written(value):
    fs = FakeFlash()
    save(fs, OLD)
    bad = dict(OLD, max_bolus_mu=value)
    with pytest.raises(ValueError):
        save(fs, bad)
    assert load(fs) == OLD and fs.listdir() == [FILE]


def save_ops():
    """How many counted flash operations one save takes."""
    fs = FakeFlash()
    save(fs, OLD)
    before = fs.ops
    save(fs, NEW)
    return fs.ops - before


def test_a_power_cut_at_every_operation_and_byte_leaves_old_or_new_whole():
    n_ops = save_ops()
    size = len(store.encode(NEW))
    seen = {"old": 0, "new": 0}
    for first in (True, False):
        for op in range(1, n_ops + 2):
            for tear in [None] + list(range(size + 1)):
                fs = FakeFlash()
                if not first:
                    save(fs, OLD)
                fs.arm_cut(op, tear)
                try:
                    save(fs, NEW)
                except PowerCut:
                    pass
                fs.disarm()
                renamed = op > n_ops  # the rename is the last operation of a save
                if renamed:
                    assert load(fs) == NEW
                    seen["new"] += 1
                elif first:
                    with pytest.raises(SettingsError, match="missing"):
                        load(fs)
                else:
                    assert load(fs) == OLD
                    seen["old"] += 1
                save(fs, OLD)  # the next save cleans up whatever the cut left
                assert load(fs) == OLD and fs.listdir() == [FILE]
                if tear is not None and op in (1, n_ops + 1):
                    break  # no data in flight at the first or after the last: one tear is enough
    assert seen["old"] > 2 * size and seen["new"] >= 2


def test_a_full_flash_leaves_the_old_file_untouched():
    fs = FakeFlash(capacity_bytes=3 * 4096)
    save(fs, OLD)
    fs.put("filler", b"x" * 4096)
    old_bytes = fs.durable_bytes(FILE)
    fs.put("filler2", b"")
    with pytest.raises(SettingsError) as e:
        save(fs, NEW)
    assert (e.value.reason, e.value.errno) == ("write failed", ENOSPC)
    assert fs.durable_bytes(FILE) == old_bytes and TMP not in fs.listdir() and load(fs) == OLD
    fs.remove("filler2")
    fs.set_full(True)
    with pytest.raises(SettingsError, match="write failed: flash error 28"):
        save(fs, NEW)
    assert load(fs) == OLD
    fs.set_full(False)
    save(fs, NEW)
    assert load(fs) == NEW


def test_a_flash_error_at_any_step_leaves_the_old_file():
    n_ops = save_ops()
    for k in range(n_ops):
        fs = FakeFlash()
        save(fs, OLD)
        fs.fail_next(1, after=k)
        with pytest.raises(SettingsError) as e:
            save(fs, NEW)
        assert e.value.reason == "write failed" and e.value.errno == 5
        assert load(fs) == OLD
        save(fs, NEW)
        assert load(fs) == NEW and fs.listdir() == [FILE]


def test_an_unreadable_file_is_reported():
    fs = FakeFlash()
    save(fs, OLD)
    fs.fail_next(1)
    with pytest.raises(SettingsError) as e:
        load(fs)
    assert e.value.reason == "corrupt" and e.value.errno == 5


def test_a_leftover_temp_file_is_ignored_and_removed_by_the_next_save():
    fs = FakeFlash()
    save(fs, OLD)
    fs.put(TMP, b"PUMPSETTINGS 1 half a file")
    assert load(fs) == OLD
    save(fs, NEW)
    assert fs.listdir() == [FILE] and load(fs) == NEW


BMP_TEXT = st.text(st.characters(max_codepoint=0xFFFF, blacklist_categories=("Cs",)), max_size=6)


@given(
    st.dictionaries(
        BMP_TEXT,
        st.recursive(
            st.integers(-(1 << 40), 1 << 40) | BMP_TEXT,
            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(BMP_TEXT, inner, max_size=3),
            max_leaves=12,
        ),
        max_size=5,
    )
)
def test_any_plain_data_encodes_to_json_that_reads_back_equal(data):
    header, body = store.encode(data).split(b"\n", 1)
    assert json.loads(body) == data and max(body) < 128
    assert header == b"PUMPSETTINGS 1 %08x %d" % (zlib.crc32(body), len(body))
