"""The ground rules: the core is hardware-free and integer-only; user input is parsed
exactly; the mechanism formula; the virtual rig's clock and motor."""

import ast
import pathlib

import pytest

import sim as board
from pump.compat import TICKS_PERIOD, ticks_diff
from pump.errors import Refused, check_int
from pump.mechanism import steps_per_unit
from pump.parse import parse_hhmm, parse_milli
from pump.units import fmt_milli, fmt_u
from rig import FakeStepper, VirtualClock

CORE = pathlib.Path(__file__).resolve().parents[1] / "firmware" / "pump"
FORBIDDEN = {
    "machine",
    "rp2",
    "esp32",
    "esp",
    "asyncio",
    "uasyncio",
    "time",
    "utime",
    "network",
    "bluetooth",
    "math",
    "random",
    "os",
    "sys",
    "select",
    "socket",
}
# compat.py is the one place for the interpreter's own business: it may use sys (to unload a
# module loaded for start-up alone), and nothing else forbidden
ALLOWED = {"compat.py": {"sys"}}


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_imports_no_hardware_time_or_os_module(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in ALLOWED.get(path.name, ()):
                continue
            assert top not in FORBIDDEN, "%s imports %s" % (path.name, name)


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_has_no_float_literal_and_no_true_division(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        assert not (isinstance(node, ast.Constant) and isinstance(node.value, float)), (
            "%s:%d float literal" % (path.name, node.lineno)
        )
        assert not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)), "%s:%d true division" % (
            path.name,
            node.lineno,
        )


def test_the_purity_check_would_catch_an_offender(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import time\nx = 1.5 / 2\n")
    with pytest.raises(AssertionError):
        test_core_imports_no_hardware_time_or_os_module(bad)
    with pytest.raises(AssertionError):
        test_core_has_no_float_literal_and_no_true_division(bad)


@pytest.mark.parametrize(
    "value, milli",
    [
        (0.9, 900),
        (1.3, 1300),
        (0.95, 950),
        ("0.95", 950),
        (12, 12000),
        (0.1, 100),
        (2.675, 2675),
        (0.0005, 0),
        (0.1234, 123),
        ("5.", 5000),
        (".5", 500),
        (4.65, 4650),
        (1e-7, 0),
    ],
)
def test_decimal_amounts_parse_exactly_and_round_down(value, milli):
    assert parse_milli(value, "units") == milli


@pytest.mark.parametrize(
    "value", [-1, -0.05, "abc", "1e3", None, True, [1], float("nan"), float("inf"), "1.2.3", ""]
)
def test_bad_amounts_are_refused_naming_the_field(value):
    with pytest.raises(Refused) as e:
        parse_milli(value, "units")
    assert e.value.field == "units"


def test_whole_numbers_and_times():
    assert check_int(5, "minutes", 0, 10) == 5
    for bad in (11, -1, 1.0, True, "5"):
        with pytest.raises(Refused, match="minutes"):
            check_int(bad, "minutes", 0, 10)
    assert parse_hhmm("17:30", "t") == 1050 and parse_hhmm("00:00", "t") == 0
    for bad in ("24:00", "7:30", "17:60", "ab:cd", 1730, "17-30"):
        with pytest.raises(Refused, match="^t: "):
            parse_hhmm(bad, "t")


def test_amounts_print_as_users_read_them():
    assert [fmt_milli(v) for v in (4500, 50, 3000, 0, 1687, -250)] == [
        "4.5",
        "0.05",
        "3",
        "0",
        "1.687",
        "-0.25",
    ]
    assert fmt_u(12000) == "12 U"


def test_steps_per_unit_from_the_mechanism():
    # the virtual rig's board file states the figure its geometry gives
    assert (
        steps_per_unit(board.LEAD_UM, board.FULL_STEPS, board.MICROSTEPS, board.BORE_UM)
        == board.STEPS_PER_UNIT
    )
    # a BD 1 mL barrel (4.78 mm) on the same screw: 10 / (0.5 x 17.95) x 200 = 222.9
    assert steps_per_unit(500, 200, 1, 4780) == 223
    # an M5 screw (0.8 mm a turn) at 1/16 microstepping on a 14.5 mm barrel: 242.2
    assert steps_per_unit(800, 200, 16, 14500) == 242


@pytest.mark.parametrize("name", ["pico", "esp32_devkit"])
def test_each_board_states_the_steps_per_unit_its_mechanism_gives(name):
    import importlib

    b = importlib.import_module(name)
    assert steps_per_unit(b.LEAD_UM, b.FULL_STEPS, b.MICROSTEPS, b.BORE_UM) == b.STEPS_PER_UNIT == 446
    assert 20 <= b.STEPS_PER_UNIT <= 1000  # the range the rig settings accept
    assert b.BOLUS_MU_PER_MIN * b.STEPS_PER_UNIT // 60000 < b.STEP_HZ  # a bolus keeps up


def test_ticks_arithmetic_wraps_like_the_boards():
    assert TICKS_PERIOD == 1 << 30
    assert ticks_diff(5, TICKS_PERIOD - 5) == 10
    assert ticks_diff(TICKS_PERIOD - 5, 5) == -10
    clock = VirtualClock(TICKS_PERIOD - 100)
    start = clock.ticks_ms()
    clock.advance(250)
    assert clock.ticks_ms() == 150 and ticks_diff(clock.ticks_ms(), start) == 250
    with pytest.raises(ValueError):
        VirtualClock(TICKS_PERIOD)
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_fake_stepper_counts_pulses_at_its_rate_and_can_stall_or_fault():
    clock = VirtualClock()
    m = FakeStepper(clock, 400)
    m.move(100)
    clock.advance(100)
    assert m.steps_done() == 40 and m.busy()
    with pytest.raises(RuntimeError):
        m.move(5)
    clock.advance(1000)
    assert m.steps_done() == 100 and not m.busy()
    m.move(100)
    clock.advance(50)
    m.stop()
    clock.advance(1000)
    assert m.steps_done() == 120
    m.move(50)
    clock.advance(25)
    m.stall()
    clock.advance(1000)
    assert m.steps_done() == 130
    m.unstall()
    m.set_fault(True)
    m.move(10) if not m.busy() else None
    clock.advance(1000)
    assert m.steps_done() == 130
    m.set_fault(False)
    m.move(10)
    clock.advance(1000)
    assert m.steps_done() == 140
