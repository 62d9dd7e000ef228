"""One dose in progress (bolus, prime or temporary basal) and the record it leaves.

A dose counts what was programmed and what the motor actually moved; when it ends, for
whatever reason, it becomes a `dose` event with both amounts. Nothing here ever restarts a
dose: an interrupted dose is finished, billed for what moved, and left for a person to judge.
"""

from pump.channel import Channel


class Dose:
    __slots__ = (
        "kind",
        "source",
        "programmed_mu",
        "now_steps",
        "ext_steps",
        "ext_ms",
        "delivered_steps",
        "owed_steps",
        "age_ms",
        "now",
        "ext",
        "ext_left_ms",
        "phase",
    )

    def __init__(self, kind, source, programmed_mu, now_steps, ext_steps, ext_ms):
        self.kind = kind
        self.source = source
        self.programmed_mu = programmed_mu
        self.now_steps = now_steps  # steps of the immediate part, at delivery speed
        self.ext_steps = ext_steps  # steps of the extended (square-wave) part
        self.ext_ms = ext_ms
        self.delivered_steps = 0
        self.owed_steps = 0  # owed by the channels, not yet handed to the motor
        self.age_ms = 0
        self.now = Channel()
        self.ext = Channel()
        self.ext_left_ms = 0
        self.phase = "now" if now_steps else "ext"

    def start(self, speed_mu_per_min, ext_mu):
        if self.phase == "now":
            self.now.set_rate(speed_mu_per_min, 60000)
        else:
            self.start_extended(ext_mu)

    def start_extended(self, ext_mu):
        self.phase = "ext"
        self.now.reset()
        self.ext.set_rate(ext_mu, self.ext_ms)
        self.ext_left_ms = self.ext_ms

    def total_steps(self):
        return self.now_steps + self.ext_steps

    def issued_steps(self):
        return self.delivered_steps + self.owed_steps

    def advance(self, dt_ms, steps_per_unit):
        """Integrate the active part; owed steps never pass the programmed steps."""
        self.age_ms += dt_ms
        if self.phase == "now":
            limit = self.now_steps
            owed = self.now.advance(dt_ms, steps_per_unit)
        else:
            limit = self.total_steps()
            owed = self.ext.advance(dt_ms, steps_per_unit)
            self.ext_left_ms -= dt_ms
            if self.ext_left_ms <= 0:
                self.ext_left_ms = 0
                self.ext.set_rate(0, 1)
        room = limit - self.issued_steps()
        self.owed_steps += owed if owed < room else room

    def ms_to_next_step(self, steps_per_unit):
        ch = self.now if self.phase == "now" else self.ext
        limit = self.now_steps if self.phase == "now" else self.total_steps()
        if self.issued_steps() >= limit:
            return None
        return ch.ms_to_next_step(steps_per_unit)

    def finished(self):
        return self.delivered_steps >= self.total_steps()

    def now_part_done(self):
        return self.phase == "now" and self.delivered_steps >= self.now_steps

    def record(self, status, rig):
        return {
            "kind": self.kind,
            "source": self.source,
            "programmed_mu": self.programmed_mu,
            "delivered_mu": rig.mu_for(self.delivered_steps),
            "duration_ms": self.age_ms,
            "status": status,
        }
