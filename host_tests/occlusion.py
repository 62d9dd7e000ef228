"""Occlusion on the virtual rig, measured: a supervisor with its alarms, fed steps at a
programmed rate as the delivery engine would. Used by the supervisor's tests and by
`make bench` for the figures in docs/occlusion.md."""


class Feeder:
    """Asks the supervisor for steps at a programmed rate, as the delivery engine would, on
    the virtual rig: used to measure occlusion detection without the rest of the pump."""

    def __init__(self, clock, hw, supervisor, alarms):
        self.clock = clock
        self.hw = hw
        self.sup = supervisor
        self.alarms = alarms

    def run(self, rate_mu_h, minutes, spu, stop_on_alarm=True):
        """Deliver at rate_mu_h for up to `minutes`; return ms until the first stopping alarm
        (None if none) and the steps the supervisor let through."""
        step_ms = 3600000 * 1000 // (rate_mu_h * spu)  # ms per step at this rate
        made_before = self.hw.motor.steps_done()
        t = 0
        end = minutes * 60000
        while t < end:
            if self.sup.may_move():
                self.sup.move(1, 1)
            self._advance(step_ms)
            t += step_ms
            if stop_on_alarm and self.alarms.stops_delivery():
                return t, self.hw.motor.steps_done() - made_before
        return None, self.hw.motor.steps_done() - made_before

    def _advance(self, ms):
        self.clock.advance(ms)
        self.alarms.advance(ms)
        self.sup.watch(ms)


def occlusion_figures(rate_mu_h, supervisor_rig):
    """(minutes to the alarm, U pushed into the blocked line, U released when it clears) for
    delivery at rate_mu_h into a line that blocks after two minutes of open flow.
    supervisor_rig is an object with clock, hw, alarms and feeder, such as SupervisorRig."""
    r = supervisor_rig
    r.feeder.run(rate_mu_h, 2, r.rig.steps_per_unit, stop_on_alarm=False)
    r.hw.line.block()
    ms, _ = r.feeder.run(rate_mu_h, 48 * 60, r.rig.steps_per_unit)
    pushed_nl = r.hw.line.pushed_blocked_nl
    r.feeder._advance(1000)
    r.hw.line.clear()
    return (None if ms is None else ms / 60000), pushed_nl / 10000, r.hw.line.released_nl / 10000


BASE = {"basal_profiles": {"a": [["00:00", 1]]}, "active_profile": "a"}


class SupervisorRig:
    """A supervisor with its alarms on the virtual rig, fed steps as the engine would."""

    def __init__(self, settings=None, reservoir_u=200):
        import sim as board
        from pump.alarms import Alarms
        from pump.settings_user import rig_from_user, settings_from_user
        from pump.supervisor import Supervisor
        from rig import Hardware, VirtualClock

        self.clock = VirtualClock()
        self.rig = rig_from_user({}, board)
        self.settings = settings_from_user(dict(settings or BASE), self.rig)
        self.hw = Hardware(self.clock, self.rig, board.BORE_UM, record_buzzer=True)
        self.events = []
        self.alarms = Alarms(self.hw.buzzer, lambda code, f: self.events.append(dict(f)))
        self.sup = Supervisor(
            self.rig, self.settings, self.hw, self.alarms, self.rig.steps_for(reservoir_u * 1000)
        )
        self.feeder = Feeder(self.clock, self.hw, self.sup, self.alarms)

    def raised(self):
        return [e["code"] for e in self.events if e["state"] == "raised"]

    def wait(self, ms):
        self.feeder._advance(ms)
