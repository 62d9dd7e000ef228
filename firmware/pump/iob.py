"""Insulin on board (IOB): the OpenAPS (oref0) exponential insulin-activity curve.

This module owns the IOB curve table (fraction of a dose still active, per minute of age)
and the per-minute delivery record that IOB is summed from. Everything is integer
fixed point, so every interpreter produces the same table bit for bit.
"""

from pump.compat import const, zeros_h
from pump.errors import Refused, check_int

IOB_ONE = const(32768)  # a fraction of 1 is stored as a multiple of 1/32768
_IOB_SHIFT = const(15)
_IOB_MASK = const(32767)

_DIA_MIN_LOW = const(300)
_DIA_MIN_HIGH = const(480)
_PEAK_MIN_LOW = const(35)
_PEAK_MIN_HIGH = const(120)

# The largest total one minute's bucket may hold. Keeping bucket * IOB_ONE below 2**30
# keeps every per-bucket product a MicroPython small int on 32-bit boards (no heap
# allocation while summing). 30 U fits a 25 U max bolus plus that minute's basal.
MAX_MINUTE_MU = const(30000)

# exp() is evaluated in fixed point with this many fraction bits. The table needs 15
# bits; the rest absorbs rounding over up to 480 chained multiplications.
_EXP_BITS = const(48)


def _check_settings(dia_min, peak_min):
    check_int(dia_min, "dia_min", _DIA_MIN_LOW, _DIA_MIN_HIGH)
    check_int(peak_min, "peak_min", _PEAK_MIN_LOW, _PEAK_MIN_HIGH)
    # The model's tau is only positive for a peak before half the duration. The ranges
    # above already guarantee it; checked anyway so widening a range cannot slip by.
    if 2 * peak_min >= dia_min:
        raise Refused("peak_min", "%d is not below half of dia_min %d" % (peak_min, dia_min))


def _div_round(num, den):
    # Division rounded half up, for a numerator of either sign; den must be positive.
    return (2 * num + den) // (2 * den)


def _exp_neg_ratio(num, den, one):
    # exp(-num/den) * one by its Taylor series, for 0 < num/den < 1. Terms alternate and
    # shrink, so summing until a term rounds to zero is accurate to a few units of one.
    total = one
    term = one
    k = 1
    while True:
        term = _div_round(term * num, den * k)
        if term == 0:
            return total
        total = total - term if k & 1 else total + term
        k += 1


def _fx_mul(x, y):
    return (x * y + (1 << (_EXP_BITS - 1))) >> _EXP_BITS


def _fx_pow(base, n):
    # base**n in fixed point by repeated squaring (rounded at each step).
    result = 1 << _EXP_BITS
    while n:
        if n & 1:
            result = _fx_mul(result, base)
        base = _fx_mul(base, base)
        n >>= 1
    return result


def iob_table(dia_min, peak_min):
    """Fraction of a dose still on board at each whole minute of age 0..dia_min.

    Returns array('H') of dia_min + 1 entries in units of 1/IOB_ONE: entry 0 is IOB_ONE,
    entry dia_min is 0, non-increasing in between.
    """
    _check_settings(dia_min, peak_min)
    td = dia_min
    tp = peak_min
    one = 1 << _EXP_BITS
    # The oref0 parameters as exact rationals:
    #   tau = n / d,  a = 2 tau / td = 2n / p,  1 - a = (p - 2n) / p.
    n = tp * (td - tp)
    d = td - 2 * tp
    p = d * td
    pm = p - 2 * n  # may be negative (a > 1 for late peaks) but never zero for integers
    q = n * pm
    # S * (1 - a) = pm * one / den with den = pm * one + (p + 2n) * exp(-td/tau) * one.
    step = _exp_neg_ratio(d, n, one)  # exp(-1/tau)
    den = pm * one + (p + 2 * n) * _fx_pow(step, td)
    # fraction(t) = 1 - S (1-a) ((t^2 / (tau td (1-a)) - t/tau - 1) e^(-t/tau) + 1)
    #             = (n den - c(t) e_t - q one) / (n den),
    # with c(t) = t^2 d^2 - t d pm - q, after clearing every denominator; the only
    # inexact quantity left is e_t = exp(-t/tau) * one.
    whole = n * den
    if whole < 0:
        sign = -1
        whole = -whole
    else:
        sign = 1
    table = zeros_h(td + 1)
    e_t = one
    for t in range(td):
        c = t * t * d * d - t * d * pm - q
        value = _div_round(sign * (n * den - c * e_t - q * one) * IOB_ONE, whole)
        # Rounding noise could only push the two ends a hair past 0 or 1.
        table[t] = max(0, min(IOB_ONE, value))
        e_t = _fx_mul(e_t, step)
    table[0] = IOB_ONE  # exact by construction; stated so no rounding can move it
    table[td] = 0  # the model is defined as fully absorbed at dia
    return table


class InsulinOnBoard:
    """Insulin delivered per whole minute and the IOB it leaves at a later minute.

    Minutes are an absolute, never-decreasing counter. Memory is one ring of
    dia_min + 1 buckets: deliveries older than dia_min have no insulin left on board.
    """

    def __init__(self, dia_min, peak_min):
        _check_settings(dia_min, peak_min)
        # The ring first: the table's long-integer arithmetic leaves the heap in small pieces.
        # 16-bit buckets hold MAX_MINUTE_MU (30000), three times the fastest rig's minute.
        self._ring = zeros_h(dia_min + 1)
        self._table = iob_table(dia_min, peak_min)
        self.dia_min = dia_min
        self.peak_min = peak_min
        self._last_minute = -1  # no minute recorded yet

    def _check_minute(self, minute):
        check_int(minute, "minute", 0, None)
        if minute < self._last_minute:
            raise Refused("minute", "%d is before the last recorded minute %d" % (minute, self._last_minute))

    def add(self, minute, dose_mu):
        """Record dose_mu delivered during `minute` (added to that minute's bucket)."""
        self._check_minute(minute)
        check_int(dose_mu, "dose_mu", 0, MAX_MINUTE_MU)
        ring = self._ring
        size = len(ring)
        slot = minute % size
        # A minute after the last recorded one starts from an empty bucket.
        total_mu = dose_mu + (ring[slot] if minute == self._last_minute else 0)
        if total_mu > MAX_MINUTE_MU:
            raise Refused(
                "dose_mu",
                "%d would bring minute %d to %d mU, above %d" % (dose_mu, minute, total_mu, MAX_MINUTE_MU),
            )
        # Clear the slots of the minutes skipped since the last record; they may still
        # hold deliveries from one ring length ago.
        skipped = min(minute - self._last_minute, size)
        for m in range(minute - skipped + 1, minute):
            ring[m % size] = 0
        ring[slot] = total_mu
        self._last_minute = minute

    def add_past(self, minute, dose_mu):
        """Record dose_mu delivered during `minute`, which may be before the last recorded
        one (a restart books the past out of time order): into its bucket while the ring
        still holds that minute, capped at MAX_MINUTE_MU a minute; a minute the ring no
        longer holds has nothing left on board."""
        if minute >= self._last_minute:
            total = dose_mu + (self._ring[minute % len(self._ring)] if minute == self._last_minute else 0)
            self.add(minute, dose_mu if total <= MAX_MINUTE_MU else MAX_MINUTE_MU - (total - dose_mu))
            return
        check_int(minute, "minute", 0, None)
        if minute <= self._last_minute - len(self._ring):
            return
        slot = minute % len(self._ring)
        total = self._ring[slot] + dose_mu
        self._ring[slot] = total if total <= MAX_MINUTE_MU else MAX_MINUTE_MU

    def iob_mu(self, minute):
        """Insulin on board at `minute`, in mU (rounded down)."""
        self._check_minute(minute)
        last = self._last_minute
        if last < 0:
            return 0
        ring = self._ring
        size = len(ring)
        table = self._table
        # Sum the exact products and divide once: flooring each bucket would lose up to
        # 1 mU per bucket, always in the unsafe direction (IOB under-reported). Quotients
        # and remainders are kept apart so every intermediate stays a small int.
        whole_mu = 0
        rest = 0
        first = max(minute - self.dia_min, last - size + 1, 0)
        for m in range(first, last + 1):
            product = ring[m % size] * table[minute - m]
            whole_mu += product >> _IOB_SHIFT
            rest += product & _IOB_MASK
        return whole_mu + (rest >> _IOB_SHIFT)

    def reconfigure(self, dia_min, peak_min):
        """Change the curve; recorded buckets are kept as far as the new ring holds them."""
        table = iob_table(dia_min, peak_min)  # validates before any state changes
        old = self._ring
        old_size = len(old)
        size = dia_min + 1
        ring = zeros_h(size)
        last = self._last_minute
        if last >= 0:
            for m in range(max(0, last - min(old_size, size) + 1), last + 1):
                ring[m % size] = old[m % old_size]
        self._table = table
        self._ring = ring
        self.dia_min = dia_min
        self.peak_min = peak_min
