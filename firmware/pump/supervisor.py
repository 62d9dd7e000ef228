"""The safety supervisor: the only way to the motor, and sceptical of everything else.

The delivery engine is credulous; the supervisor checks, from the motor's own pulse counter
and the sensors, never from the engine's bookkeeping:
  - hard limits: steps made in any rolling hour / 24 hours (its own windows), steps made
    during one bolus, basal steps made in an hour;
  - delivered vs commanded: pulses made must match pulses asked for, and asked-for pulses must
    arrive in time (a stall);
  - the reservoir, counted down from pulses made;
  - occlusion, from the plunger force: a rise above the tracked baseline of more than
    _OCCLUSION_MN held for _OCCLUSION_DWELL readings (docs/occlusion.md); then it backs the
    plunger off by the volume the rise shows, so little is released when the line clears;
  - the driver's fault line, the plunger-seated switch and the battery.
Any stopping alarm disables the motor until it is acknowledged with its cause gone.
"""

from pump.compat import const
from pump.limits import HourWindow, RollingTotals

_OCCLUSION_MN = const(160)  # 0.08 bar on the 20 mm^2 plunger: 0.24 U pushed at 30 uL/bar
_OCCLUSION_DWELL = const(3)  # readings in a row, each after the motor moved
_SETTLE_MS = const(250)  # after a back-off ends, before the force may call for another
_STALL_MS = const(2000)  # asked-for pulses still missing this long after they were due
_BATTERY_LOW_MV = const(3550)
_BATTERY_CRITICAL_MV = const(3350)
_VERY_LOW_MU = const(5000)


class Supervisor:
    def __init__(self, rig, settings, hw, alarms, reservoir_steps):
        self.rig = rig
        self.settings = settings
        self.hw = hw
        self.alarms = alarms
        self._seen = self._start = hw.motor.steps_done()
        self._fingerprint = settings.fingerprint()
        self.checks = 0  # periodic self-checks made
        self._asked = 0  # pulses asked for and not yet seen
        self._asked_prime = 0  # of those, the priming pulses at the head of the batch
        self._late_ms = 0  # how long asked-for pulses have been missing
        self.totals = RollingTotals()  # its own windows, on its own minute count
        self.basal_hour = HourWindow()  # basal steps asked for in the last 61 minutes
        self._minute = 0
        self._ms_in_minute = 0
        self.reservoir_steps = reservoir_steps
        self.bolus_steps = 0  # pulses made since the current bolus began
        self.in_bolus = False
        self._bolus_ms = 0
        self._baseline_x8 = -1  # the open-line force, in eighths of a mN
        self._over = 0
        self._back_seen = hw.motor.steps_back()  # reverse pulses already booked to the reservoir
        self._settle_ms = 0  # a back-off's retract, then the line's settling, still to come

    # --------------------------------------------------------------- the gate

    def may_move(self):
        return not self.alarms.stops_delivery()

    def move(self, steps, therapy_steps, basal_steps=0):
        """Move the motor `steps`, the last therapy_steps of them therapy and the last
        basal_steps of those basal, or refuse (False)."""
        if not self.may_move():
            return False
        s = self.settings
        spu = self.rig.steps_per_unit
        if not self.hw.seat.seated():
            self.alarms.raise_("unseated")
            return False
        if steps > self.reservoir_steps:
            self.alarms.raise_("reservoir_empty")
            return False
        if (
            self.totals.hour_steps + therapy_steps > s.max_hourly_mu * spu // 1000
            or self.totals.day_steps + therapy_steps > s.max_daily_mu * spu // 1000
        ):
            # the core checks this first; reaching it here means the core's books are wrong
            self.alarms.raise_("delivery_mismatch")
            return False
        # basal may not pass max basal over the window's 61 minutes (a step for the rounding
        # at each end): whatever rate the therapy asks, a temp basal included
        if self.basal_hour.steps + basal_steps > s.max_basal_mu_h * 61 * spu // 60000 + 2:
            self.alarms.raise_("delivery_mismatch")
            return False
        if self.in_bolus:
            # a bolus may not pass max bolus plus the most basal that can run beside it
            basal_mu = s.max_basal_mu_h * (self._bolus_ms // 60000 + 1) // 60
            if self.bolus_steps + steps > (s.max_bolus_mu + basal_mu) * spu // 1000 + 2:
                self.alarms.raise_("delivery_mismatch")
                return False
        self._asked += steps
        self._asked_prime += steps - therapy_steps
        self.basal_hour.book(basal_steps)
        self.hw.motor.move(steps)
        return True

    def bolus_begins(self):
        self.in_bolus = True
        self.bolus_steps = 0
        self._bolus_ms = 0

    def bolus_ends(self):
        self.in_bolus = False

    # ------------------------------------------------------------ watching

    def watch(self, dt_ms):
        """After each tick: count what the motor made; check it and the sensors.

        Pulses are booked to the limit windows as therapy unless they were asked for as
        priming, so the windows can only ever be fuller than the truth.
        """
        motor = self.hw.motor
        self._ms_in_minute += dt_ms
        if self._ms_in_minute >= 60000:
            self._minute += self._ms_in_minute // 60000
            self._ms_in_minute %= 60000
            self.totals.advance_to(self._minute)
            self.basal_hour.advance_to(self._minute)
        made = self._count()
        if self._settle_ms > 0 and not motor.busy():
            self._settle_ms -= dt_ms
        self._late_ms = self._late_ms + dt_ms if self._asked and not made else 0
        if self.in_bolus:
            self._bolus_ms += dt_ms
        expected_ms = self._asked * 1000 // self.rig.step_hz + _STALL_MS
        if self._asked and self._late_ms > expected_ms:
            self.alarms.raise_("motor_fault")
        if motor.fault_active():
            self.alarms.raise_("motor_fault")
        if made or self.alarms.is_active("occlusion"):
            self._check_line()
        if not self.hw.seat.seated():
            self.alarms.raise_("unseated")
        elif self.alarms.is_active("unseated"):
            self.alarms.cause_gone("unseated")
        if self.alarms.is_active("motor_fault") and not motor.fault_active() and not self._asked:
            self.alarms.cause_gone("motor_fault")
        self._check_reservoir()
        self._check_battery()

    def _check_line(self):
        force = self.hw.line.force_mn()
        # The open-line force follows the lowest readings at once and creeps up by 1/8 mN a
        # reading: it tracks slow changes of the stopper's friction, never a pressure rise.
        if self._baseline_x8 < 0 or force * 8 < self._baseline_x8:
            self._baseline_x8 = force * 8
        else:
            self._baseline_x8 += 1
        excess = force - self._baseline_x8 // 8
        if self.alarms.is_active("occlusion"):
            if excess < _OCCLUSION_MN // 4:
                self.alarms.cause_gone("occlusion")  # backing off relieved the line
            elif self._settle_ms <= 0:
                # not relieved yet, and the last retract is over and the force sensor has
                # had time to see its effect: back off by what is left
                self._back_off(excess)
            return
        if excess >= _OCCLUSION_MN:
            self._over += 1
            if self._over >= _OCCLUSION_DWELL:
                self._over = 0
                self.alarms.raise_("occlusion")
                self._back_off(excess)
        else:
            self._over = 0

    def _back_off(self, excess_mn):
        """Retract the plunger by the volume the force rise shows, to relieve the line."""
        steps = self.rig.steps_for_force(excess_mn)
        self.hw.motor.stop()
        self._asked = self._asked_prime = 0
        self.hw.motor.retract(steps)
        self._settle_ms = _SETTLE_MS

    def _count(self):
        """Book the pulses made since the last look; raise if they were never asked for."""
        made = self.hw.motor.steps_done() - self._seen
        self._seen += made
        if made > self._asked or made < 0:
            self.alarms.raise_("delivery_mismatch")
            self.alarms.cause_gone("delivery_mismatch")
            self._asked = self._asked_prime = 0
            made = made if made > 0 else 0
        else:
            self._asked -= made
        self.reservoir_steps -= made
        prime = made if made < self._asked_prime else self._asked_prime
        self._asked_prime -= prime
        self.totals.book(made - prime)
        if self.in_bolus:
            self.bolus_steps += made
        return made

    def halted(self):
        """The motor was stopped on purpose: what it did not make is no longer expected."""
        self._count()
        self._asked = self._asked_prime = 0
        self._late_ms = 0

    def settings_changed(self):
        """A command changed the settings: they are the reference from now on."""
        self._fingerprint = self.settings.fingerprint()

    def self_check(self, booked_steps, tod_ms):
        """The periodic self-check: settings in RAM unchanged, the engine's books equal to the
        motor's own count, the clock in range. A failure raises an alarm that stops delivery."""
        self.checks += 1
        if self.settings.fingerprint() != self._fingerprint or not 0 <= tod_ms < 86400000:
            self.alarms.raise_("self_test_failed")
        self._count()
        if not self._asked and self._seen - self._start != booked_steps:
            self.alarms.raise_("delivery_mismatch")
            self.alarms.cause_gone("delivery_mismatch")

    def take_backed_off(self):
        """Steps retracted since the last call (the volume is back in the syringe): the
        reverse pulses the motor has made, not the ones asked for, since a retract takes
        time and may be cut short."""
        back = self.hw.motor.steps_back()
        steps = back - self._back_seen
        self._back_seen = back
        self.reservoir_steps += steps
        return steps

    def _check_reservoir(self):
        left_mu = self.rig.mu_for(self.reservoir_steps)
        low_mu = self.settings.low_reservoir_mu
        for code, level in (("reservoir_low", low_mu), ("reservoir_very_low", _VERY_LOW_MU)):
            if left_mu <= level:
                self.alarms.raise_(code)
            elif self.alarms.is_active(code):
                self.alarms.cause_gone(code)
        if self.reservoir_steps <= 0:
            self.alarms.raise_("reservoir_empty")

    def _check_battery(self):
        mv = self.hw.battery.mv()
        for code, level in (("battery_low", _BATTERY_LOW_MV), ("battery_critical", _BATTERY_CRITICAL_MV)):
            if mv <= level:
                self.alarms.raise_(code)
            elif self.alarms.is_active(code):
                self.alarms.cause_gone(code)

    def new_reservoir(self, steps):
        self.reservoir_steps = steps
        for code in ("reservoir_empty", "reservoir_very_low", "reservoir_low"):
            if self.alarms.is_active(code):
                self.alarms.cause_gone(code)
