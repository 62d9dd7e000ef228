"""The pump core: time, alarms and the safety supervisor around the therapy.

A deterministic state machine. Time comes in through `tick(now_ms)` (MicroPython ticks,
wrapping at 2**30 ms); commands are method calls that raise `Refused`, changing nothing,
when they cannot be obeyed; steps leave only through the supervisor, which is the one gate
to the motor, and totals are booked only from the steps the motor reports made. Events go
to `emit(code, fields)`. `hw` is the board's hardware, handed in: motor, buzzer, line (the
plunger force sensor), battery and seat (the plunger-seated switch).
"""

from pump.alarms import Alarms
from pump.compat import const, ticks_diff, unload
from pump.engine import BOLUS
from pump.errors import Refused
from pump.supervisor import Supervisor
from pump.therapy import RUNNING, STOPPED, SUSPENDED, Therapy

_MAX_WAKE_MS = const(60000)
_DAY_MS = const(86400000)
_OPS_MS = const(300000)  # an operational record every 5 minutes
_SUSPEND_REMIND_MS = const(1800000)  # a suspended pump reminds after 30 minutes
_PROGRESS_MU = const(500)  # a bolus logs its progress every 0.5 U
LAST_DAY = const(36524)  # 2099-12-31: the calendar's and the history's range


class Pump(Therapy):
    def __init__(self, settings, rig, hw, emit, now_ms, day, tod_ms, reservoir_mu, history=None):
        self._outer_emit = emit
        self._recorder = None
        super().__init__(settings, rig, hw.motor, self._event, day, tod_ms, reservoir_mu)
        self.hw = hw
        self._ms_in_minute = 0
        self._last_ms = now_ms
        self.alarms = Alarms(hw.buzzer, self._event)
        self.supervisor = Supervisor(rig, settings, hw, self.alarms, self.reservoir_steps)
        self._auto_off_left_ms = settings.auto_off_min * 60000
        self._set_change_left_ms = settings.set_change_min * 60000
        self._remind_left_ms = 0
        # operational records on the clock's 5-minute marks (00:00, 00:05, ...), so each
        # interval lies in one day for the daily totals
        self._ops_left_ms = _OPS_MS - tod_ms % _OPS_MS
        self._ops_basal_steps = 0
        self._ops_count = 0
        self._progress_steps = 0
        if history is not None:
            from pump.recorder import Recorder

            self._recorder = Recorder(history, self)

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
        # a stopping alarm stops a running pump, and any dose in flight; a pump already
        # suspended and idle stays suspended (and cannot resume while the alarm is active)
        top = self.alarms.top()
        if top and self.alarms.stops_delivery() and (self.mode == RUNNING or not self.idle()):
            self._stop_all(top[0])
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
            # Basal owed when a record counts it can be dropped by a stop before it is made,
            # so the count can go down. A record never holds a negative amount: the shortfall
            # is kept back and taken off the next records. Until then the records overstate
            # basal by those steps (a step or two), never understate it, so what is rebuilt
            # from them after a reset (limits, insulin on board) errs on the safe side.
            basal = self.basal_steps_owed()
            since = basal - self._ops_basal_steps
            self.emit(
                "operational",
                {
                    "rate_mu_h": self.basal.num_mu,
                    "basal_mu": self.rig.mu_for(since) if since > 0 else 0,
                    "iob_mu": self.iob_mu(),
                },
            )
            if since >= 0:
                self._ops_basal_steps = basal

    # --------------------------------------------------------- safety hooks

    def _gate(self, steps, therapy_steps, basal_steps):
        return self.supervisor.move(steps, therapy_steps, basal_steps)

    def _halted(self):
        self.supervisor.halted()

    def _event(self, code, fields):
        """Every event is recorded and goes out; the ones that matter to safety raise alarms."""
        if self._recorder:
            self._recorder.on_event(code, fields)
        if code == "limit_reached" and fields["kind"] == "basal":
            self.alarms.raise_("limit_" + fields["limit"])
        elif code == "limit_released":
            self.alarms.cause_gone("limit_" + fields["limit"])
        elif code == "bolus_started":
            self.supervisor.bolus_begins()
            self._progress_steps = 0
        elif code == "dose" and fields["kind"] in ("normal", "extended", "dual"):
            self.supervisor.bolus_ends()
        elif code == "temp_capped" and fields["cap_mu_h"]:
            self.alarms.raise_("temp_capped")
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

    def _credit(self, kind, n):
        super()._credit(kind, n)
        b = self.current_bolus
        if (
            kind == BOLUS
            and b
            and b.delivered_steps - self._progress_steps >= self.rig.steps_for(_PROGRESS_MU)
        ):
            # a power cut mid-bolus must leave evidence of what was delivered
            self._progress_steps = b.delivered_steps
            self.emit(
                "bolus_progress",
                {
                    "kind": b.kind,
                    "source": b.source,
                    "programmed_mu": b.programmed_mu,
                    "delivered_mu": self.rig.mu_for(b.delivered_steps),
                },
            )

    def history(self):
        """The history memory (pump/history.py), or None on a pump run without one."""
        return self._recorder.history if self._recorder else None

    def refused(self, command, requested_mu=0, source="buttons"):
        """The shell reports a command the pump refused (its Refused was shown to the person),
        for the history: what it was and the amount asked for."""
        if self._recorder:
            self._recorder.refused(command, requested_mu, source)

    def firmware_error(self, where, text):
        """The shell's last-chance handler: an exception escaped task `where` (a small number,
        docs/history.md). The motor is already stopped; this leaves it in the history."""
        self.halt()
        if self._recorder:
            self._recorder.firmware_error(where, text)

    def powered_on(self):
        """A first start: log it."""
        if self._recorder:
            self._recorder.power_on()

    def restore(self, history, now_s, settings_known=True):
        """After an unexpected restart: suspended with an alarm; an interrupted dose logged and
        never resumed; the rolling limits rebuilt from history so a reset cannot bypass them.
        history is the open History the pump was made with; now_s the clock's time in s;
        settings_known False when the pump runs on defaults (the bounds then take the
        firmware's ceilings: the person's limits may be higher than the defaults)."""
        from pump.restart import restore

        restore(self, history, now_s, _PROGRESS_MU, settings_known)  # progress every _PROGRESS_MU
        restore = None
        unload("pump.restart")  # a restart's work is done
        self.halt(keep_basal=False)
        self._set_mode(SUSPENDED, "restart")
        self.alarms.raise_("unexpected_restart")

    def clock_lost(self):
        """The pump was off too long to trust its clock: therapy that follows the time of day
        waits (resume is refused) until a person confirms the time (confirm_time)."""
        self.alarms.raise_("clock_lost")

    def confirm_time(self, day, tod_ms, source="buttons"):
        """A person confirms (or sets) the date and time of day."""
        if type(day) is not int or type(tod_ms) is not int or not 0 <= tod_ms < 86400000:
            raise Refused("time", "not a time of day")
        if not 0 <= day <= LAST_DAY:
            raise Refused("time", "the date is outside 2000-01-01..2099-12-31")
        before_s = self.day * 86400 + self.tod_ms // 1000
        self.day = day
        self.tod_ms = tod_ms
        self._enter_segment()
        self._update_basal()
        self.emit("time_set", {"day": day, "tod_ms": tod_ms, "before_s": before_s, "source": source})
        if self.alarms.is_active("clock_lost"):
            self.alarms.cause_gone("clock_lost")

    def self_test_failed(self, reason):
        """The start-up self test failed: nothing moves until a start passes it."""
        self.halt(keep_basal=False)
        self._set_mode(SUSPENDED, "self_test_failed")
        self.emit("self_test_failed", {"reason": reason})
        self.alarms.raise_("self_test_failed")

    def settings_invalid(self, problem):
        """The settings file could not be used: the pump runs on nothing it read, stays
        suspended and alarms until settings are confirmed (confirm_settings)."""
        self.halt(keep_basal=False)
        self._set_mode(SUSPENDED, "settings_invalid")
        self.emit("settings_invalid", {"reason": problem})
        self.alarms.raise_("settings_invalid")

    def confirm_settings(self, settings, save=None, source="buttons"):
        """Settings a person entered or confirmed replace the pump's. Only while suspended or
        stopped, with no dose or temporary basal running. save(), when given, stores them
        first (pump/settings_store.py); if it raises, nothing changes."""
        if self.mode == RUNNING or not self.idle() or self.current_bolus or self.prime_dose or self.temp:
            raise Refused("settings", "suspend the pump (and end any temporary basal) first")
        if save is not None:
            save()
        self.settings = settings
        self.supervisor.settings = settings
        self.iob.reconfigure(settings.dia_min, settings.peak_min)
        self._auto_off_left_ms = settings.auto_off_min * 60000
        self._enter_segment()
        self._update_basal()
        self.supervisor.settings_changed()
        self.emit("settings", {"source": source})
        if self.alarms.is_active("settings_invalid"):
            self.alarms.cause_gone("settings_invalid")

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

    # A bolus or prime starts only with its start on the flash: records that wait in RAM
    # while the flash fails are lost with the power, and a restart could then not count the
    # dose against the limits. (Basal runs on: HISTORY ERROR says the flash is failing.)

    def bolus(self, amount_mu, now_pct=100, extended_min=0, source="buttons", carbs_g=0):
        self._check_recordable()
        super().bolus(amount_mu, now_pct, extended_min, source, carbs_g)
        self._check_recorded()

    def prime(self, amount_mu, source="buttons"):
        self._check_recordable()
        super().prime(amount_mu, source)
        self._check_recorded()

    def _check_recordable(self):
        if self._recorder and self._recorder.history.queued:
            raise Refused("units", "the history cannot record it (flash failing): no dose until it can")

    def _check_recorded(self):
        """Its start record did not reach the flash: end it before a step moves."""
        if self._recorder and self._recorder.history.queued:
            if self.current_bolus:
                self._end_bolus("stopped")
            if self.prime_dose:
                self.emit("dose", self.prime_dose.record("stopped", self.rig))
                self.prime_dose = None
            raise Refused("units", "not recorded (the flash failed): nothing was given")

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
        """Resume from a suspend or a stop, once every stopping alarm is cleared and the
        time of day is trusted (basal follows it)."""
        top = self.alarms.top()
        if top and self.alarms.stops_delivery() and self.mode != RUNNING:
            raise Refused("resume", "clear the alarm first: " + top[2])
        if self.alarms.is_active("clock_lost"):
            raise Refused("resume", "confirm the time first")
        if self.mode == STOPPED:
            if not self.hw.seat.seated():
                raise Refused("resume", "the plunger is not seated")
            self._set_mode(RUNNING, source)
            return
        super().resume(source)
