"""Exact rate integration: a programmed rate becomes whole motor steps with no drift.

A channel delivers `num_mu` milliunits per `period_ms` (basal: mU per hour; bolus: mU per
minute; extended bolus: its whole amount over its duration). Two integer remainders carry
what is not yet a whole milliunit and what is not yet a whole step, so the cumulative steps
are always floor(programmed integral) in steps: never ahead, less than one step behind.
Every product stays below 2**30 so the RP2040 never allocates a long integer here.
"""

from pump.compat import const

_PRODUCT_MAX = const(1 << 29)


class Channel:
    __slots__ = ("num_mu", "period_ms", "_chunk_ms", "_acc", "_rem", "owed_mu")

    def __init__(self):
        self.num_mu = 0
        self.period_ms = 1
        self._chunk_ms = 0
        self._acc = 0  # mU x ms not yet a whole mU, in units of 1/period_ms
        self._rem = 0  # mU x steps_per_unit not yet a whole step, in units of 1/1000
        self.owed_mu = 0  # whole mU integrated since the channel was last reset

    def set_rate(self, num_mu, period_ms):
        """Change the rate from now on; what is owed so far is kept."""
        self.num_mu = num_mu
        self.period_ms = period_ms
        self._chunk_ms = _PRODUCT_MAX // num_mu if num_mu else 0

    def reset(self):
        self.set_rate(0, 1)
        self._acc = 0
        self._rem = 0
        self.owed_mu = 0

    def advance(self, dt_ms, steps_per_unit):
        """Integrate dt_ms at the current rate; return the whole steps that became owed."""
        if not self.num_mu or dt_ms <= 0:
            return 0
        mu = 0
        period = self.period_ms
        while dt_ms > 0:
            step_ms = dt_ms if dt_ms < self._chunk_ms else self._chunk_ms
            acc = self._acc + self.num_mu * step_ms
            whole = acc // period
            self._acc = acc - whole * period
            mu += whole
            dt_ms -= step_ms
        self.owed_mu += mu
        rem = self._rem + mu * steps_per_unit
        steps = rem // 1000
        self._rem = rem - steps * 1000
        return steps

    def ms_to_next_step(self, steps_per_unit):
        """Milliseconds until the next whole step is owed at the current rate (None if idle)."""
        if not self.num_mu:
            return None
        need_mu = (1000 - self._rem + steps_per_unit - 1) // steps_per_unit
        need_acc = need_mu * self.period_ms - self._acc
        return (need_acc + self.num_mu - 1) // self.num_mu
