"""The safety supervisor on the virtual rig: it alone moves the motor, and it checks the
motor's own count, the hard limits, the reservoir, occlusion, the driver, seat and battery."""

import pytest

from occlusion import BASE, SupervisorRig, occlusion_figures


@pytest.mark.parametrize(
    "rate_mu_h, limit_min",
    [(1000, 30), (100, 180), (120000, 1)],  # 1 U/h, 0.1 U/h, a bolus at 2 U/min
    ids=["1 U/h", "0.1 U/h", "bolus"],
)
def test_occlusion_alarms_stop_and_back_off_within_target(rate_mu_h, limit_min):
    b = SupervisorRig()
    b.feeder.run(rate_mu_h, 2, 200, stop_on_alarm=False)  # settle the baseline on an open line
    assert b.raised() == []
    b.hw.line.block()
    ms, steps = b.feeder.run(rate_mu_h, 24 * 60, 200)
    assert ms is not None and ms <= limit_min * 60000
    assert b.raised() == ["occlusion"]
    assert b.hw.line.pushed_blocked_nl <= 5000  # at most 0.5 U pushed into the blocked line
    assert not b.sup.may_move() and not b.sup.move(1, 1)  # the motor stays stopped
    assert b.hw.motor.steps_back() > 0  # it backed off
    b.wait(1000)
    assert b.hw.line.pressure_mbar() < 20  # the pressure is relieved...
    b.hw.line.clear()
    assert b.hw.line.released_nl <= 2000  # ...so at most 0.2 U is released when it clears
    b.alarms.ack()
    assert not b.alarms.is_active("occlusion") and b.sup.may_move()


def test_occlusion_figures_meet_their_targets():
    """The figures docs/occlusion.md and make bench report, held to the targets."""
    for rate_mu_h, max_min in ((100, 180), (1000, 30), (120000, 1)):
        minutes, pushed_u, released_u = occlusion_figures(rate_mu_h, SupervisorRig())
        assert minutes is not None and minutes <= max_min
        assert pushed_u <= 0.5 and released_u <= 0.2


def test_no_false_occlusion_on_an_open_line():
    b = SupervisorRig()
    assert b.feeder.run(1000, 24 * 60, 200)[0] is None
    assert b.feeder.run(120000, 5, 200)[0] is None
    assert b.raised() == []


def test_a_stall_is_a_motor_fault_and_a_runaway_a_delivery_mismatch():
    b = SupervisorRig()
    b.hw.motor.stall()
    b.sup.move(10, 10)
    b.wait(1000)
    assert b.raised() == []  # not late yet
    b.wait(3000)
    assert b.raised() == ["motor_fault"] and not b.sup.may_move()
    b2 = SupervisorRig()
    b2.hw.motor.move(5)  # pulses nobody asked the supervisor for
    b2.wait(1000)
    assert b2.raised() == ["delivery_mismatch"] and not b2.sup.may_move()


def test_driver_fault_line_stops_until_it_clears_and_is_acknowledged():
    b = SupervisorRig()
    b.hw.motor.set_fault(True)
    b.wait(100)
    assert b.raised() == ["motor_fault"]
    b.alarms.ack()
    assert b.alarms.is_active("motor_fault")  # the cause is still there
    b.hw.motor.set_fault(False)
    b.wait(100)
    b.alarms.ack()
    assert not b.alarms.is_active("motor_fault") and b.sup.may_move()


def test_an_unseated_plunger_is_never_driven():
    b = SupervisorRig()
    b.hw.seat.is_seated = False
    assert not b.sup.move(5, 5)
    assert b.hw.motor.moves == 0 and b.raised() == ["unseated"]


def test_its_own_windows_hold_the_hard_limits_whatever_the_engine_asks():
    b = SupervisorRig(dict(BASE, max_bolus_u=1, max_hourly_u=1, max_daily_u=5))
    assert b.sup.move(150, 150)
    b.wait(1000)
    assert not b.sup.move(60, 60)  # 210 steps = 1.05 U in the hour: refused
    assert b.raised() == ["delivery_mismatch"]
    assert b.hw.motor.steps_done() == 150


def test_priming_steps_do_not_count_towards_the_limits():
    b = SupervisorRig(dict(BASE, max_bolus_u=1, max_hourly_u=1, max_daily_u=5))
    assert b.sup.move(400, 0)  # 2 U of priming
    b.wait(2000)
    assert b.sup.totals.hour_steps == 0 and b.sup.move(150, 150)


def test_a_bolus_cannot_run_past_max_bolus_plus_basal():
    b = SupervisorRig(dict(BASE, max_bolus_u=1, max_hourly_u=5, max_daily_u=20))
    b.sup.bolus_begins()
    assert b.sup.move(200, 200)
    b.wait(1000)
    assert not b.sup.move(13, 13)  # past 1 U + a minute of 3 U/h basal (10 steps) + 2 spare
    assert b.raised() == ["delivery_mismatch"]


def test_reservoir_levels_from_its_own_count():
    b = SupervisorRig(dict(BASE, low_reservoir_u=10), reservoir_u=11)
    b.sup.move(250, 250)  # 1.25 U
    b.wait(1000)
    assert b.raised() == ["reservoir_low"]
    b.sup.new_reservoir(b.rig.steps_for(200000))
    b.wait(10)
    b.alarms.ack()
    assert b.alarms.active() == []
    b2 = SupervisorRig(reservoir_u=10)
    assert not b2.sup.move(2001, 2001)  # more than is left
    assert b2.raised() == ["reservoir_empty"]


def test_battery_low_then_critical():
    b = SupervisorRig()
    b.hw.battery.mv_now = 3500
    b.wait(10)
    assert b.raised() == ["battery_low"] and b.sup.may_move()
    b.hw.battery.mv_now = 3300
    b.wait(10)
    assert b.raised() == ["battery_low", "battery_critical"] and not b.sup.may_move()
