"""The delivery engine: credulous machinery that turns programmed rates into motor steps.

It integrates the basal channel and the active bolus or prime, hands owed steps to the
motor in batches, and books a batch's steps only as the motor reports them made: a stopped
or stalled move is billed for what moved and no more. What may be delivered is decided by
the core (pump/core.py) through `_allow`; the engine only does as it is told.
"""

from pump.channel import Channel
from pump.compat import const
from pump.dose import Dose

BASAL = const(0)
BOLUS = const(1)
PRIME = const(2)
_HOUR_MS = const(3600000)


class Engine:
    def __init__(self, rig, motor, reservoir_mu):
        self.rig = rig
        self.motor = motor
        self.basal = Channel()
        self.owed_basal = 0
        self.current_bolus = None  # _bolus while a bolus runs
        self.prime_dose = None  # _prime while priming
        self._bolus = Dose()
        self._prime = Dose()
        self._inflight = []  # [kind, steps] in the order the motor makes them
        self._inflight_steps = 0
        self._motor_seen = motor.steps_done()
        self.steps = [0, 0, 0]  # steps made, by kind: basal, bolus, prime
        self.reservoir_steps = rig.steps_for(reservoir_mu)

    def set_basal_rate(self, rate_mu_h):
        if rate_mu_h != self.basal.num_mu:
            self.basal.set_rate(rate_mu_h, _HOUR_MS)

    def integrate(self, dt_ms):
        spu = self.rig.steps_per_unit
        self.owed_basal += self.basal.advance(dt_ms, spu)
        for dose in (self.current_bolus, self.prime_dose):
            if dose:
                dose.advance(dt_ms, spu)

    def ms_to_next_step(self):
        """Time until a channel owes its next step, or until the motor should be done."""
        spu = self.rig.steps_per_unit
        if self._inflight_steps:
            return self._inflight_steps * 1000 // self.rig.step_hz + 1
        if (self.owed_basal and self._basal_enabled()) or any(
            d and d.owed_steps for d in (self.current_bolus, self.prime_dose)
        ):
            return 0  # owed steps wait for a tick to hand them to the motor
        best = None
        for ms in (
            self.basal.ms_to_next_step(spu),
            self.current_bolus.ms_to_next_step(spu) if self.current_bolus else None,
            self.prime_dose.ms_to_next_step(spu) if self.prime_dose else None,
        ):
            if ms is not None and (best is None or ms < best):
                best = ms
        return best

    def collect(self):
        """Book what the motor made since the last look; False if its count cannot be right."""
        done = self.motor.steps_done()
        moved = done - self._motor_seen
        self._motor_seen = done
        if moved < 0 or moved > self._inflight_steps:
            self.motor.stop()
            self._inflight = []
            self._inflight_steps = 0
            return False
        self._inflight_steps -= moved
        while moved:
            part = self._inflight[0]
            n = part[1] if part[1] < moved else moved
            self._credit(part[0], n)
            part[1] -= n
            moved -= n
            if not part[1]:
                self._inflight.pop(0)
        return True

    def _credit(self, kind, n):
        self.steps[kind] += n
        self.reservoir_steps -= n
        dose = self.current_bolus if kind == BOLUS else self.prime_dose if kind == PRIME else None
        if dose is not None:
            dose.delivered_steps += n

    def basal_steps_owed(self):
        """Basal steps made, in flight or waiting: everything the basal channel has owed."""
        owed = self.steps[BASAL] + self.owed_basal
        for kind, n in self._inflight:
            if kind == BASAL:
                owed += n
        return owed

    def idle(self):
        return not self._inflight_steps

    def dispatch(self):
        """Hand every owed step the core allows to the motor, as one batch."""
        if self._inflight_steps:
            return
        batch = []
        total = 0
        p = self.prime_dose
        if p and p.owed_steps:
            batch.append([PRIME, p.owed_steps])
            total = p.owed_steps
            p.owed_steps = 0
        therapy = 0
        b = self.current_bolus
        if b and b.owed_steps and self._allow(BOLUS, b.owed_steps):
            batch.append([BOLUS, b.owed_steps])
            therapy = b.owed_steps
            b.owed_steps = 0
        if self.owed_basal and self._basal_enabled():
            if self._allow(BASAL, therapy + self.owed_basal):
                batch.append([BASAL, self.owed_basal])
                therapy += self.owed_basal
            self.owed_basal = 0
        total += therapy
        if not total:
            return
        if total > self.reservoir_steps:
            self._reservoir_empty()
            return
        if not self._gate(total, therapy, batch[-1][1] if batch[-1][0] == BASAL else 0):
            return
        self._inflight = batch
        self._inflight_steps = total

    def halt(self, keep_basal=True):
        """Stop the motor now and book exactly what it made.

        Bolus and prime steps it did not make are dropped with their dose. Basal steps it did
        not make stay owed (less than a step or two) unless keep_basal is False, so stopping
        a bolus never costs the basal schedule anything.
        """
        self.motor.stop()
        self.collect()
        self._halted()
        for kind, n in self._inflight:
            if kind == BASAL:
                self.owed_basal += n
        self._inflight = []
        self._inflight_steps = 0
        if not keep_basal:
            self.owed_basal = 0
        for dose in (self.current_bolus, self.prime_dose):
            if dose:
                dose.owed_steps = 0

    def _allow(self, kind, steps) -> bool:
        return True

    def _halted(self):
        """The motor has just been stopped on purpose."""

    def _gate(self, steps, therapy_steps, basal_steps) -> bool:
        """Start the motor on a batch (the last therapy_steps of it therapy, the last
        basal_steps of those basal); False if refused."""
        self.motor.move(steps)
        return True

    def _basal_enabled(self) -> bool:
        """False keeps owed basal waiting (while suspended) instead of handing it out."""
        return True

    def _reservoir_empty(self):
        pass

    def delivered_mu(self, kind):
        return self.rig.mu_for(self.steps[kind])
