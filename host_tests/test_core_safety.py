"""The whole pump with its alarms and supervisor: a fault ends in a known safe state with the
right alarm, and delivery comes back only when a person has dealt with it."""

import pytest

from harness import Sim
from pump.errors import Refused


def raised(s):
    return [a["code"] for a in s.alarms if a["state"] == "raised"]


def test_an_occlusion_at_1_u_h_alarms_and_stops_the_motor_within_30_minutes():
    s = Sim()
    s.run_min(10)
    s.hw.line.block()
    blocked_at = s.clock.elapsed_ms
    s.run_min(60)
    occl = [a for a in s.alarms if a["code"] == "occlusion" and a["state"] == "raised"][0]
    assert occl["priority"] == "high" and occl["t_ms"] - blocked_at <= 30 * 60000
    assert s.pump.mode == "stopped"
    steps = s.steps
    s.run_min(60)
    assert s.steps == steps  # the motor stays stopped
    assert s.hw.line.pushed_blocked_nl <= 5000
    with pytest.raises(Refused, match="clear the alarm"):
        s.pump.resume()
    s.hw.line.clear()
    s.pump.ack()
    s.pump.resume()
    s.run_min(60)
    assert s.steps > steps and s.pump.mode == "running"


def test_an_occlusion_during_a_bolus_ends_it_billed_for_what_moved():
    s = Sim()
    s.run_min(2)
    s.hw.line.block()
    s.pump.bolus(5000)
    s.run_min(5)
    dose = s.doses[-1]
    assert dose["status"] == "occlusion" and dose["delivered_mu"] <= 500
    assert s.pump.current_bolus is None


def test_auto_off_stops_delivery_until_a_key_is_pressed_and_the_alarm_acknowledged():
    s = Sim({"basal_profiles": {"a": [["00:00", 1]]}, "active_profile": "a", "auto_off_h": 5})
    s.run_min(5 * 60 - 1)
    assert raised(s) == []
    s.run_min(2)
    assert raised(s) == ["auto_off"] and s.pump.mode == "stopped"
    basal = s.basal_mu
    s.run_min(30)
    assert s.basal_mu == basal
    s.pump.key_pressed()
    s.pump.ack()
    s.pump.resume()
    s.run_min(60)
    assert s.basal_mu > basal


def test_a_finished_temp_basal_and_a_long_suspend_remind():
    s = Sim()
    s.pump.temp_basal(30, percent=50)
    s.run_min(31)
    assert raised(s) == ["temp_basal_ended"]
    s.pump.ack()
    s.pump.suspend()
    s.run_min(31)
    assert raised(s)[-1] == "suspend_reminder"
    s.pump.resume()
    s.pump.ack()
    assert s.pump.alarms.active() == []


def test_set_change_is_due_after_its_interval_and_a_new_reservoir_clears_it():
    s = Sim({"basal_profiles": {"a": [["00:00", 0.5]]}, "active_profile": "a", "set_change_h": 24})
    s.run_min(24 * 60 + 1)
    assert raised(s) == ["set_change_due"] and s.pump.mode == "running"  # low: no stop
    s.pump.suspend()
    s.pump.new_reservoir(200000)
    s.pump.ack()
    assert not s.pump.alarms.is_active("set_change_due")


def test_critical_battery_stops_and_a_new_battery_lets_a_person_resume():
    s = Sim()
    s.run_min(5)
    s.hw.battery.mv_now = 3300
    s.run_min(1)
    assert raised(s) == ["battery_low", "battery_critical"] and s.pump.mode == "stopped"
    s.hw.battery.mv_now = 4100
    s.run_min(1)
    s.pump.ack()
    s.pump.ack()
    s.pump.resume()
    assert s.pump.mode == "running"


def test_an_unseated_plunger_stops_delivery():
    s = Sim()
    s.run_min(5)
    s.hw.seat.is_seated = False
    s.run_min(2)
    assert "unseated" in raised(s) and s.pump.mode == "stopped"
    steps = s.steps
    s.run_min(30)
    assert s.steps == steps


def test_silence_and_ack_refused_with_nothing_to_handle():
    s = Sim()
    with pytest.raises(Refused):
        s.pump.ack()
    with pytest.raises(Refused):
        s.pump.silence(10)


def test_alarm_bursts_reach_the_buzzer_in_priority_order():
    s = Sim()
    s.pump.temp_basal(15, percent=100)
    s.run_min(16)
    low = s.hw.buzzer.playing
    s.hw.battery.mv_now = 3300
    s.run_min(1)
    assert s.hw.buzzer.playing != low and len(s.hw.buzzer.playing) == 9  # the high burst, 3+2


def test_periodic_self_checks_run_six_times_an_hour():
    s = Sim()
    s.run_min(60)
    assert s.pump.supervisor.checks == 6 and raised(s) == []


def test_settings_changed_in_ram_are_caught_by_the_self_check():
    s = Sim()
    s.run_min(5)
    s.pump.settings.max_bolus_mu = 25000  # not through a command: a corrupted RAM
    s.run_min(10)
    assert raised(s) == ["self_test_failed"] and s.pump.mode == "stopped"


def test_a_profile_switch_is_a_legitimate_change_of_settings():
    s = Sim({"basal_profiles": {"a": [["00:00", 1]], "b": [["00:00", 0.5]]}, "active_profile": "a"})
    s.pump.set_profile("b")
    s.run_min(30)
    assert raised(s) == []


def test_engine_books_that_disagree_with_the_motor_are_caught():
    s = Sim()
    s.run_min(5)
    s.pump.steps[0] += 3  # the engine's books no longer match the pulses the motor made
    s.run_min(10)
    assert raised(s) == ["delivery_mismatch"] and s.pump.mode == "stopped"
