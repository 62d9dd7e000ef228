"""Property-based tests (hypothesis) of the dosing engine and the pump core.

Each test states the requirement it checks. The reference models here are written from the
rules as documented (core.py / channel.py / limits.py docstrings and the pump's settings), in
exact integers or fractions.Fraction, and share no code with the firmware: the pump is driven
by its public commands on the virtual rig and judged by the steps its motor made.

All runs are derandomized (a fixed example sequence), so a failure reproduces exactly. The
explicit @examples are the smallest cases of faults these tests once found.
"""

from bisect import bisect_right
from fractions import Fraction

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from harness import Sim
from pump.channel import Channel
from pump.engine import BASAL, BOLUS
from pump.errors import Refused
from rig import run_until

HOUR_MS = 3600000
DAY_MIN = 1440

_FAST = dict(derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- strategies


def _u(milli):
    """An integer x1000 in the user form ("1.25"), exact (no binary floats)."""
    return "%d.%03d" % divmod(milli, 1000)


@st.composite
def basal_profiles(draw, max_segments=24, max_rate_mu_h=3000):
    """[(start_min, rate_mu_h), ...]: 1..24 segments, first at 00:00, starts strictly increasing
    in 15-minute multiples, rates 0..3.00 U/h in steps of 0.01 U/h."""
    n = draw(st.integers(1, max_segments))
    later = draw(st.lists(st.integers(1, 95), min_size=n - 1, max_size=n - 1, unique=True))
    starts = [0] + [15 * q for q in sorted(later)]
    rates = draw(st.lists(st.integers(0, max_rate_mu_h // 10), min_size=n, max_size=n))
    return [(start, 10 * r) for start, r in zip(starts, rates, strict=True)]


def user_profile(segments):
    return [["%02d:%02d" % divmod(start, 60), _u(rate)] for start, rate in segments]


def sched_rate(segments, tod_min):
    """The scheduled rate (mU/h) in force at minute-of-day tod_min: reference lookup."""
    starts = [s for s, _ in segments]
    return segments[bisect_right(starts, tod_min % DAY_MIN) - 1][1]


# ------------------------------------------------------------ 1. channel exactness

_PERIODS = st.one_of(st.sampled_from([60000, HOUR_MS]), st.integers(60000, 28800000))
_DT = st.one_of(
    st.just(0),
    st.integers(1, 100),
    st.integers(1, 60000),
    st.integers(60000, 5 * HOUR_MS),
)


def _ref_steps(num, period, spu, t_ms):
    """Whole steps owed after t_ms at num mU per period: floor(floor(num*T/period)*spu/1000)."""
    return (num * t_ms // period) * spu // 1000


def _ref_ms_to_next_step(num, period, spu, t_ms):
    """Smallest d >= 1 with _ref_steps(t+d) > _ref_steps(t), derived independently."""
    steps = _ref_steps(num, period, spu, t_ms)
    need_mu = -(-(steps + 1) * 1000 // spu)  # the first whole mU that makes one more step
    return -(-need_mu * period // num) - t_ms  # the first ms at which that mU is integrated


@settings(max_examples=400, **_FAST)
@given(
    num=st.integers(1, 250000),
    period=_PERIODS,
    spu=st.integers(20, 1000),
    chunks=st.lists(st.tuples(_DT, st.booleans()), min_size=1, max_size=30),
)
def test_channel_steps_are_the_exact_floor_of_the_programmed_integral(num, period, spu, chunks):
    """Requirement (channel.py): a channel's cumulative steps are floor(programmed integral) in
    steps, with no drift however time is chunked: never ahead of the integral, behind it by
    less than one step plus one mU. And ms_to_next_step() is exact: advancing by one ms less
    owes no step, advancing that last ms owes at least one.
    """
    ch = Channel()
    ch.set_rate(num, period)
    t = 0
    total = 0

    def check():
        assert total == _ref_steps(num, period, spu, t)
        assert ch.owed_mu == num * t // period
        # the bound the exact formula implies, stated in rationals
        integral_mu = Fraction(num * t, period)
        delivered_mu = Fraction(total * 1000, spu)
        assert delivered_mu <= integral_mu
        assert integral_mu - delivered_mu < Fraction(1000, spu) + 1

    for dt, probe in [(0, True)] + chunks:
        total += ch.advance(dt, spu)
        t += dt
        check()
        if probe:
            ms = ch.ms_to_next_step(spu)
            assert ms == _ref_ms_to_next_step(num, period, spu, t)
            assert ms >= 1
            assert ch.advance(ms - 1, spu) == 0
            t += ms - 1
            check()
            got = ch.advance(1, spu)
            assert got >= 1
            total += got
            t += 1
            check()


@settings(max_examples=200, **_FAST)
@given(
    period=_PERIODS,
    spu=st.integers(20, 1000),
    pieces=st.lists(st.tuples(st.integers(0, 250000), _DT), min_size=1, max_size=20),
)
def test_channel_rate_changes_keep_what_is_owed(period, spu, pieces):
    """Requirement (channel.py set_rate: "what is owed so far is kept"): with the rate changed
    between chunks (same period, rate 0 included), the cumulative steps stay the exact floor
    of the piecewise programmed integral, so a rate change never loses or invents insulin.
    """
    ch = Channel()
    integral = 0  # mU x ms, in units of 1/period
    total = 0
    for num, dt in pieces:
        ch.set_rate(num, period)
        total += ch.advance(dt, spu)
        integral += num * dt
        assert total == (integral // period) * spu // 1000
        if num:
            ms = ch.ms_to_next_step(spu)
            assert ms >= 1
            steps_now = (integral // period) * spu // 1000
            assert ((integral + num * (ms - 1)) // period) * spu // 1000 == steps_now
            assert ((integral + num * ms) // period) * spu // 1000 > steps_now
        else:
            assert ch.ms_to_next_step(spu) is None


# --------------------------------------------------------- driving the pump by script

MOVING = -1  # a "delay" meaning: until the motor is part-way through a move
# delay before a command, in ms: none, until mid-move, short (mid-bolus), up to hours
_DELAY_MS = st.one_of(
    st.just(0),
    st.just(MOVING),
    st.integers(1, 120000),
    st.integers(60000, HOUR_MS),
    st.integers(60000, 4 * HOUR_MS),
)


def apply(pump, action):
    """Run one scripted command; True if it was obeyed, False if refused."""
    kind = action[0]
    try:
        if kind == "bolus":
            amount = pump.bolus_allowed()[0] if action[1] == "allowed" else action[1]
            pump.bolus(amount, now_pct=action[2], extended_min=action[3])
        elif kind == "temp_pct":
            pump.temp_basal(action[2], percent=action[1])
        elif kind == "temp_abs":
            pump.temp_basal(action[2], rate_mu_h=action[1])
        elif kind == "cancel_temp":
            pump.cancel_temp_basal()
        elif kind == "cancel_bolus":
            pump.cancel_bolus()
        elif kind == "suspend":
            pump.suspend(action[1])
        elif kind == "resume":
            pump.resume()
        elif kind == "prime":
            pump.prime(action[1])
        else:
            raise AssertionError(kind)
    except Refused:
        return False
    return True


def _run_ms(sim, ms, on_minute=None):
    """run_min for an exact number of ms (no float rounding of the duration); MOVING: tick as
    the pump asks until the motor is in the middle of a move (at most four hours)."""
    if ms != MOVING:
        run_until(sim.pump, sim.clock, sim.clock.elapsed_ms + ms, on_minute)
        return
    give_up = sim.clock.elapsed_ms + 4 * HOUR_MS
    while not sim.motor.busy() and sim.clock.elapsed_ms < give_up:
        run_until(sim.pump, sim.clock, sim.clock.elapsed_ms + sim.pump.next_wake_ms(), on_minute)


# ------------------------------------------------------------------ 2. basal tracking

_TEMP_MIN = st.integers(1, 16).map(lambda q: 15 * q)  # 15..240 in steps of 15
_BASAL_ACTION = st.one_of(
    st.tuples(st.just("temp_pct"), st.integers(0, 25).map(lambda p: 10 * p), _TEMP_MIN),
    st.tuples(st.just("temp_abs"), st.integers(0, 10000), _TEMP_MIN),
    st.tuples(st.just("cancel_temp")),
    st.tuples(st.just("suspend"), st.one_of(st.just(0), st.integers(15, 300))),
    st.tuples(st.just("resume")),
)


class BasalModel:
    """Reference model of the programmed basal rate, integrated in exact fractions.

    Rules: the scheduled rate by time of day (segments start on 15-minute multiples); a
    percent temp runs at floor(sched * pct / 100) mU/h, following the schedule; an absolute
    temp at its rate rounded down to 10 mU/h; a temp ends after its minutes and its timer
    keeps running while suspended; 0 while suspended; a timed suspend resumes by itself after
    its minutes. A temp's cap is min(max basal, 3 x highest scheduled, 4 x scheduled now):
    checked when it starts, and held at every moment after (a later segment with a lower rate
    lowers the cap under it, and the temp then runs at the cap).
    Time is in ms since the start; the rate is piecewise constant between changes.
    """

    def __init__(self, segments, tod0_min, max_basal_mu_h):
        self.segments = segments
        self.tod0_ms = tod0_min * 60000
        self.max_basal = max_basal_mu_h
        self.t = 0
        self.temp = None  # (kind, value, end_ms)
        self.suspended = False
        self.resume_at = None  # ms, or None: until resumed
        self.integral = Fraction(0)  # programmed mU since the start

    def sched(self, t):
        return sched_rate(self.segments, (self.tod0_ms + t) // 60000)

    def temp_rate(self, kind, value, t):
        return self.sched(t) * value // 100 if kind == "pct" else value - value % 10

    def rate(self):
        if self.suspended:
            return 0
        if self.temp:
            return min(self.temp_rate(self.temp[0], self.temp[1], self.t), self.cap())
        return self.sched(self.t)

    def _expire(self):
        if self.temp and self.t >= self.temp[2]:
            self.temp = None
        if self.suspended and self.resume_at is not None and self.t >= self.resume_at:
            self.suspended = False
            self.resume_at = None

    def _next_change(self, t):
        """The next instant after t at which the schedule may change."""
        return t + 900000 - (self.tod0_ms + t) % 900000

    def advance_to(self, target):
        self._expire()
        while self.t < target:
            nxt = min(target, self._next_change(self.t))
            for end in (self.temp[2] if self.temp else None, self.resume_at):
                if end is not None and self.t < end < nxt:
                    nxt = end
            self.integral += Fraction(self.rate() * (nxt - self.t), HOUR_MS)
            self.t = nxt
            self._expire()

    def cap(self):
        return min(self.max_basal, 3 * max(r for _, r in self.segments), 4 * self.sched(self.t))

    def temp_peak(self, kind, value, minutes):
        """The highest rate the temp would run at over [now, now + minutes)."""
        t, end, peak = self.t, self.t + minutes * 60000, 0
        while t < end:
            peak = max(peak, self.temp_rate(kind, value, t))
            t = self._next_change(t)
        return peak


def drive_basal(pump, model, action, predict_temp_refusal=True):
    """Give a basal command to the pump and the model at the model's current time.

    The model predicts every refusal (a temp's only if predict_temp_refusal) and the pump's
    decision must match; a refused command changes nothing in the model. Returns the pump's
    decision (True: obeyed)."""
    kind = action[0]
    if kind in ("temp_pct", "temp_abs"):
        tk = "pct" if kind == "temp_pct" else "abs"
        value, minutes = action[1], action[2]
        expect_refused = model.temp_peak(tk, value, minutes) > model.cap()
    elif kind == "cancel_temp":
        expect_refused = model.temp is None
    elif kind == "suspend":
        expect_refused = model.suspended
    elif kind == "resume":
        expect_refused = not model.suspended
    else:
        raise AssertionError(kind)
    obeyed = apply(pump, action)
    if kind in ("temp_pct", "temp_abs"):
        if predict_temp_refusal:
            assert obeyed != expect_refused, ("temp refusal", action, model.cap())
        if obeyed:
            model.temp = (tk, value, model.t + minutes * 60000)
        return obeyed
    assert obeyed != expect_refused, (action, "model suspended" if model.suspended else "model running")
    if obeyed:
        if kind == "cancel_temp":
            model.temp = None
        elif kind == "suspend":
            model.suspended = True
            model.resume_at = model.t + action[1] * 60000 if action[1] else None
        else:
            model.suspended = False
            model.resume_at = None
    return obeyed


def _basal_sim(segments, tod0, ticks_start=0, max_basal=10000):
    """A pump whose rolling limits (at their ceilings) never hold basal back."""
    return Sim(
        {
            "basal_profiles": {"p": user_profile(segments)},
            "active_profile": "p",
            "max_basal_u_h": _u(max_basal),
            "max_hourly_u": 50,
            "max_daily_u": 250,
        },
        reservoir_u=1000,
        tod_min=tod0,
        ticks_start_ms=ticks_start,
    )


@settings(max_examples=60, **_FAST)
@given(
    segments=basal_profiles(),
    tod0=st.integers(0, DAY_MIN - 1),
    ticks_start=st.integers(0, (1 << 30) - 1),
    days_min=st.integers(DAY_MIN, 3 * DAY_MIN),
    actions=st.lists(st.tuples(st.integers(0, 3 * DAY_MIN - 1), _BASAL_ACTION), min_size=5, max_size=40),
)
def test_basal_delivery_tracks_the_programmed_integral(segments, tod0, ticks_start, days_min, actions):
    """Requirement (basal accuracy): with random profiles, temp basals (percent or absolute,
    some refused), suspends (timed or not) and resumes at random minutes over 1-3 days, the
    basal delivered at every simulated minute never leads the programmed integral by more
    than one step (5 mU) and lags it by no more than 50 mU. The programmed integral comes
    from an independent model in exact fractions (BasalModel). The pump's refusals of temp
    basals (the cap), suspends, resumes and cancels must be the ones the model predicts, and
    a refused command must not change the programmed rate.
    """
    max_basal = 10000
    s = _basal_sim(segments, tod0, ticks_start, max_basal)
    model = BasalModel(segments, tod0, max_basal)
    by_minute = {}
    for k, action in sorted(actions, key=lambda a: a[0]):
        if k < days_min:
            by_minute.setdefault(k, []).append(action)

    for k in range(days_min + 1):
        model.advance_to(k * 60000)
        delivered = s.basal_mu
        assert s.steps * 5 == delivered  # no bolus or prime here: every step is basal
        assert delivered <= model.integral + 5, "minute %d: basal leads the programme" % k
        assert delivered >= model.integral - 50, "minute %d: basal lags the programme" % k
        for action in by_minute.get(k, ()):
            drive_basal(s.pump, model, action)
        if k < days_min:
            s.run_min(1)


# ---------------------------------------------------------- random therapy commands

# 0.05..10 U in bolus increments, or "allowed": as much as the pump says it allows right now
_AMOUNT_MU = st.one_of(st.integers(1, 200).map(lambda q: 50 * q), st.just("allowed"))
_EXT_MIN = st.one_of(st.integers(1, 4), st.integers(1, 32)).map(lambda q: 15 * q)  # 15..480
_NORMAL = st.tuples(st.just("bolus"), _AMOUNT_MU, st.just(100), st.just(0))
_BOLUS = st.one_of(
    _NORMAL,
    _NORMAL,
    st.tuples(st.just("bolus"), _AMOUNT_MU, st.just(0), _EXT_MIN),  # extended
    st.tuples(st.just("bolus"), _AMOUNT_MU, st.integers(1, 99), _EXT_MIN),  # dual
)
# also ill-formed requests, so that the argument checks are exercised as well as the state
_ANY_BOLUS = st.one_of(
    _BOLUS,
    st.tuples(st.just("bolus"), st.integers(0, 30000), st.integers(-10, 120), st.integers(-15, 500)),
)
_TEMPS = [
    st.tuples(st.just("temp_pct"), st.integers(0, 25).map(lambda p: 10 * p), _TEMP_MIN),
    st.tuples(st.just("temp_abs"), st.integers(0, 6000), _TEMP_MIN),
]
_OTHERS = [
    st.tuples(st.just("cancel_temp")),
    st.tuples(st.just("cancel_bolus")),
    st.tuples(st.just("suspend"), st.integers(15, 240)),  # timed
    st.tuples(st.just("resume")),
    st.tuples(st.just("prime"), st.integers(0, 3000)),
]
_SUSPEND_FOR_GOOD = st.tuples(st.just("suspend"), st.just(0))


def scripts(bolus, min_size, max_size, suspend_for_good=True):
    """[(delay_ms, command), ...]: of every 15 commands about 5 are bolus requests, 4 temp
    basals, the rest cancels, suspends (timed; also until resumed if suspend_for_good),
    resumes and primes."""
    extra = [_SUSPEND_FOR_GOOD] if suspend_for_good else []
    command = st.one_of(*[bolus] * 5, *_TEMPS * 2, *_OTHERS, *extra)
    return st.lists(st.tuples(_DELAY_MS, command), min_size=min_size, max_size=max_size)


@st.composite
def tight_limits(draw):
    hourly = draw(st.integers(5, 15))
    daily = draw(st.integers(max(20, hourly), 60))
    max_bolus = draw(st.integers(1, 2 * hourly).map(lambda h: 500 * h))  # 0.5..hourly U
    return {"max_hourly_u": hourly, "max_daily_u": daily, "max_bolus_u": _u(max_bolus)}


# ------------------------------------------- 2b. no basal lost, 2c. temp cap at any time


_UPTO_4U = st.integers(1, 80).map(lambda q: 50 * q)


@settings(max_examples=50, **_FAST)
@given(
    segments=basal_profiles(max_segments=8),
    tod0=st.integers(0, DAY_MIN - 1),
    ticks_start=st.integers(0, (1 << 30) - 1),
    script=st.lists(
        st.tuples(
            st.one_of(st.just(MOVING), st.just(MOVING), _DELAY_MS),  # mostly mid-move
            st.one_of(
                _BASAL_ACTION,
                st.tuples(st.just("suspend"), st.just(0)),
                st.tuples(st.just("resume")),
                st.tuples(st.just("bolus"), _UPTO_4U, st.just(100), st.just(0)),
                st.tuples(st.just("bolus"), _UPTO_4U, st.integers(0, 99), _EXT_MIN),
                st.tuples(st.just("cancel_bolus")),
                st.tuples(st.just("prime"), st.integers(5, 2000)),
            ),
        ),
        min_size=10,
        max_size=40,
    ),
)
def test_no_basal_step_is_lost_across_suspends_cancels_and_boluses(segments, tod0, ticks_start, script):
    """Requirement (engine.halt, channel.py: exact, no drift): commands given at any ms -
    suspends (also mid-step), resumes, temp basals, boluses and primes, cancelled or not -
    never cost or add basal. At every minute with no bolus or prime running, delivered basal
    is never ahead of the programmed integral and at most two steps (10 mU: one still being
    integrated, one being made) behind it, so no basal step is ever lost for good.
    """
    s = _basal_sim(segments, tod0, ticks_start)
    model = BasalModel(segments, tod0, 10000)
    rows = []

    def on_minute(m):
        model.advance_to(m * 60000)
        quiet = s.pump.current_bolus is None and s.pump.prime_dose is None
        rows.append((m, s.basal_mu, model.integral, quiet))

    for delay, action in script:
        _run_ms(s, delay, on_minute)
        model.advance_to(s.clock.elapsed_ms)
        if action[0] in ("bolus", "cancel_bolus", "prime"):
            apply(s.pump, action)
        else:
            drive_basal(s.pump, model, action, predict_temp_refusal=False)
    _run_ms(s, 9 * HOUR_MS, on_minute)
    # the limits are at their ceilings; a basal hold at one would be a lag on purpose
    assume("limit_reached" not in s.codes())
    for m, delivered, integral, quiet in rows:
        assert delivered <= integral, "minute %d: basal %d mU ahead of %s" % (m, delivered, integral)
        if quiet:
            assert delivered >= integral - 10, "minute %d: basal %d mU, programmed %s" % (
                m,
                delivered,
                integral,
            )


@settings(max_examples=150, **_FAST)
@example(  # 250 % of 1.2 U/h at 00:15:59.999: accepted; 7.5 U/h from 00:30 to 00:30:59.999
    segments=[(0, 0), (15, 1200), (30, 3000)],
    max_basal=3000,
    tod0=0,
    temps=[(0, 59999, ("temp_pct", 250, 15))],
)
@given(
    segments=basal_profiles(max_segments=24),
    max_basal=st.integers(300, 1000).map(lambda r: 10 * r),
    tod0=st.integers(0, DAY_MIN - 1),
    temps=st.lists(
        st.tuples(
            st.integers(0, 16),  # whole quarter-hours to wait
            st.one_of(st.integers(0, 60000), st.integers(0, 899999)),  # then ms past a quarter
            st.one_of(
                st.tuples(st.just("temp_pct"), st.integers(0, 25).map(lambda p: 10 * p), _TEMP_MIN),
                st.tuples(st.just("temp_abs"), st.integers(0, 10000), _TEMP_MIN),
            ),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_an_accepted_temp_basal_never_runs_above_its_cap(segments, max_basal, tod0, temps):
    """Requirement (core.temp_basal, S3: "capped"): a temp basal is accepted only if the
    highest rate it would run at, at any instant of its duration, is within the cap
    min(max basal, 3 x highest scheduled, 4 x scheduled at the start). Temps are requested at
    any ms, not only on whole minutes, so a temp may start and end part-way through a minute.
    """
    s = _basal_sim(segments, tod0, max_basal=max_basal)
    model = BasalModel(segments, tod0, max_basal)
    for quarters, offset, action in temps:
        # the request lands `offset` ms after a quarter-hour of the clock (where segments
        # start), `quarters` quarter-hours on
        tod = tod0 * 60000 + s.clock.elapsed_ms
        _run_ms(s, (quarters + 1) * 900000 - tod % 900000 + offset)
        model.advance_to(s.clock.elapsed_ms)
        kind = "pct" if action[0] == "temp_pct" else "abs"
        peak = model.temp_peak(kind, action[1], action[2])
        cap = model.cap()
        if apply(s.pump, action):
            assert peak <= cap, "accepted %r at %d ms: runs at %d mU/h, cap %d mU/h" % (
                action,
                s.clock.elapsed_ms,
                peak,
                cap,
            )


# ------------------------------------------------------------------ 3. limits


@settings(max_examples=60, **_FAST)
@given(
    segments=basal_profiles(max_segments=8),
    limits=tight_limits(),
    spu=st.sampled_from([200, 300, 20, 1000]),
    tod0=st.integers(0, DAY_MIN - 1),
    script=scripts(_BOLUS, 10, 60, suspend_for_good=False),
    extra_min=st.integers(DAY_MIN, 2 * DAY_MIN),
)
def test_rolling_hourly_and_daily_limits_are_never_exceeded(segments, limits, spu, tod0, script, extra_min):
    """Requirement (limits.py, core._allow): therapy delivered (basal + bolus, prime excluded)
    in any 60 consecutive minutes never exceeds max_hourly_u, and in any 1440 consecutive
    minutes never exceeds max_daily_u, whatever mix of normal/extended/dual boluses, temp
    basals, suspends and time is thrown at the pump. Checked from the per-minute cumulative
    motor steps booked as basal and bolus, in exact rationals (steps x 1000 / steps_per_unit).
    """
    s = Sim(
        dict(limits, basal_profiles={"p": user_profile(segments)}, active_profile="p"),
        rig={"steps_per_unit": spu},
        reservoir_u=1000,
        tod_min=tod0,
    )
    cum = [0]  # therapy steps at each whole minute since start

    def on_minute(m):
        assert m == len(cum)
        cum.append(s.pump.steps[BASAL] + s.pump.steps[BOLUS])

    for delay, action in script:
        _run_ms(s, delay, on_minute)
        apply(s.pump, action)
    _run_ms(s, extra_min * 60000 + 60000 - s.clock.elapsed_ms % 60000, on_minute)

    # every window, including the ones that start before the pump did (nothing then)
    for window, limit_mu in ((60, limits["max_hourly_u"] * 1000), (DAY_MIN, limits["max_daily_u"] * 1000)):
        for m in range(1, len(cum)):
            steps = cum[m] - cum[max(0, m - window)]
            assert steps * 1000 <= limit_mu * spu, (
                "%d steps (%s mU) in the %d minutes up to minute %d; limit %d mU"
                % (steps, Fraction(steps * 1000, spu), window, m, limit_mu)
            )


# ------------------------------------------------------- 4. refused bolus moves nothing


@settings(max_examples=40, **_FAST)
@given(
    segments=basal_profiles(max_segments=4),
    limits=tight_limits(),
    script=scripts(_ANY_BOLUS, 10, 40),
)
def test_a_refused_bolus_moves_nothing_and_changes_nothing(segments, limits, script):
    """Requirement (core.py: commands "raise Refused, changing nothing"): whenever
    pump.bolus(...) is refused, the motor's steps_done() and move count are unchanged by the
    call, no dose record or event is added, the running bolus (if any) is untouched; and the
    whole future of the pump is the same as if the refused request had never been made
    (a twin pump fed the same script without the refused requests gives an identical trace).
    """
    settings_ = dict(limits, basal_profiles={"p": user_profile(segments)}, active_profile="p")

    def run(skip):
        s = Sim(settings_, reservoir_u=1000)
        trace = []
        refused_at = set()

        def on_minute(m):
            trace.append((m, s.steps, s.basal_mu, s.bolus_mu, s.prime_mu, s.pump.mode))

        for i, (delay, action) in enumerate(script):
            _run_ms(s, delay, on_minute)
            if i in skip:
                continue
            if action[0] != "bolus":
                apply(s.pump, action)
                continue
            before = (s.motor.steps_done(), s.motor.moves, len(s.doses), len(s.events))
            bolus_before = s.pump.current_bolus
            if not apply(s.pump, action):
                refused_at.add(i)
                assert (s.motor.steps_done(), s.motor.moves, len(s.doses), len(s.events)) == before
                assert s.pump.current_bolus is bolus_before
        _run_ms(s, 3 * HOUR_MS, on_minute)
        return refused_at, trace, s.doses, s.events

    refused_at, trace, doses, events = run(set())
    twin = run(refused_at)
    assert twin[0] == set()
    assert (trace, doses, events) == twin[1:]


# ------------------------------------------------- 5. delivered never exceeds programmed


def _doses_after(segments, limits, spu, script):
    s = Sim(
        dict(limits, basal_profiles={"p": user_profile(segments)}, active_profile="p"),
        rig={"steps_per_unit": spu},
        reservoir_u=1000,
    )
    for delay, action in script:
        _run_ms(s, delay)
        apply(s.pump, action)
    _run_ms(s, 9 * HOUR_MS)  # long enough for any extended bolus or temp basal to end
    return s.doses


_DOSE_GIVEN = dict(
    segments=basal_profiles(max_segments=6),
    limits=tight_limits(),
    spu=st.sampled_from([200, 300, 20, 1000]),
    script=scripts(_ANY_BOLUS, 10, 40),
)


@settings(max_examples=40, **_FAST)
@given(**_DOSE_GIVEN)
def test_no_bolus_or_prime_record_shows_more_delivered_than_programmed(segments, limits, spu, script):
    """Requirement (dose.py: a dose "counts what was programmed and what the motor actually
    moved"): for every bolus (normal, extended, dual) and prime record the pump emits, whether
    completed, cancelled, suspended or stopped at a limit, delivered_mu <= programmed_mu.
    """
    for d in _doses_after(segments, limits, spu, script):
        if d["kind"] != "temp_basal":
            assert d["delivered_mu"] <= d["programmed_mu"], d


@settings(max_examples=40, **_FAST)
@example(  # the temp-cap example below, seen from its dose record
    segments=[(0, 0), (15, 1200), (30, 3000)],
    limits={"max_hourly_u": 15, "max_daily_u": 60, "max_bolus_u": "10.000"},
    spu=200,
    script=[(15 * 60000 + 59999, ("temp_pct", 250, 15))],
)
@example(  # a 0 % temp begun as a step of 1.2 U/h was handed to the motor (wrong at d913fdb)
    segments=[(0, 1200)],
    limits={"max_hourly_u": 15, "max_daily_u": 60, "max_bolus_u": "10.000"},
    spu=200,
    script=[(60000, ("temp_pct", 0, 15))],
)
@given(**_DOSE_GIVEN)
def test_no_temp_basal_record_shows_more_delivered_than_programmed(segments, limits, spu, script):
    """Requirement (core._end_temp): a temp_basal dose record's delivered_mu (the steps made
    after it began) never exceeds its programmed_mu (the temp's own total) by a step or more.
    Up to one step may show: the step whose first fraction was owed before the temp began
    becomes due, and is made, during it; and the programme is rounded down to whole mU.
    """
    for d in _doses_after(segments, limits, spu, script):
        if d["kind"] == "temp_basal":
            assert d["delivered_mu"] * spu <= (d["programmed_mu"] + 1) * spu + 1000, d
