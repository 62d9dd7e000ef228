"""Boluses: normal, extended, dual, cancel, one at a time, refusals that move nothing."""

import pytest

from harness import Sim
from pump.errors import Refused


def bolus_only(**limits):
    """Settings with no basal, so every step in a limit window is a bolus step."""
    return dict({"basal_profiles": {"a": [["00:00", 0]]}, "active_profile": "a"}, **limits)


def test_normal_bolus_delivers_exactly_at_delivery_speed():
    s = Sim()
    s.run_min(10)
    basal_before = s.basal_mu
    s.pump.bolus(4500)
    s.run_min(2)  # 2 U/min: 4 U in two minutes, not yet done
    assert 3900 <= s.bolus_mu <= 4000
    s.run_min(1)
    assert s.bolus_mu == 4500
    assert s.doses[-1]["kind"] == "normal" and s.doses[-1]["status"] == "completed"
    assert s.doses[-1]["programmed_mu"] == 4500 and s.doses[-1]["delivered_mu"] == 4500
    # basal owed while the bolus ran was delivered, not dropped
    assert s.basal_mu - basal_before in (45, 50)
    # three views agree: motor steps, core totals by kind
    assert s.steps * 5 == s.basal_mu + s.bolus_mu


def test_amount_rounds_down_to_the_increment():
    s = Sim()
    s.pump.bolus(1234)
    s.run_min(2)
    assert s.doses[-1]["programmed_mu"] == 1200 and s.bolus_mu == 1200


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"amount_mu": 12000}, "units"),  # above max bolus (default 10 U)
        ({"amount_mu": 40}, "units"),  # below one increment
        ({"amount_mu": 0}, "units"),
        ({"amount_mu": 2000, "extended_min": 20, "now_pct": 0}, "extended_min"),
        ({"amount_mu": 2000, "extended_min": 495, "now_pct": 0}, "extended_min"),
        ({"amount_mu": 2000, "extended_min": 60, "now_pct": 100}, "now_pct"),
        ({"amount_mu": 2000, "now_pct": 50}, "now_pct"),
    ],
)
def test_refused_bolus_moves_nothing_and_names_the_field(kwargs, field):
    s = Sim()
    s.pump.suspend()
    s.pump.resume()
    before = (s.steps, s.motor.moves)
    with pytest.raises(Refused) as e:
        s.pump.bolus(**kwargs)
    assert e.value.field == field
    assert s.pump.current_bolus is None
    s.run_min(0.1)
    assert s.bolus_mu == 0 and s.steps == before[0]


def test_max_bolus_message_says_the_limit():
    s = Sim({"basal_profiles": {"a": [["00:00", 1]]}, "active_profile": "a", "max_bolus_u": 12})
    with pytest.raises(Refused) as e:
        s.pump.bolus(13000)
    assert str(e.value) == "units: 13 U is above max bolus 12 U"


def test_extended_bolus_is_spread_evenly_and_completes_exactly():
    s = Sim()
    s.pump.bolus(2000, now_pct=0, extended_min=60)
    s.run_min(30)
    assert 995 <= s.bolus_mu <= 1000
    s.run_min(31)
    assert s.bolus_mu == 2000
    assert s.doses[-1]["kind"] == "extended" and s.doses[-1]["status"] == "completed"


def test_dual_bolus_gives_the_now_part_then_the_extended_part():
    s = Sim()
    s.pump.bolus(6000, now_pct=50, extended_min=90)
    s.run_min(2)
    assert s.bolus_mu >= 3000
    now_done_at = s.bolus_mu
    s.run_min(45)
    assert 3000 + 1400 <= s.bolus_mu <= 3000 + 1550
    s.run_min(50)
    assert s.bolus_mu == 6000 and now_done_at < 6000
    assert s.doses[-1]["kind"] == "dual" and s.doses[-1]["delivered_mu"] == 6000


def test_cancel_reports_programmed_and_delivered():
    s = Sim()
    s.pump.bolus(2000, now_pct=0, extended_min=60)
    s.run_min(30)
    s.pump.cancel_bolus()
    moved = s.bolus_mu
    s.run_min(60)
    assert s.bolus_mu == moved  # never resumed
    d = s.doses[-1]
    assert d["status"] == "cancelled" and d["programmed_mu"] == 2000 and d["delivered_mu"] == moved
    assert 990 <= moved <= 1000


def test_cancel_mid_move_bills_only_what_moved():
    s = Sim(rig={"steps_per_unit": 200})
    s.pump.bolus(5000)
    s.run_min(0.5)
    s.pump.cancel_bolus()
    assert s.doses[-1]["delivered_mu"] == s.bolus_mu == s.steps * 5 - s.basal_mu


def test_one_bolus_at_a_time():
    s = Sim()
    s.pump.bolus(3000)
    with pytest.raises(Refused, match="already|running"):
        s.pump.bolus(1000)
    s.run_min(3)
    s.pump.bolus(1000)


def test_bolus_refused_while_suspended():
    s = Sim()
    s.pump.suspend()
    with pytest.raises(Refused, match="suspended"):
        s.pump.bolus(1000)
    assert s.motor.moves == 0


def test_hourly_limit_refuses_up_front_saying_what_is_allowed():
    s = Sim(bolus_only(max_bolus_u=10, max_hourly_u=12, max_daily_u=40))
    s.pump.bolus(10000)
    s.run_min(10)
    moves = s.motor.moves
    with pytest.raises(Refused) as e:
        s.pump.bolus(3000)
    assert str(e.value) == "units: 3 U would break the hourly 12 U limit; 2 U still allowed"
    assert s.motor.moves == moves
    s.pump.bolus(2000)  # exactly what is still allowed
    s.run_min(2)
    assert s.bolus_mu == 12000


def test_daily_limit_rebuilds_after_24_hours():
    s = Sim(bolus_only(max_bolus_u=10, max_hourly_u=10, max_daily_u=20))
    s.pump.bolus(10000)
    s.run_min(120)
    s.pump.bolus(10000)
    s.run_min(120)
    with pytest.raises(Refused, match="daily"):
        s.pump.bolus(500)
    s.run_min(24 * 60 - 240 + 10)
    s.pump.bolus(500)


def test_rolling_hour_window_never_holds_more_than_the_limit():
    s = Sim(bolus_only(max_bolus_u=5, max_hourly_u=5, max_daily_u=50))
    s.pump.bolus(5000)
    s.run_min(59)
    with pytest.raises(Refused, match="hourly"):
        s.pump.bolus(500)
    s.run_min(4)
    s.pump.bolus(500)


CALC = {
    "basal_profiles": {"a": [["00:00", 0]]},
    "active_profile": "a",
    "icr_g_per_u": [["00:00", 12], ["11:00", 9]],
    "isf_mgdl_per_u": [["00:00", 45]],
    "target_mgdl": [["00:00", 105]],
}


def test_calculator_uses_the_segment_in_force_and_can_deliver():
    s = Sim(CALC, tod_min=12 * 60)
    sug = s.pump.calc(54, 150, deliver=True)  # 54 g / 9 = 6 U; (150-105)/45 = 1 U
    assert (sug.carb_mu, sug.correction_mu, sug.suggested_mu) == (6000, 1000, 7000)
    calc = [e for e in s.events if e["code"] == "calc"][0]
    assert calc["suggested_mu"] == 7000 and calc["carb_mu"] == 6000
    s.run_min(5)
    assert s.bolus_mu == 7000 and s.doses[-1]["programmed_mu"] == 7000


def test_calculator_subtracts_insulin_on_board_from_the_correction():
    s = Sim(CALC, tod_min=8 * 60)
    s.pump.bolus(2000)
    s.run_min(60)
    iob = s.pump.iob_mu()
    assert 1500 <= iob <= 1560  # 2 U an hour ago: 0.764 of it left
    sug = s.pump.calc(0, 195, deliver=False)  # correction 2 U, minus IOB
    assert sug.iob_used_mu == iob and sug.suggested_mu == (2000 - iob) // 50 * 50
    assert s.bolus_mu == 2000  # deliver=False moves nothing


def test_calculator_never_suggests_above_max_bolus_and_refuses_bad_input():
    s = Sim(dict(CALC, max_bolus_u=5), tod_min=8 * 60)
    sug = s.pump.calc(200, 300, deliver=True)
    assert sug.suggested_mu == 5000 and sug.capped
    with pytest.raises(Refused, match="carbs_g"):
        s.pump.calc(-5, 100, deliver=True)


def test_low_bg_suggests_nothing_and_delivers_nothing():
    s = Sim(CALC, tod_min=8 * 60)
    sug = s.pump.calc(60, 60, deliver=True)
    assert sug.suggested_mu == 0 and "treat the low" in sug.note
    s.run_min(5)
    assert s.bolus_mu == 0


def test_prime_is_not_insulin_on_board_but_a_bolus_is():
    s = Sim(CALC)
    s.pump.prime(2000)
    s.run_min(2)
    assert s.pump.iob_mu() == 0
    s.pump.bolus(1000)
    s.run_min(1)
    assert 990 <= s.pump.iob_mu() <= 1000
