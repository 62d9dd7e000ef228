import pytest
from hypothesis import given
from hypothesis import strategies as st

from pump.calculator import LOW_BG_NOTE, Suggestion, suggest_bolus

BASE = dict(
    carbs_g=60,
    bg_mgdl=180,
    icr_dg_per_u=120,
    isf_mgdl_per_u=45,
    target_mgdl=105,
    iob_mu=1000,
    max_bolus_mu=10000,
    increment_mu=50,
)


def calc(**changes):
    args = dict(BASE)
    args.update(changes)
    return suggest_bolus(**args)


def test_worked_example():
    s = calc()
    assert isinstance(s, Suggestion)
    assert s.carb_mu == 5000  # 60 g / 12 g/U
    assert s.correction_mu == 1666  # (180 - 105) / 45 = 1.666.. U, truncated
    assert s.iob_used_mu == 1000
    assert s.total_mu == 5666
    assert s.suggested_mu == 5650  # rounded down to 50 mU
    assert s.capped is False
    assert s.note == ""


def test_fractional_icr_in_tenths():
    assert calc(carbs_g=45, icr_dg_per_u=75, bg_mgdl=None).carb_mu == 6000  # 45 g / 7.5
    assert calc(carbs_g=10, icr_dg_per_u=30, bg_mgdl=None).carb_mu == 3333  # floor


def test_no_bg_means_no_correction_and_iob_ignored():
    s = calc(bg_mgdl=None, iob_mu=3000)
    assert (s.carb_mu, s.correction_mu, s.iob_used_mu) == (5000, 0, 0)
    assert s.suggested_mu == 5000


def test_iob_cannot_make_correction_negative_nor_reduce_carbs():
    s = calc(iob_mu=5000)
    assert s.iob_used_mu == 1666
    assert s.total_mu == 5000
    assert s.suggested_mu == 5000


def test_iob_with_bg_at_target_does_not_reduce_carbs():
    s = calc(bg_mgdl=105, iob_mu=2000)
    assert (s.correction_mu, s.iob_used_mu, s.suggested_mu) == (0, 0, 5000)


def test_bg_below_target_reduces_carb_part():
    s = calc(bg_mgdl=80, iob_mu=0)
    # (80 - 105) / 45 = -0.555.. U, truncated toward zero (floor would give -556).
    assert s.correction_mu == -555
    assert s.iob_used_mu == 0
    assert s.total_mu == 4445
    assert s.suggested_mu == 4400


def test_bg_below_target_with_iob_uses_no_iob():
    s = calc(bg_mgdl=90, iob_mu=4000)
    assert s.correction_mu == -333
    assert s.iob_used_mu == 0
    assert s.total_mu == 4667


def test_total_floored_at_zero():
    s = calc(carbs_g=0, bg_mgdl=75, isf_mgdl_per_u=5)
    assert s.correction_mu == -6000
    assert s.total_mu == 0
    assert s.suggested_mu == 0


@pytest.mark.parametrize("bg", [20, 55, 69])
def test_low_bg_suggests_nothing(bg):
    s = calc(bg_mgdl=bg, carbs_g=100)
    assert s.suggested_mu == 0
    assert s.capped is False
    assert s.note == "BG below 70 mg/dL: treat the low, no bolus suggested"
    assert s.note == LOW_BG_NOTE
    assert s.carb_mu > 0  # breakdown still shown


def test_bg_of_70_is_not_low():
    s = calc(bg_mgdl=70, target_mgdl=70)
    assert s.note == ""
    assert s.suggested_mu == 5000


def test_cap_at_max_is_flagged():
    s = calc(carbs_g=300, icr_dg_per_u=100, max_bolus_mu=10025)
    assert s.total_mu == 30666
    assert s.suggested_mu == 10000  # max rounded down to the 50 mU increment
    assert s.capped is True
    assert s.note != ""


def test_rounding_down_to_exactly_max_is_not_capped():
    s = calc(max_bolus_mu=5650)
    assert (s.suggested_mu, s.capped) == (5650, False)
    s = calc(max_bolus_mu=5600)
    assert (s.suggested_mu, s.capped) == (5600, True)


def test_zero_max_suggests_nothing():
    s = calc(max_bolus_mu=0)
    assert (s.suggested_mu, s.capped) == (0, True)


BAD = [
    ("carbs_g", -1),
    ("carbs_g", 301),
    ("carbs_g", 12.5),
    ("carbs_g", None),
    ("carbs_g", True),
    ("bg_mgdl", 19),
    ("bg_mgdl", 601),
    ("bg_mgdl", 120.0),
    ("bg_mgdl", "120"),
    ("icr_dg_per_u", 9),
    ("icr_dg_per_u", 1501),
    ("icr_dg_per_u", 0),
    ("isf_mgdl_per_u", 4),
    ("isf_mgdl_per_u", 401),
    ("isf_mgdl_per_u", 0),
    ("target_mgdl", 69),
    ("target_mgdl", 201),
    ("iob_mu", -1),
    ("iob_mu", 1.0),
    ("iob_mu", None),
    ("max_bolus_mu", -1),
    ("max_bolus_mu", None),
    ("increment_mu", 0),
    ("increment_mu", -50),
    ("increment_mu", 50.0),
]


@pytest.mark.parametrize("field, value", BAD)
def test_out_of_range_fields_refused_by_name(field, value):
    with pytest.raises(ValueError, match="^" + field + ": "):
        calc(**{field: value})


def test_range_message_format():
    with pytest.raises(ValueError, match=r"^carbs_g: 301 is outside 0\.\.300$"):
        calc(carbs_g=301)


VALID = dict(
    carbs_g=st.integers(0, 300),
    bg_mgdl=st.none() | st.integers(20, 600),
    icr_dg_per_u=st.integers(10, 1500),
    isf_mgdl_per_u=st.integers(5, 400),
    target_mgdl=st.integers(70, 200),
    iob_mu=st.integers(0, 100000),
    max_bolus_mu=st.integers(0, 50000),
    increment_mu=st.integers(1, 1000),
)


@given(**VALID)
def test_never_above_max_and_consistent(
    carbs_g, bg_mgdl, icr_dg_per_u, isf_mgdl_per_u, target_mgdl, iob_mu, max_bolus_mu, increment_mu
):
    s = suggest_bolus(
        carbs_g, bg_mgdl, icr_dg_per_u, isf_mgdl_per_u, target_mgdl, iob_mu, max_bolus_mu, increment_mu
    )
    assert 0 <= s.suggested_mu <= max_bolus_mu
    assert s.suggested_mu % increment_mu == 0
    assert s.suggested_mu <= s.total_mu
    assert s.total_mu == max(0, s.carb_mu + s.correction_mu - s.iob_used_mu)
    assert 0 <= s.iob_used_mu <= iob_mu
    assert s.iob_used_mu <= max(0, s.correction_mu)
    # IOB never eats into the carb part.
    assert s.total_mu >= min(s.carb_mu, s.carb_mu + s.correction_mu)
    if bg_mgdl is not None and bg_mgdl < 70:
        assert s.suggested_mu == 0 and s.note == LOW_BG_NOTE
    elif s.capped:
        assert s.suggested_mu == max_bolus_mu // increment_mu * increment_mu
    else:
        assert s.suggested_mu == s.total_mu // increment_mu * increment_mu
        assert s.total_mu - s.suggested_mu < increment_mu


@given(**VALID)
def test_more_iob_never_suggests_more(
    carbs_g, bg_mgdl, icr_dg_per_u, isf_mgdl_per_u, target_mgdl, iob_mu, max_bolus_mu, increment_mu
):
    args = (carbs_g, bg_mgdl, icr_dg_per_u, isf_mgdl_per_u, target_mgdl)
    less = suggest_bolus(*args, iob_mu, max_bolus_mu, increment_mu)
    more = suggest_bolus(*args, iob_mu + 500, max_bolus_mu, increment_mu)
    assert more.suggested_mu <= less.suggested_mu
