import math
from array import array

import pytest

from pump import iob
from pump.iob import IOB_ONE, InsulinOnBoard, iob_table

DIAS = range(300, 481, 30)
PEAKS = range(35, 121, 5)


def float_fraction(t, td, tp):
    """The oref0 exponential curve, straight from the published formula, in floats."""
    if t >= td:
        return 0.0
    tau = tp * (1 - tp / td) / (1 - 2 * tp / td)
    a = 2 * tau / td
    s = 1 / (1 - a + (1 + a) * math.exp(-td / tau))
    return 1 - s * (1 - a) * ((t * t / (tau * td * (1 - a)) - t / tau - 1) * math.exp(-t / tau) + 1)


@pytest.mark.parametrize("peak_min, at_60_u, at_120_u", [(75, 0.764, 0.411), (55, 0.668, 0.288)])
def test_reference_values_for_one_unit(peak_min, at_60_u, at_120_u):
    board = InsulinOnBoard(300, peak_min)
    board.add(0, 1000)
    assert abs(board.iob_mu(60) - round(at_60_u * 1000)) <= 1
    assert abs(board.iob_mu(120) - round(at_120_u * 1000)) <= 1
    table = iob_table(300, peak_min)
    assert abs(table[60] / IOB_ONE - at_60_u) < 0.0006
    assert abs(table[120] / IOB_ONE - at_120_u) < 0.0006


def test_known_table_entries_are_pinned():
    # Bit-for-bit values; MicroPython must produce exactly these too.
    t75 = iob_table(300, 75)
    t55 = iob_table(300, 55)
    assert (t75[60], t75[120]) == (25035, 13454)
    assert (t55[60], t55[120]) == (21887, 9446)


@pytest.mark.parametrize("dia_min", DIAS)
@pytest.mark.parametrize("peak_min", PEAKS)
def test_table_matches_float_reference(dia_min, peak_min):
    table = iob_table(dia_min, peak_min)
    assert isinstance(table, array) and table.typecode == "H"
    assert len(table) == dia_min + 1
    assert table[0] == IOB_ONE
    assert table[dia_min] == 0
    for t in range(dia_min + 1):
        want = float_fraction(t, dia_min, peak_min) * IOB_ONE
        assert abs(table[t] - want) <= 1, (t, table[t], want)
        if t:
            assert table[t] <= table[t - 1], t


def test_table_is_deterministic():
    assert iob_table(360, 65) == iob_table(360, 65)


@pytest.mark.parametrize(
    "dia_min, peak_min, field",
    [
        (299, 75, "dia_min"),
        (481, 75, "dia_min"),
        (300, 34, "peak_min"),
        (300, 121, "peak_min"),
        (360.0, 75, "dia_min"),
        ("300", 75, "dia_min"),
        (True, 75, "dia_min"),
        (300, None, "peak_min"),
    ],
)
def test_bad_settings_refused_with_field_name(dia_min, peak_min, field):
    with pytest.raises(ValueError, match="^" + field + ": "):
        iob_table(dia_min, peak_min)
    with pytest.raises(ValueError, match="^" + field + ": "):
        InsulinOnBoard(dia_min, peak_min)


def test_range_message_names_value_and_range():
    with pytest.raises(ValueError, match=r"^peak_min: 30 is outside 35\.\.120$"):
        iob_table(300, 30)


def test_decays_to_zero_at_dia():
    board = InsulinOnBoard(300, 75)
    board.add(10, 5000)
    assert board.iob_mu(10) == 5000
    assert board.iob_mu(10 + 299) >= 0
    assert board.iob_mu(10 + 300) == 0
    assert board.iob_mu(10 + 10000) == 0
    previous = 5000
    for minute in range(10, 311):
        now = board.iob_mu(minute)
        assert now <= previous
        previous = now


def test_empty_board_has_nothing_on_board():
    board = InsulinOnBoard(300, 75)
    assert board.iob_mu(0) == 0
    assert board.iob_mu(12345) == 0


def test_doses_in_the_same_minute_add_up():
    board = InsulinOnBoard(300, 75)
    board.add(5, 400)
    board.add(5, 600)
    board.add(65, 0)
    assert board.iob_mu(65) == 764


def test_sum_is_floored_once_not_per_bucket():
    board = InsulinOnBoard(300, 75)
    table = iob_table(300, 75)
    for minute in range(200):
        board.add(minute, 17)
    exact = sum(17 * table[199 - m] for m in range(200))
    assert board.iob_mu(199) == exact // IOB_ONE


def test_minutes_going_backwards_refused():
    board = InsulinOnBoard(300, 75)
    board.add(100, 500)
    with pytest.raises(ValueError, match=r"^minute: 99 is before the last recorded minute 100$"):
        board.add(99, 500)
    with pytest.raises(ValueError, match="^minute: "):
        board.iob_mu(99)
    with pytest.raises(ValueError, match="^minute: "):
        board.add(-1, 10)
    assert board.iob_mu(100) == 500


def test_bad_doses_refused_without_changing_state():
    board = InsulinOnBoard(300, 75)
    board.add(10, 29000)
    for dose in (-1, 30001, 1.5, None, True):
        with pytest.raises(ValueError, match="^dose_mu: "):
            board.add(20, dose)
    with pytest.raises(ValueError, match="^dose_mu: "):
        board.add(10, 1001)  # bucket total would pass MAX_MINUTE_MU
    # The failed calls neither advanced the clock nor lost the recorded bucket.
    board.add(10, 1000)
    assert board.iob_mu(10) == iob.MAX_MINUTE_MU


def test_memory_is_bounded_over_ten_days():
    board = InsulinOnBoard(300, 75)
    ring = board._ring
    table = iob_table(300, 75)
    minutes = 10 * 24 * 60
    for minute in range(minutes):
        board.add(minute, 10 + minute % 7)
        assert board._ring is ring
        assert len(ring) == 301
        if minute % 997 == 0:
            first = max(0, minute - 300)
            exact = sum((10 + m % 7) * table[minute - m] for m in range(first, minute + 1))
            assert board.iob_mu(minute) == exact // IOB_ONE
    # Steady basal of ~13 mU/min: IOB settles near rate * area under the curve.
    steady = board.iob_mu(minutes - 1)
    assert 0 < steady < 13 * 301


def test_gap_longer_than_ring_clears_stale_buckets():
    board = InsulinOnBoard(300, 75)
    board.add(0, 1000)
    board.add(301, 0)  # lands in the slot minute 0 used
    assert board.iob_mu(301) == 0
    board.add(602, 200)  # two ring lengths later
    assert board.iob_mu(602) == 200


def test_reconfigure_keeps_buckets_and_rebuilds_table():
    board = InsulinOnBoard(300, 75)
    board.add(0, 1000)
    board.add(100, 2000)
    board.reconfigure(300, 55)
    assert board.dia_min == 300 and board.peak_min == 55
    t55 = iob_table(300, 55)
    want = (1000 * t55[120] + 2000 * t55[20]) // IOB_ONE
    assert board.iob_mu(120) == want

    board.reconfigure(480, 75)
    assert len(board._ring) == 481
    t = iob_table(480, 75)
    assert board.iob_mu(400) == (1000 * t[400] + 2000 * t[300]) // IOB_ONE

    # Shrinking keeps only what the new ring holds: minutes 150..450, so neither dose.
    board.add(450, 0)
    board.reconfigure(300, 75)
    assert len(board._ring) == 301
    assert board.iob_mu(450) == 0
    board.add(451, 1000)
    assert board.iob_mu(451) == 1000


def test_reconfigure_shrink_drops_only_old_buckets():
    board = InsulinOnBoard(480, 75)
    board.add(0, 1000)
    board.add(200, 2000)
    board.add(350, 0)
    board.reconfigure(300, 75)  # keeps minutes 50..350
    t = iob_table(300, 75)
    assert board.iob_mu(350) == 2000 * t[150] // IOB_ONE
    board.reconfigure(480, 75)  # minute 0 is not resurrected
    t = iob_table(480, 75)
    assert board.iob_mu(350) == 2000 * t[150] // IOB_ONE


def test_failed_reconfigure_changes_nothing():
    board = InsulinOnBoard(300, 75)
    board.add(0, 1000)
    with pytest.raises(ValueError, match="^peak_min: "):
        board.reconfigure(300, 200)
    assert (board.dia_min, board.peak_min) == (300, 75)
    assert board.iob_mu(60) == 764
