"""The pump core: time, alarms and the safety supervisor around the therapy.

A deterministic state machine. Time comes in through `tick(now_ms)` (MicroPython ticks,
wrapping at 2**30 ms); commands are method calls that raise `Refused`, changing nothing,
when they cannot be obeyed; steps leave only through the supervisor, which is the one gate
to the motor, and totals are booked only from the steps the motor reports made. Events go
to `emit(code, fields)`. `hw` is the board's hardware, handed in: motor, buzzer, line (the
plunger force sensor), battery and seat (the plunger-seated switch).
"""

from pump.alarms import Alarms
from pump.compat import const, ticks_diff
from pump.errors import Refused
from pump.supervisor import Supervisor
from pump.therapy import RUNNING, STOPPED, SUSPENDED, Therapy

_MAX_WAKE_MS = const(60000)
_DAY_MS = const(86400000)
_OPS_MS = const(300000)  # an operational record every 5 minutes
_SUSPEND_REMIND_MS = const(1800000)  # a suspended pump reminds after 30 minutes


class Pump(Therapy):
    def __init__(self, settings, rig, hw, emit, now_ms, day, tod_ms, reservoir_mu):
        self._outer_emit = emit
        super().__init__(settings, rig, hw.motor, self._event, day, tod_ms, reservoir_mu)
        self.hw = hw
        self._ms_in_minute = 0
        self._last_ms = now_ms
        self.alarms = Alarms(hw.buzzer, emit)
        self.supervisor = Supervisor(rig, settings, hw, self.alarms, self.reservoir_steps)
        self._auto_off_left_ms = settings.auto_off_min * 60000
        self._set_change_left_ms = settings.set_change_min * 60000
        self._remind_left_ms = 0
        self._ops_left_ms = _OPS_MS
        self._ops_basal_steps = 0
        self._ops_count = 0

    # ----------------------------------------------------------------- time

    def tick(self, now_ms):
        """Advance to now_ms: integrate therapy, book the steps made, check, start owed ones."""
        dt = ticks_diff(now_ms, self._last_ms)
        self._last_ms = now_ms
        if dt < 0:
            self.emit("clock_backwards", {"ms": -dt})
            dt = 0
        left = dt
        while left > 0:
            step = min(left, self._ms_to_boundary())
            self._advance(step)
            left -= step
        if not self.collect():
            self.alarms.raise_("delivery_mismatch")
            self.alarms.cause_gone("delivery_mismatch")
        self.supervisor.watch(dt)
        backed = self.supervisor.take_backed_off()
        if backed:
            self.reservoir_steps += backed  # drawn back from the line into the syringe
            self.emit("back_off", {"steps": backed})
        if self.alarms.stops_delivery() and (self.mode != STOPPED or not self.idle()):
            self._stop_all(self.alarms.top()[0])
        self._check_doses()
        self.dispatch()

    def next_wake_ms(self):
        """How long the shell may sleep before the core needs another tick."""
        wake = min(_MAX_WAKE_MS - self._ms_in_minute, self._ms_to_boundary())
        for ms in (self.ms_to_next_step(), self.alarms.next_wake_ms()):
            if ms is not None and ms < wake:
                wake = ms
        return wake if wake > 0 else 1

    def _ms_to_boundary(self):
        """Time to the next schedule segment, therapy timer, reminder or record."""
        ms = self._segment_end_ms - self.tod_ms
        b = self.current_bolus
        for left in (
            self.temp.left_ms if self.temp else 0,
            self._suspend_left_ms,
            b.ext_left_ms if b else 0,
            self._auto_off_left_ms,
            self._set_change_left_ms,
            self._remind_left_ms,
            self._ops_left_ms,
        ):
            if 0 < left < ms:
                ms = left
        return ms

    def _advance(self, ms):
        self.integrate(ms)
        self.tod_ms += ms
        if self.tod_ms >= _DAY_MS:
            self.tod_ms -= _DAY_MS
            self.day += 1
        if self.tod_ms >= self._segment_end_ms or self.tod_ms < ms:
            self._enter_segment()
        self._ms_in_minute += ms
        while self._ms_in_minute >= 60000:
            self._ms_in_minute -= 60000
            self.minute += 1
        self.totals.advance_to(self.minute)
        self._advance_therapy(ms)
        self.alarms.advance(ms)
        self._advance_timers(ms)

    def _advance_timers(self, ms):
        if self._auto_off_left_ms:
            self._auto_off_left_ms -= ms
            if self._auto_off_left_ms <= 0:
                self._auto_off_left_ms = 0
                self.alarms.raise_("auto_off")
        if self._set_change_left_ms:
            self._set_change_left_ms -= ms
            if self._set_change_left_ms <= 0:
                self._set_change_left_ms = 0
                self.alarms.raise_("set_change_due")
        if self._remind_left_ms:
            self._remind_left_ms -= ms
            if self._remind_left_ms <= 0:
                self._remind_left_ms = _SUSPEND_REMIND_MS
                self.alarms.raise_("suspend_reminder")
        self._ops_left_ms -= ms
        if self._ops_left_ms <= 0:
            self._ops_left_ms = _OPS_MS
            self._ops_count += 1
            if self._ops_count % 2 == 0 and self.idle():  # every 10 minutes: 6 an hour
                self.supervisor.self_check(self.steps[0] + self.steps[1] + self.steps[2], self.tod_ms)
            basal = self.basal_steps_owed()
            self.emit(
                "operational",
                {
                    "rate_mu_h": self.basal.num_mu,
                    "basal_mu": self.rig.mu_for(basal - self._ops_basal_steps),
                    "iob_mu": self.iob_mu(),
                },
            )
            self._ops_basal_steps = basal

    # --------------------------------------------------------- safety hooks

    def _gate(self, steps, therapy_steps):
        return self.supervisor.move(steps, therapy_steps)

    def _halted(self):
        self.supervisor.halted()

    def _event(self, code, fields):
        """The therapy's events go out, and the ones that matter to safety raise alarms."""
        if code == "limit_reached" and fields["kind"] == "basal":
            self.alarms.raise_("limit_" + fields["limit"])
        elif code == "limit_released":
            self.alarms.cause_gone("limit_" + fields["limit"])
        elif code == "bolus_started":
            self.supervisor.bolus_begins()
        elif code == "dose" and fields["kind"] in ("normal", "extended", "dual"):
            self.supervisor.bolus_ends()
        elif code == "dose" and fields["kind"] == "temp_basal" and fields["status"] == "completed":
            self.alarms.raise_("temp_basal_ended")
        elif code == "mode":
            self._remind_left_ms = _SUSPEND_REMIND_MS if fields["mode"] == SUSPENDED else 0
            if fields["mode"] != SUSPENDED and self.alarms.is_active("suspend_reminder"):
                self.alarms.cause_gone("suspend_reminder")
        elif code == "reservoir":
            self.supervisor.new_reservoir(self.reservoir_steps)
            self._set_change_left_ms = self.settings.set_change_min * 60000
            if self.alarms.is_active("set_change_due"):
                self.alarms.cause_gone("set_change_due")
        self._outer_emit(code, fields)

    def _reservoir_empty(self):
        self.alarms.raise_("reservoir_empty")
        super()._reservoir_empty()

    # ------------------------------------------------------------- commands

    def key_pressed(self):
        """Any key: the person is there, so auto-off starts over."""
        if self.settings.auto_off_min:
            self._auto_off_left_ms = self.settings.auto_off_min * 60000
        if self.alarms.is_active("auto_off"):
            self.alarms.cause_gone("auto_off")

    def set_profile(self, name, source="buttons"):
        super().set_profile(name, source)
        self.supervisor.settings_changed()

    def ack(self):
        """Acknowledge the alarm on screen (see pump/alarms.py for what that clears)."""
        if not self.alarms.top():
            raise Refused("ack", "no alarm to acknowledge")
        self.alarms.ack()

    def silence(self, minutes):
        if not self.alarms.top():
            raise Refused("silence", "no alarm is sounding")
        self.alarms.silence(minutes)

    def resume(self, source="buttons"):
        """Resume from a suspend, or from a stop once every stopping alarm is cleared."""
        if self.mode == STOPPED:
            if self.alarms.stops_delivery():
                raise Refused("resume", "clear the alarm first: " + self.alarms.top()[2])
            if not self.hw.seat.seated():
                raise Refused("resume", "the plunger is not seated")
            self._set_mode(RUNNING, source)
            return
        super().resume(source)
