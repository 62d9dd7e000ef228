"""A dose in progress (bolus or prime) and the record it leaves.

A dose counts what was programmed and what the motor actually moved; when it ends, for
whatever reason, it becomes a `dose` event with both amounts. Nothing here ever restarts a
dose: an interrupted dose is finished, billed for what moved, and left for a person to judge.
The engine keeps one Dose for boluses and one for priming, allocated once and reused, so a
long run allocates nothing that lives on.
"""

from pump.channel import Channel


class Dose:
    def __init__(self):
        self.channel = Channel()
        self.begin("", "", 0, 0, 0, 0, 0, 0)

    def begin(self, kind, source, programmed_mu, now_steps, ext_steps, ext_mu, ext_ms, speed_mu_per_min):
        """Start a dose: now_steps at delivery speed, then ext_mu (ext_steps) spread over ext_ms."""
        self.kind = kind
        self.source = source
        self.programmed_mu = programmed_mu
        self.now_steps = now_steps
        self.ext_steps = ext_steps
        self.ext_mu = ext_mu
        self.ext_ms = ext_ms
        self.delivered_steps = 0
        self.owed_steps = 0  # owed by the channel, not yet handed to the motor
        self.age_ms = 0
        self.ext_left_ms = 0
        self.channel.reset()
        if now_steps:
            self.extended = False
            self.channel.set_rate(speed_mu_per_min, 60000)
        else:
            self.start_extended()

    def start_extended(self):
        """The square-wave part: ext_mu spread evenly over ext_ms."""
        self.extended = True
        self.channel.reset()
        if self.ext_mu:
            self.channel.set_rate(self.ext_mu, self.ext_ms)
        self.ext_left_ms = self.ext_ms

    def total_steps(self):
        return self.now_steps + self.ext_steps

    def advance(self, dt_ms, steps_per_unit):
        """Integrate the active part; owed steps never pass the programmed steps."""
        self.age_ms += dt_ms
        owed = self.channel.advance(dt_ms, steps_per_unit)
        if self.extended:
            limit = self.total_steps()
            self.ext_left_ms -= dt_ms
            if self.ext_left_ms <= 0:
                self.ext_left_ms = 0
                self.channel.set_rate(0, 1)
        else:
            limit = self.now_steps
        room = limit - self.delivered_steps - self.owed_steps
        self.owed_steps += owed if owed < room else room

    def ms_to_next_step(self, steps_per_unit):
        limit = self.total_steps() if self.extended else self.now_steps
        if self.delivered_steps + self.owed_steps >= limit:
            return None
        return self.channel.ms_to_next_step(steps_per_unit)

    def finished(self):
        return self.delivered_steps >= self.total_steps()

    def now_part_done(self):
        return not self.extended and self.delivered_steps >= self.now_steps

    def record(self, status, rig):
        return {
            "kind": self.kind,
            "source": self.source,
            "programmed_mu": self.programmed_mu,
            "delivered_mu": rig.mu_for(self.delivered_steps),
            "duration_ms": self.age_ms,
            "status": status,
        }
