"""Basal: profiles, temporary basal (percent, absolute, caps, end), suspend/resume, prime,
reservoir and the stops that protect it."""

import pytest

from harness import Sim
from pump.errors import Refused

WORKDAY = {
    "basal_profiles": {
        "workday": [["00:00", 0.9], ["04:00", 1.3], ["09:00", 1.0], ["17:30", 0.75], ["22:00", 0.95]],
        "sport": [["00:00", 0.6]],
    },
    "active_profile": "workday",
    "max_basal_u_h": 3,
}


def test_profile_segments_are_followed_exactly_over_a_day():
    s = Sim(WORKDAY)
    s.run_min(24 * 60)
    # 0.9*4 + 1.3*5 + 1.0*8.5 + 0.75*4.5 + 0.95*2 = 23.875 U; the step owed at 24:00 may be in flight
    assert 23870 <= s.basal_mu <= 23875


def test_switching_profile_changes_the_rate_from_then_on():
    s = Sim(WORKDAY)
    s.run_min(60)
    s.pump.set_profile("sport")
    s.run_min(60)
    assert 1495 <= s.basal_mu <= 1500
    with pytest.raises(Refused, match="no basal profile"):
        s.pump.set_profile("holiday")


def test_temp_basal_percent_then_schedule_resumes_exactly():
    s = Sim(WORKDAY, tod_min=9 * 60)
    s.pump.temp_basal(120, percent=150)
    s.run_min(120)
    assert 2995 <= s.basal_mu <= 3000
    assert s.doses[-1]["kind"] == "temp_basal" and s.doses[-1]["status"] == "completed"
    assert s.doses[-1]["programmed_mu"] == 3000
    s.run_min(60)
    assert 3995 <= s.basal_mu <= 4000


def test_percent_temp_follows_segment_changes():
    s = Sim(WORKDAY, tod_min=3 * 60)
    s.pump.temp_basal(120, percent=50)  # 0.45 U/h for an hour, then 0.65 U/h
    assert s.pump.temp.programmed_mu == 1100
    s.run_min(120)
    assert 1095 <= s.basal_mu <= 1100


def test_absolute_temp_and_cancel():
    s = Sim(WORKDAY, tod_min=10 * 60)
    s.pump.temp_basal(60, rate_mu_h=2000)
    s.run_min(30)
    s.pump.cancel_temp_basal()
    s.run_min(30)
    assert 1495 <= s.basal_mu <= 1500
    d = s.doses[-1]
    assert d["status"] == "cancelled" and d["programmed_mu"] == 2000 and 995 <= d["delivered_mu"] <= 1000


def test_zero_percent_temp_stops_basal_for_its_duration():
    s = Sim(WORKDAY, tod_min=10 * 60)
    s.pump.temp_basal(30, percent=0)
    s.run_min(30)
    assert s.basal_mu == 0
    s.run_min(30)
    assert 495 <= s.basal_mu <= 500


@pytest.mark.parametrize(
    "kwargs, field, text",
    [
        ({"minutes": 20, "percent": 120}, "minutes", "steps of 15"),
        ({"minutes": 0, "percent": 120}, "minutes", ""),
        ({"minutes": 1455, "percent": 120}, "minutes", ""),
        ({"minutes": 60, "percent": 260}, "percent", "0..250"),
        # cap: min(max basal 3, 3 x highest 1.3 = 3.9, 4 x current 1.0 = 4) = 3 U/h
        ({"minutes": 60, "rate_mu_h": 3100}, "rate_u_h", "cap 3 U/h"),
        ({"minutes": 60}, "temp_basal", "either"),
    ],
)
def test_bad_temp_basals_are_refused_and_change_nothing(kwargs, field, text):
    s = Sim(WORKDAY, tod_min=10 * 60)
    with pytest.raises(Refused) as e:
        s.pump.temp_basal(**kwargs)
    assert e.value.field == field and text in str(e.value)
    assert s.pump.temp is None


def test_temp_cap_uses_four_times_current_and_three_times_highest():
    s = Sim(
        {
            "basal_profiles": {"a": [["00:00", 0.5], ["12:00", 2.0]]},
            "active_profile": "a",
            "max_basal_u_h": 10,
        }
    )
    assert s.pump.temp_cap_mu_h() == 2000  # 4 x 0.5 = 2, below 3 x 2.0 = 6 and max 10
    s.pump.temp_basal(60, rate_mu_h=2000)
    with pytest.raises(Refused, match="cap 2 U/h"):
        s.pump.temp_basal(60, rate_mu_h=2010)


def test_percent_temp_checked_against_max_basal_over_every_segment_it_covers():
    s = Sim(
        {"basal_profiles": {"a": [["00:00", 0.5], ["01:00", 1.5]]}, "active_profile": "a", "max_basal_u_h": 3}
    )
    s.pump.temp_basal(60, percent=250)  # stays in the 0.5 U/h segment: 1.25 U/h
    s.pump.cancel_temp_basal()
    with pytest.raises(Refused, match="cap"):
        s.pump.temp_basal(90, percent=250)  # would reach 3.75 U/h after 01:00


def test_suspend_stops_everything_and_resume_restarts_basal():
    s = Sim()
    s.pump.bolus(3000)
    s.run_min(0.5)
    s.pump.suspend()
    delivered = s.bolus_mu
    assert s.doses[-1]["status"] == "suspended" and s.doses[-1]["delivered_mu"] == delivered
    s.run_min(60)
    assert s.bolus_mu == delivered and s.basal_mu <= 10
    s.pump.resume()
    s.run_min(60)
    assert s.bolus_mu == delivered  # an interrupted bolus is never resumed
    assert 995 <= s.basal_mu <= 1010
    assert [e["mode"] for e in s.events if e["code"] == "mode"] == ["suspended", "running"]


def test_timed_suspend_resumes_by_itself():
    s = Sim()
    s.pump.suspend(minutes=30)
    s.run_min(29)
    assert s.pump.mode == "suspended"
    s.run_min(2)
    assert s.pump.mode == "running"
    assert s.events[-1]["reason"] == "timed_resume"
    s.run_min(29)
    assert 495 <= s.basal_mu <= 500


def test_suspend_and_resume_refused_in_the_wrong_mode():
    s = Sim()
    with pytest.raises(Refused):
        s.pump.resume()
    s.pump.suspend()
    with pytest.raises(Refused):
        s.pump.suspend()
    with pytest.raises(Refused):
        s.pump.suspend(minutes=5)


def test_prime_uses_reservoir_but_is_not_therapy_or_iob():
    s = Sim(reservoir_u=100)
    s.pump.prime(500)
    s.run_min(1)
    assert s.prime_mu == 500 and s.bolus_mu == 0
    assert s.pump.iob_mu() == 0
    assert s.pump.reservoir_mu() == 100000 - 500 - s.basal_mu
    assert s.doses[-1]["kind"] == "prime"
    with pytest.raises(Refused):
        s.pump.prime(31000)


def test_new_reservoir_needs_suspend_and_leaves_pump_suspended():
    s = Sim(reservoir_u=20)
    with pytest.raises(Refused, match="suspend"):
        s.pump.new_reservoir(200000)
    s.pump.suspend()
    with pytest.raises(Refused, match="10..300"):
        s.pump.new_reservoir(400000)
    s.pump.new_reservoir(200000)
    assert s.pump.reservoir_mu() == 200000 and s.pump.mode == "suspended"


def test_empty_reservoir_stops_delivery_before_it_runs_dry():
    s = Sim({"basal_profiles": {"a": [["00:00", 2.0]]}, "active_profile": "a"}, reservoir_u=10)
    s.pump.bolus(9000)
    s.run_min(6 * 60)
    assert s.pump.mode == "stopped"
    assert {"code": "reservoir_empty", "priority": "high", "state": "raised"}.items() <= s.alarms[-1].items()
    assert s.basal_mu + s.bolus_mu <= 10000 and s.pump.reservoir_steps >= 0
    with pytest.raises(Refused):
        s.pump.bolus(100)


def test_basal_held_at_the_hourly_limit_and_released_later():
    s = Sim(
        {
            "basal_profiles": {"a": [["00:00", 3.0]]},
            "active_profile": "a",
            "max_basal_u_h": 3,
            "max_bolus_u": 2,
            "max_hourly_u": 4,
            "max_daily_u": 60,
        }
    )
    s.pump.bolus(2000)
    s.run_min(60)
    assert "limit_reached" in s.codes()
    assert s.basal_mu + s.bolus_mu <= 4000
    limit_alarms = [(a["code"], a["priority"]) for a in s.alarms if a["state"] == "raised"]
    assert limit_alarms == [("limit_hourly", "medium")]  # an alert: it does not stop delivery
    s.run_min(180)
    assert "limit_released" in s.codes()
    s.pump.ack()
    assert not s.pump.alarms.is_active("limit_hourly")  # its cause went when basal restarted


def test_stalled_motor_is_billed_only_for_what_moved_and_raises_a_motor_fault():
    s = Sim()
    s.pump.bolus(2000)
    s.run_min(0.25)
    s.motor.stall()
    moved = s.steps
    s.run_min(10)
    assert s.steps == moved
    assert s.basal_mu + s.bolus_mu == moved * 5
    assert [a["code"] for a in s.alarms if a["state"] == "raised"] == ["motor_fault"]
    assert s.pump.mode == "stopped"
    assert s.doses[-1]["status"] == "motor_fault" and s.doses[-1]["delivered_mu"] == s.bolus_mu < 2000


def test_a_clock_going_backwards_delivers_nothing_extra():
    s = Sim()
    s.run_min(60)
    before = s.basal_mu
    s.pump.tick((s.clock.ticks_ms() - 5000) % (1 << 30))
    assert s.events[-1]["code"] == "clock_backwards"
    assert s.basal_mu == before


def test_a_motor_counting_more_than_it_was_asked_stops_everything():
    s = Sim()
    s.pump.bolus(2000)
    s.run_min(0.1)
    real = s.motor.steps_done
    s.motor.steps_done = lambda: real() + 50  # a count no command explains
    s.run_min(0.1)
    assert s.alarms[0]["code"] == "delivery_mismatch"
    assert s.pump.mode == "stopped" and s.pump.current_bolus is None
    assert s.doses[-1]["status"] == "delivery_mismatch"
    moves = s.motor.moves
    s.run_min(10)
    assert s.motor.moves == moves
