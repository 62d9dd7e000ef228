"""Therapy: what the pump is programmed to deliver, and the commands that program it.

Basal schedules and temporary basal, boluses, priming, the reservoir, the rolling limits and
insulin on board, over the delivery engine. Every command either does exactly what it says
or raises `Refused` and changes nothing. pump/core.py adds time, alarms and the supervisor.
"""

from pump.compat import const
from pump.engine import BASAL, BOLUS, PRIME, Engine
from pump.errors import Refused, check_int
from pump.iob import InsulinOnBoard
from pump.limits import RollingTotals
from pump.settings import highest, next_boundary_min, segment_at
from pump.units import fmt_milli, fmt_u

_DAY_MS = const(86400000)
# The monotonic minute counter starts here, not at 0, so that a restart can book the last
# day's deliveries (limits, insulin on board) at the earlier minutes they happened.
_FIRST_MINUTE = const(2000)
_MAX_PRIME_MU = const(30000)

RUNNING = "running"
SUSPENDED = "suspended"
STOPPED = "stopped"


class TempBasal:
    def __init__(self, percent, rate_mu_h, minutes, programmed_mu, source, base_steps):
        self.percent = percent  # None for an absolute rate
        self.rate_mu_h = rate_mu_h
        self.left_ms = minutes * 60000
        self.age_ms = 0
        self.programmed_mu = programmed_mu
        self.source = source
        # basal steps already owed when it began: they belong to the rate before it
        self.base_steps = base_steps
        self.capped_mu_h = 0  # the cap it runs at while the rate it asks is above it; 0: not


class Therapy(Engine):
    def __init__(self, settings, rig, motor, emit, day, tod_ms, reservoir_mu):
        super().__init__(rig, motor, reservoir_mu)
        self.settings = settings
        self.emit = emit
        self.mode = RUNNING
        self.day = day  # days since 2000-01-01
        self.tod_ms = tod_ms  # local time of day
        self.minute = _FIRST_MINUTE  # monotonic minutes, counted on from here
        self._suspend_left_ms = 0  # 0: no automatic resume
        self.temp = None
        self.last_bolus = None  # (delivered mU, local ms of day it ended) of the last bolus
        self.limit_hold = ""  # "hourly"/"daily" while basal is held at a limit
        self.totals = RollingTotals(_FIRST_MINUTE)
        self.iob = InsulinOnBoard(settings.dia_min, settings.peak_min)
        self._enter_segment()
        self._update_basal()

    def _advance_therapy(self, ms):
        """Run the therapy's own timers on by ms: temp basal and timed suspend."""
        t = self.temp
        if t:
            t.age_ms += ms
            t.left_ms -= ms
            if t.left_ms <= 0:
                self._end_temp("completed")
        if self._suspend_left_ms:
            self._suspend_left_ms -= ms
            if self._suspend_left_ms <= 0:
                self._suspend_left_ms = 0
                self._set_mode(RUNNING, "timed_resume")
        self._update_basal()

    # -------------------------------------------------- steps and limits

    def _credit(self, kind, n):
        super()._credit(kind, n)
        if kind == PRIME:
            return
        self.totals.book(n)
        if kind == BOLUS:
            self.iob.add(self.minute, self.rig.mu_for(n))

    def _check_doses(self):
        if not self.idle():
            return
        b = self.current_bolus
        if b:
            if b.finished():
                self._end_bolus("completed")
            elif b.now_part_done() and b.ext_steps:
                b.start_extended()
        p = self.prime_dose
        if p and p.finished():
            self.prime_dose = None
            self.emit("dose", p.record("completed", self.rig))

    def _room_steps(self):
        """(steps still allowed by the rolling limits, the name of the tighter limit)."""
        spu = self.rig.steps_per_unit
        s = self.settings
        hour = s.max_hourly_mu * spu // 1000 - self.totals.hour_steps
        day = s.max_daily_mu * spu // 1000 - self.totals.day_steps
        return (hour, "hourly") if hour <= day else (day, "daily")

    def _allow(self, kind, steps):
        room, name = self._room_steps()
        if steps <= room:
            return True
        if kind == BOLUS:
            self.emit("limit_reached", {"limit": name, "kind": "bolus"})
            self._end_bolus("limit")
        elif not self.limit_hold:
            self.limit_hold = name
            self.emit("limit_reached", {"limit": name, "kind": "basal"})
            self._update_basal()
        return False

    def _basal_enabled(self):
        return self.mode == RUNNING

    def _reservoir_empty(self):
        self.emit("reservoir_empty", {"reservoir_mu": self.rig.mu_for(self.reservoir_steps)})
        self._stop_all("reservoir_empty")

    def _stop_all(self, reason):
        self.halt(keep_basal=False)
        if self.current_bolus:
            self._end_bolus(reason)
        if self.prime_dose:
            self.emit("dose", self.prime_dose.record(reason, self.rig))
            self.prime_dose = None
        self._set_mode(STOPPED, reason)

    # ---------------------------------------------------------------- basal

    def scheduled_mu_h(self):
        return self._segment_mu_h

    def _enter_segment(self):
        """Look the schedule up once per segment, not on every tick."""
        sched = self.settings.schedule()
        tod_min = self.tod_ms // 60000
        self._segment_mu_h = segment_at(sched, tod_min)
        self._highest_mu_h = highest(sched)
        self._segment_end_ms = (tod_min + next_boundary_min(sched, tod_min)) * 60000

    def programmed_basal_mu_h(self):
        """The basal rate in force: the schedule's, or a temp basal's held to its cap."""
        t = self.temp
        if t is None:
            return self.scheduled_mu_h()
        asked = self._temp_asked_mu_h(t)
        cap = self.temp_cap_mu_h()
        return asked if asked <= cap else cap

    def _temp_asked_mu_h(self, t):
        if t.percent is None:
            return t.rate_mu_h or 0  # a temp basal has a percent or a rate
        return self.scheduled_mu_h() * t.percent // 100

    def _check_temp_cap(self):
        """The cap holds at every moment (S3): a profile switch, a settings change, a change
        of the time or the next segment can lower it under a running temp basal, which then
        runs at the cap, as oref0 clamps; each change is told (temp_capped, cap 0: released)."""
        t = self.temp
        if t is None:
            return
        asked = self._temp_asked_mu_h(t)
        cap = self.temp_cap_mu_h()
        capped = cap if asked > cap else 0
        if capped != t.capped_mu_h:
            t.capped_mu_h = capped
            self.emit("temp_capped", {"rate_mu_h": asked, "cap_mu_h": capped, "source": "auto"})

    def _update_basal(self):
        self._check_temp_cap()
        programmed = self.programmed_basal_mu_h()
        if self.limit_hold:
            # held basal restarts once 15 minutes of it fit inside both limits again
            if self._room_steps()[0] >= (self.rig.steps_for(programmed // 4) or 1):
                self.emit("limit_released", {"limit": self.limit_hold})
                self.limit_hold = ""
        running = self.mode == RUNNING and not self.limit_hold
        self.set_basal_rate(programmed if running else 0)

    def _set_mode(self, mode, reason):
        if mode != self.mode:
            self.mode = mode
            self._update_basal()
            self.emit("mode", {"mode": mode, "reason": reason})

    # ------------------------------------------------------------- commands

    def bolus(self, amount_mu, now_pct=100, extended_min=0, source="buttons", carbs_g=0):
        """Program a normal, extended (now_pct 0) or dual bolus; refused up front, never clamped.
        carbs_g: the meal the calculator was given for it (0: none), kept in its history record."""
        s = self.settings
        check_int(carbs_g, "carbs_g", 0, 300)
        if self.mode != RUNNING:
            raise Refused("units", "the pump is " + self.mode + "; resume delivery first")
        if self.current_bolus or self.prime_dose:
            raise Refused("units", "a bolus or prime is running; cancel it first")
        amount_mu -= amount_mu % s.bolus_increment_mu
        if amount_mu <= 0:
            raise Refused("units", "below the smallest bolus " + fmt_u(s.bolus_increment_mu))
        if amount_mu > s.max_bolus_mu:
            raise Refused("units", fmt_u(amount_mu) + " is above max bolus " + fmt_u(s.max_bolus_mu))
        if extended_min:
            if not 15 <= extended_min <= 480 or extended_min % 15:
                raise Refused("extended_min", "%d is not 15..480 minutes in steps of 15" % extended_min)
            if not 0 <= now_pct < 100:
                raise Refused("now_pct", "%d is not 0..99 %% for an extended or dual bolus" % now_pct)
        elif now_pct != 100:
            raise Refused("now_pct", "a part given now needs extended_min for the rest")
        allowed, name = self.bolus_allowed()
        if amount_mu > allowed:
            raise Refused(
                "units",
                "%s would break the %s limit; %s still allowed" % (fmt_u(amount_mu), name, fmt_u(allowed)),
            )
        now_mu = amount_mu * now_pct // 100
        now_mu -= now_mu % s.bolus_increment_mu
        ext_mu = amount_mu - now_mu
        rig = self.rig
        kind = "normal" if not extended_min else ("dual" if now_mu else "extended")
        now_steps = rig.steps_for(now_mu)
        ext_steps = rig.steps_for(ext_mu)
        self._bolus.begin(
            kind, source, amount_mu, now_steps, ext_steps, ext_mu, extended_min * 60000, rig.bolus_mu_per_min
        )
        self.current_bolus = self._bolus
        self.emit(
            "bolus_started",
            {
                "kind": kind,
                "programmed_mu": amount_mu,
                "now_mu": now_mu,
                "extended_min": extended_min,
                "source": source,
                "carbs_g": carbs_g,
            },
        )

    def bolus_allowed(self):
        """(largest bolus allowed now in mU, the limit that sets it)."""
        s = self.settings
        room, name = self._room_steps()
        room_mu = self.rig.mu_for(room) if room > 0 else 0
        if s.max_bolus_mu <= room_mu:
            return s.max_bolus_mu, "max bolus"
        room_mu -= room_mu % s.bolus_increment_mu
        return room_mu, name + " " + fmt_u(s.max_hourly_mu if name == "hourly" else s.max_daily_mu)

    def cancel_bolus(self, source="buttons"):
        if not self.current_bolus:
            raise Refused("bolus", "no bolus is running")
        self.halt()
        self._end_bolus("cancelled")

    def _end_bolus(self, status):
        b = self.current_bolus
        self.current_bolus = None
        if b is not None:
            self.last_bolus = (self.rig.mu_for(b.delivered_steps), self.tod_ms)
            self.emit("dose", b.record(status, self.rig))

    def temp_basal(self, minutes, percent=None, rate_mu_h=None, source="buttons"):
        """A temporary basal by percent of the schedule or as an absolute rate, capped (S3)."""
        if (percent is None) == (rate_mu_h is None):
            raise Refused("temp_basal", "give either percent or rate_u_h")
        if self.mode == STOPPED:
            raise Refused("temp_basal", "delivery is stopped")
        if not 15 <= minutes <= 1440 or minutes % 15:
            raise Refused("minutes", "%d is not 15..1440 minutes in steps of 15" % minutes)
        if percent is not None and not 0 <= percent <= 250:
            raise Refused("percent", "%d is outside 0..250 %%" % percent)
        cap = self.temp_cap_mu_h()
        peak, programmed = self._temp_plan(minutes, percent, rate_mu_h)
        if peak > cap:
            raise Refused(
                "percent" if rate_mu_h is None else "rate_u_h",
                "reaches %s U/h, above the cap %s U/h" % (fmt_milli(peak), fmt_milli(cap)),
            )
        if self.temp:
            self._end_temp("replaced")
        if rate_mu_h is not None:
            rate_mu_h -= rate_mu_h % 10
        self.temp = TempBasal(percent, rate_mu_h, minutes, programmed, source, self.basal_steps_owed())
        self._update_basal()
        self.emit(
            "temp_basal_started",
            {
                "percent": -1 if percent is None else percent,
                "rate_mu_h": self.programmed_basal_mu_h(),
                "minutes": minutes,
                "source": source,
            },
        )

    def temp_cap_mu_h(self):
        """min(max basal, 3 x highest scheduled, 4 x current scheduled)."""
        s = self.settings
        return min(s.max_basal_mu_h, 3 * self._highest_mu_h, 4 * self._segment_mu_h)

    def _temp_plan(self, minutes, percent, rate_mu_h):
        """(highest rate the temp basal would run at, its programmed total in mU).

        Walked from the current millisecond over exactly the temp's span, so a temp that
        starts part-way through a minute is checked over every segment it reaches.
        """
        if percent is None:
            rate_mu_h -= rate_mu_h % 10
            return rate_mu_h, rate_mu_h * minutes // 60
        sched = self.settings.schedule()
        t = self.tod_ms
        left = minutes * 60000
        peak = total = 0  # total in mU x ms / h
        while left > 0:
            span = min(next_boundary_min(sched, t // 60000) * 60000 - t % 60000, left)
            rate = segment_at(sched, t // 60000) * percent // 100
            peak = rate if rate > peak else peak
            total += rate * span
            left -= span
            t = (t + span) % _DAY_MS
        return peak, total // 3600000

    def cancel_temp_basal(self, source="buttons"):
        if not self.temp:
            raise Refused("temp_basal", "no temporary basal is running")
        self._end_temp("cancelled")

    def _end_temp(self, status):
        t = self.temp
        self.temp = None
        self._update_basal()
        if t is None:
            return
        self.emit(
            "dose",
            {
                "kind": "temp_basal",
                "source": t.source,
                "status": status,
                "programmed_mu": t.programmed_mu,
                "duration_ms": t.age_ms,
                "delivered_mu": self.rig.mu_for(max(0, self.steps[BASAL] - t.base_steps)),
            },
        )

    def suspend(self, minutes=0, source="buttons"):
        """Stop all delivery; a bolus or prime in progress ends and is never resumed."""
        if self.mode != RUNNING:
            raise Refused("suspend", "the pump is already " + self.mode)
        if minutes and not 15 <= minutes <= 1440:
            raise Refused("minutes", "%d is outside 15..1440 minutes" % minutes)
        self.halt()
        if self.current_bolus:
            self._end_bolus("suspended")
        if self.prime_dose:
            self.emit("dose", self.prime_dose.record("suspended", self.rig))
            self.prime_dose = None
        self._suspend_left_ms = minutes * 60000
        self._set_mode(SUSPENDED, source)

    def resume(self, source="buttons"):
        if self.mode != SUSPENDED:
            raise Refused("resume", "the pump is " + self.mode + ", not suspended")
        self._suspend_left_ms = 0
        self._set_mode(RUNNING, source)

    def set_profile(self, name, source="buttons"):
        if name not in self.settings.profiles:
            raise Refused("name", "no basal profile named " + repr(name))
        self.settings.active_profile = name
        self._enter_segment()
        self._update_basal()
        self.emit("profile", {"name": name, "source": source})

    def prime(self, amount_mu, source="buttons"):
        """Fill tubing or cannula at bolus speed: uses the reservoir, is not therapy."""
        if self.mode == STOPPED:
            raise Refused("units", "delivery is stopped")
        if self.current_bolus or self.prime_dose:
            raise Refused("units", "a bolus or prime is running; cancel it first")
        steps = self.rig.steps_for(amount_mu)
        if not steps or amount_mu > _MAX_PRIME_MU:
            raise Refused("units", fmt_u(amount_mu) + " is outside one motor step..30 U")
        if steps > self.reservoir_steps:
            raise Refused("units", "the reservoir holds only " + fmt_u(self.reservoir_mu()))
        self._prime.begin("prime", source, amount_mu, steps, 0, 0, 0, self.rig.bolus_mu_per_min)
        self.prime_dose = self._prime
        self.emit("prime_started", {"programmed_mu": amount_mu, "source": source})

    def new_reservoir(self, amount_mu, source="buttons"):
        """A freshly filled reservoir (10..300 U); delivery stays suspended until resumed."""
        if self.mode == RUNNING or self.prime_dose:
            raise Refused("units", "suspend delivery before changing the reservoir")
        if not 10000 <= amount_mu <= 300000:
            raise Refused("units", fmt_u(amount_mu) + " is outside 10..300 U")
        self.reservoir_steps = self.rig.steps_for(amount_mu)
        self.emit("reservoir", {"fill_mu": amount_mu, "source": source})
        self._set_mode(SUSPENDED, "new_reservoir")

    def calc(self, carbs_g, bg_mgdl, deliver, source="buttons"):
        """The bolus calculator at the current time of day; optionally deliver its suggestion."""
        from pump import calculator  # loaded on first use: most pumps' ticks never need it

        s = self.settings
        tod_min = self.tod_ms // 60000
        try:
            sug = calculator.suggest_bolus(
                carbs_g,
                bg_mgdl,
                segment_at(s.icr_dg_per_u, tod_min),
                segment_at(s.isf_mgdl_per_u, tod_min),
                segment_at(s.target_mgdl, tod_min),
                self.iob_mu(),
                s.max_bolus_mu,
                s.bolus_increment_mu,
            )
        except ValueError as e:
            raise Refused("calc", str(e))
        self.emit(
            "calc",
            {
                "carb_mu": sug.carb_mu,
                "correction_mu": sug.correction_mu,
                "iob_used_mu": sug.iob_used_mu,
                "suggested_mu": sug.suggested_mu,
                "note": sug.note,
            },
        )
        if deliver and sug.suggested_mu:
            self.bolus(sug.suggested_mu, source=source, carbs_g=carbs_g)
        return sug

    # ---------------------------------------------------------------- views

    def iob_mu(self):
        return self.iob.iob_mu(self.minute)

    def reservoir_mu(self):
        return self.rig.mu_for(self.reservoir_steps)
