"""Therapy settings and rig constants in the integer form the core runs on.

Cross-field rules are checked in `Settings.validate`; pump/settings_user.py turns the
user-facing form (units, U/h, "HH:MM") into this one. Nothing is clamped: a value outside
its range is an error naming its key.
"""

from pump.compat import const
from pump.errors import Refused
from pump.units import fmt_milli, fmt_u

MAX_PROFILES = const(6)
MAX_SEGMENTS = const(24)
BASAL_STEP_MU_H = const(10)  # rates are set in 0.01 U/h
MAX_BOLUS_CEILING_MU = const(25000)
MAX_BASAL_CEILING_MU_H = const(35000)
MAX_HOURLY_CEILING_MU = const(50000)
MAX_DAILY_CEILING_MU = const(250000)


def check_milli(value, field, lo, hi, what="U"):
    """value (x1000) within lo..hi, else Refused naming the field and the range in user units."""
    if value < lo or value > hi:
        raise Refused(
            field,
            "%s %s is outside %s..%s %s" % (fmt_milli(value), what, fmt_milli(lo), fmt_milli(hi), what),
        )
    return value


def check_int(value, field, lo, hi):
    if value < lo or value > hi:
        raise Refused(field, "%d is outside %d..%d" % (value, lo, hi))
    return value


def segment_at(segments, minute_of_day):
    """The value of the segment in force at minute_of_day."""
    value = segments[0][1]
    for start, v in segments:
        if start > minute_of_day:
            break
        value = v
    return value


def next_boundary_min(segments, minute_of_day):
    """Minutes from minute_of_day to the next segment start (or midnight)."""
    for start, _ in segments:
        if start > minute_of_day:
            return start - minute_of_day
    return 1440 - minute_of_day


class Rig:
    """Mechanism constants the core needs: steps per unit and bolus speed."""

    __slots__ = ("steps_per_unit", "bolus_mu_per_min", "step_hz")

    def __init__(self, steps_per_unit, bolus_mu_per_min, step_hz):
        self.steps_per_unit = check_int(steps_per_unit, "rig.steps_per_unit", 20, 1000)
        self.bolus_mu_per_min = check_milli(bolus_mu_per_min, "rig.bolus_u_per_min", 100, 10000, "U/min")
        # the motor's pulse rate must outrun the fastest programmed delivery
        self.step_hz = check_int(step_hz, "rig.step_hz", 50, 20000)
        if self.step_hz * 60000 < self.bolus_mu_per_min * self.steps_per_unit:
            raise Refused("rig.bolus_u_per_min", "faster than the motor can step")

    def steps_for(self, mu):
        """Whole steps in mu milliunits, rounded down."""
        return mu * self.steps_per_unit // 1000

    def mu_for(self, steps):
        """Milliunits moved by `steps`, rounded down."""
        return steps * 1000 // self.steps_per_unit


class Settings:
    """The therapy settings in integer form (mU, mU/h, minutes, mg/dL, 0.1 g/U)."""

    def __init__(self):
        self.profiles = {}
        self.active_profile = ""
        self.max_bolus_mu = 10000
        self.max_basal_mu_h = 3000
        self.max_hourly_mu = 15000
        self.max_daily_mu = 80000
        self.dia_min = 300
        self.peak_min = 75
        self.icr_dg_per_u = [(0, 150)]
        self.isf_mgdl_per_u = [(0, 50)]
        self.target_mgdl = [(0, 110)]
        self.bolus_increment_mu = 50

    def schedule(self, name=None):
        return self.profiles[self.active_profile if name is None else name]

    def highest_scheduled_mu_h(self):
        return max(rate for _, rate in self.schedule())

    def validate(self, rig):
        """Cross-field rules; raise Refused naming the offending key."""
        if self.bolus_increment_mu * rig.steps_per_unit < 1000:
            raise Refused(
                "bolus_increment_u",
                "%s U is finer than one motor step" % fmt_milli(self.bolus_increment_mu),
            )
        if self.max_bolus_mu > self.max_hourly_mu:
            raise Refused("max_bolus_u", "above max_hourly_u " + fmt_u(self.max_hourly_mu))
        if self.max_hourly_mu > self.max_daily_mu:
            raise Refused("max_hourly_u", "above max_daily_u " + fmt_u(self.max_daily_mu))
        if self.active_profile not in self.profiles:
            raise Refused("active_profile", "no basal profile named " + repr(self.active_profile))
        for name in self.profiles:
            for i, (_, rate) in enumerate(self.profiles[name]):
                if rate > self.max_basal_mu_h:
                    raise Refused(
                        "basal_profiles.%s[%d]" % (name, i),
                        "%s U/h is above max_basal_u_h %s U/h"
                        % (fmt_milli(rate), fmt_milli(self.max_basal_mu_h)),
                    )

    # The integer form as plain data: what a settings file stores and a plan carries.
    FIELDS = (
        "profiles",
        "active_profile",
        "max_bolus_mu",
        "max_basal_mu_h",
        "max_hourly_mu",
        "max_daily_mu",
        "dia_min",
        "peak_min",
        "icr_dg_per_u",
        "isf_mgdl_per_u",
        "target_mgdl",
        "bolus_increment_mu",
    )

    @classmethod
    def from_record(cls, rec, rig):
        """Settings from to_record()'s form; every field must be there, and valid."""
        s = cls()
        for name in cls.FIELDS:
            if name not in rec:
                raise Refused(name, "missing from the settings record")
            setattr(s, name, rec[name])
        s.validate(rig)
        return s
