"""The fake flash behaves like LittleFS where the core depends on it: durability only on
flush/close, atomic rename, block-rounded space, and every fault it can inject."""

import os
import pathlib
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakeflash import EIO, ENOENT, ENOSPC, FakeFlash, PowerCut

ROOT = pathlib.Path(__file__).resolve().parents[1]


def errno_of(excinfo):
    return excinfo.value.errno


def test_data_is_durable_only_after_flush_or_close():
    fs = FakeFlash()
    f = fs.open("a", "ab")
    assert fs.durable_bytes("a") == b""  # a new file exists at once, empty
    assert f.write(b"abc") == 3
    assert fs.durable_bytes("a") == b""
    f.flush()
    assert fs.durable_bytes("a") == b"abc"
    f.write(b"de")
    f.close()
    assert fs.durable_bytes("a") == b"abcde"
    with fs.open("a", "ab") as g:
        g.write(b"f")
    assert fs.durable_bytes("a") == b"abcdef" and fs.size("a") == 6


def test_wb_replaces_contents_only_when_flushed():
    fs = FakeFlash()
    fs.put("s", b"old")
    f = fs.open("s", "wb")
    f.write(b"new!")
    assert fs.durable_bytes("s") == b"old"
    fs.power_cut()
    assert fs.durable_bytes("s") == b"old"
    f = fs.open("s", "wb")
    f.write(b"new!")
    f.flush()
    f.write(b"+")
    f.close()
    assert fs.durable_bytes("s") == b"new!+"


def test_reading():
    fs = FakeFlash()
    fs.put("r", b"0123456789")
    f = fs.open("r", "rb")
    assert f.read(4) == b"0123" and f.read(4) == b"4567" and f.read() == b"89" and f.read(4) == b""
    f.close()
    with pytest.raises(OSError) as e:
        f.read(1)
    assert errno_of(e) == EIO


def test_missing_files_raise_enoent():
    fs = FakeFlash()
    for call in (
        lambda: fs.open("x", "rb"),
        lambda: fs.rename("x", "y"),
        lambda: fs.remove("x"),
        lambda: fs.size("x"),
        lambda: fs.durable_bytes("x"),
    ):
        with pytest.raises(OSError) as e:
            call()
        assert errno_of(e) == ENOENT == 2


def test_rename_is_atomic_and_replaces():
    fs = FakeFlash()
    fs.put("a", b"new")
    fs.put("b", b"old")
    fs.rename("a", "b")
    assert fs.listdir() == ["b"] and fs.durable_bytes("b") == b"new"


def test_listdir_order_is_deterministic_but_not_ascending():
    fs = FakeFlash()
    for name in ("b", "c", "a"):
        fs.put(name, b"")
    assert fs.listdir() == ["c", "b", "a"]


def test_text_modes_are_refused():
    with pytest.raises(ValueError):
        FakeFlash().open("a", "w")


def test_power_cut_loses_unflushed_data_and_kills_handles():
    fs = FakeFlash()
    f = fs.open("a", "ab")
    f.write(b"kept")
    f.flush()
    f.write(b"lost")
    fs.power_cut()
    assert fs.durable_bytes("a") == b"kept"
    for call in (lambda: f.write(b"x"), f.flush, lambda: f.read(1)):
        with pytest.raises(OSError) as e:
            call()
        assert errno_of(e) == EIO
    f.close()  # closing a dead handle is allowed and does nothing
    assert fs.durable_bytes("a") == b"kept" and fs.cuts == 1


@given(
    chunks=st.lists(st.tuples(st.binary(min_size=1, max_size=40), st.booleans()), max_size=12),
    tear=st.none() | st.integers(0, 10**6),
)
def test_a_cut_leaves_the_flushed_data_and_at_most_a_prefix_of_the_rest(chunks, tear):
    fs = FakeFlash()
    f = fs.open("a", "ab")
    flushed = pending = b""
    for data, flush in chunks:
        f.write(data)
        pending += data
        if flush:
            f.flush()
            flushed += pending
            pending = b""
    fs.power_cut(tear)
    keep = 0 if tear is None else tear % (len(pending) + 1)
    assert fs.durable_bytes("a") == flushed + pending[:keep]


def test_an_armed_cut_hits_the_chosen_operation():
    fs = FakeFlash()
    f = fs.open("a", "ab")
    fs.arm_cut(2, tear=3)
    f.write(b"abcdef")  # operation 1
    with pytest.raises(PowerCut):
        f.write(b"ghij")  # operation 2: its bytes join the unflushed data, 3 of them survive
    assert fs.durable_bytes("a") == b"abc"
    fs.put("t", b"1")
    fs.arm_cut(1)
    with pytest.raises(PowerCut):
        fs.rename("t", "u")  # cut before the rename: nothing moved
    assert sorted(fs.listdir()) == ["a", "t"]
    fs.arm_cut(2)
    fs.rename("t", "u")
    with pytest.raises(PowerCut):
        fs.remove("u")  # the rename before it stands, the remove never happened
    assert sorted(fs.listdir()) == ["a", "u"]
    fs.arm_cut(5)
    fs.disarm()
    for _ in range(10):
        fs.size("u")
        fs.open("u", "rb").close()


def test_blocks_are_counted_like_littlefs():
    fs = FakeFlash(capacity_bytes=4 * 4096, block=4096)
    assert fs.free_blocks() == 4
    fs.put("empty", b"")
    fs.put("one", b"x" * 4096)
    fs.put("two", b"x" * 4097)
    assert fs.free_blocks() == 0
    f = fs.open("one", "ab")
    with pytest.raises(OSError) as e:
        f.write(b"y")  # a fifth block would be needed
    assert errno_of(e) == ENOSPC == 28
    f.close()
    assert fs.durable_bytes("one") == b"x" * 4096
    with pytest.raises(OSError) as e:
        fs.open("new", "ab")
    assert errno_of(e) == ENOSPC and "new" not in fs.listdir()
    fs.remove("two")
    assert fs.free_blocks() == 2


def test_unflushed_data_takes_space_and_a_failed_write_writes_nothing():
    fs = FakeFlash(capacity_bytes=3 * 4096, block=4096)
    f = fs.open("a", "ab")
    f.write(b"x" * 8000)
    assert fs.free_blocks() == 1
    with pytest.raises(OSError) as e:
        f.write(b"y" * 5000)
    assert errno_of(e) == ENOSPC
    f.write(b"z" * 192)
    f.close()
    assert fs.durable_bytes("a") == b"x" * 8000 + b"z" * 192
    g = fs.open("a", "wb")  # a rewrite holds its new blocks beside the old ones until flushed
    g.write(b"w" * 4096)
    assert fs.free_blocks() == 0
    g.close()
    assert fs.free_blocks() == 2


def test_set_full_and_fail_next():
    fs = FakeFlash()
    fs.put("a", b"1")
    f = fs.open("a", "ab")
    fs.set_full(True)
    for call in (lambda: f.write(b"x"), lambda: fs.open("b", "wb")):
        with pytest.raises(OSError) as e:
            call()
        assert errno_of(e) == ENOSPC
    fs.rename("a", "c")  # renames and removes still work on a full flash
    fs.set_full(False)
    f.write(b"2")
    fs.fail_next(2)
    for call in (f.flush, lambda: fs.remove("c")):
        with pytest.raises(OSError) as e:
            call()
        assert errno_of(e) == EIO
    assert fs.listdir() == ["c"]
    fs.fail_next(1, ENOSPC)
    with pytest.raises(OSError) as e:
        fs.open("c", "rb")
    assert errno_of(e) == ENOSPC
    fs.open("c", "rb").close()


def test_a_failed_close_loses_the_unflushed_data():
    fs = FakeFlash()
    f = fs.open("a", "ab")
    f.write(b"x")
    fs.fail_next(1)
    with pytest.raises(OSError):
        f.close()
    assert fs.durable_bytes("a") == b"" and fs.free_blocks() == fs.total_blocks - 1


def test_corrupt_flips_one_durable_byte():
    fs = FakeFlash()
    fs.put("a", b"\x00\x0f")
    fs.corrupt("a", 1, 0x01)
    assert fs.durable_bytes("a") == b"\x00\x0e"


SCRIPT = """
from fakeflash import FakeFlash, PowerCut
fs = FakeFlash(capacity_bytes=3 * 64, block=64)
f = fs.open("a", "ab")
f.write(b"0123456789")
f.flush()
f.write(b"abcdefghij")
fs.power_cut(7)
print(fs.durable_bytes("a"), fs.free_blocks())
f = fs.open("b", "wb")
f.write(b"x" * 100)
try:
    f.write(b"y" * 100)
except OSError as e:
    print("full", e.errno)
f.close()
fs.arm_cut(2, 5)
g = fs.open("a", "ab")
try:
    g.write(b"klmnopq")
except PowerCut:
    print("cut", fs.durable_bytes("a"))
print(fs.listdir(), fs.size("b"), fs.ops, fs.cuts)
"""


def test_the_fake_runs_the_same_in_micropython():
    outs = []
    for cmd, var in (
        ([sys.executable, "-c", SCRIPT], "PYTHONPATH"),
        ([str(ROOT / ".venv" / "bin" / "micropython"), "-c", SCRIPT], "MICROPYPATH"),
    ):
        env = dict(os.environ, **{var: str(ROOT / "host_tests")})
        outs.append(
            subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, timeout=60).stdout
        )
    assert "cut b'0123456789abcdefgklmno'" in outs[0] and "full 28" in outs[0]
    assert outs[0] == outs[1]
