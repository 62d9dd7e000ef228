"""Therapy settings and rig constants in the integer form the core runs on.

pump/settings_user.py builds it from the user-facing form (units, U/h, "HH:MM") and checks
every rule; the running core only reads it. Nothing is clamped: a value outside its range
is an error naming its key.
"""

from array import array

from pump.compat import const
from pump.errors import Refused, check_int
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


# A time-of-day schedule (basal rates, ICR, ISF, targets) is one array('H') of
# (start minute, value) pairs, first start 00:00, starts increasing: 24 segments in 96 bytes.


def segments(pairs):
    """A schedule from [(start_min, value), ...] (or its flat list form)."""
    flat = []
    for item in pairs:
        if isinstance(item, int):
            flat.append(item)
        else:
            flat.append(item[0])
            flat.append(item[1])
    return array("H", flat)


def segment_at(schedule, minute_of_day):
    """The value of the segment in force at minute_of_day."""
    value = schedule[1]
    for i in range(0, len(schedule), 2):
        if schedule[i] > minute_of_day:
            break
        value = schedule[i + 1]
    return value


def next_boundary_min(schedule, minute_of_day):
    """Minutes from minute_of_day to the next segment start (or midnight)."""
    for i in range(0, len(schedule), 2):
        if schedule[i] > minute_of_day:
            return schedule[i] - minute_of_day
    return 1440 - minute_of_day


def highest(schedule):
    top = 0
    for i in range(1, len(schedule), 2):
        if schedule[i] > top:
            top = schedule[i]
    return top


class Rig:
    """Mechanism constants the core needs: steps per unit and bolus speed."""

    __slots__ = ("steps_per_unit", "bolus_mu_per_min", "step_hz", "area_mm2_x1000", "compliance_nl_per_mbar")

    def __init__(self, steps_per_unit, bolus_mu_per_min, step_hz, bore_um, compliance_nl_per_mbar):
        self.steps_per_unit = check_int(steps_per_unit, "rig.steps_per_unit", 20, 1000)
        self.bolus_mu_per_min = check_milli(bolus_mu_per_min, "rig.bolus_u_per_min", 100, 10000, "U/min")
        # the motor's pulse rate must outrun the fastest programmed delivery
        self.step_hz = check_int(step_hz, "rig.step_hz", 50, 20000)
        if self.step_hz * 60000 < self.bolus_mu_per_min * self.steps_per_unit:
            raise Refused("rig.bolus_u_per_min", "faster than the motor can step")
        # plunger area (pi/4 x bore^2, pi as 355/113) and the fluid path's compliance, for
        # turning a force on the plunger into the volume that caused it
        self.area_mm2_x1000 = 355 * bore_um * bore_um // (4 * 113 * 1000)
        self.compliance_nl_per_mbar = compliance_nl_per_mbar

    def steps_for(self, mu):
        """Whole steps in mu milliunits, rounded down."""
        return mu * self.steps_per_unit // 1000

    def steps_for_force(self, force_mn):
        """Steps whose volume, pushed into a closed line, raises the plunger force by force_mn."""
        pressure_mbar = force_mn * 10000 // self.area_mm2_x1000
        return pressure_mbar * self.compliance_nl_per_mbar * self.steps_per_unit // 10000

    def mu_for(self, steps):
        """Milliunits moved by `steps`, rounded down."""
        return steps * 1000 // self.steps_per_unit


_SCHEDULES = ("icr_dg_per_u", "isf_mgdl_per_u", "target_mgdl")


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
        self.icr_dg_per_u = segments([(0, 150)])
        self.isf_mgdl_per_u = segments([(0, 50)])
        self.target_mgdl = segments([(0, 110)])
        self.bolus_increment_mu = 50
        self.low_reservoir_mu = 20000  # the low-reservoir alert (very low is fixed at 5 U)
        self.auto_off_min = 720  # no key press this long: auto-off alarm (0: off)
        self.set_change_min = 4320  # infusion-set change reminder, every 72 h

    def schedule(self, name=None):
        return self.profiles[self.active_profile if name is None else name]

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
        "low_reservoir_mu",
        "auto_off_min",
        "set_change_min",
    )

    def fingerprint(self):
        """CRC-32 of every setting, to catch settings changed in RAM by anything but a command."""
        from pump.crc32 import crc32

        crc = 0
        for name in self.FIELDS:
            value = getattr(self, name)
            if name == "profiles":
                for profile in sorted(value):
                    crc = crc32(bytes(value[profile]), crc32(profile.encode(), crc))
            elif isinstance(value, str):
                crc = crc32(value.encode(), crc)
            elif isinstance(value, int):
                crc = crc32(bytes((value & 255, value >> 8 & 255, value >> 16 & 255, value >> 24 & 255)), crc)
            else:
                crc = crc32(bytes(value), crc)
        return crc

    @classmethod
    def from_record(cls, rec):
        """Settings from a record that pump/settings_user.py has checked (every field there)."""
        s = cls()
        for name in cls.FIELDS:
            value = rec[name]
            if name in _SCHEDULES:
                value = segments(value)
            elif name == "profiles":
                value = {}
                for profile in rec[name]:
                    value[profile] = segments(rec[name][profile])
            setattr(s, name, value)
        return s


def check_profile_name(name):
    if not isinstance(name, str) or not 1 <= len(name) <= 12:
        raise Refused("basal_profiles", "a profile name is 1 to 12 characters: " + repr(name))
    for ch in name:
        if not (ch.isalpha() or ch.isdigit() or ch in "-_ "):
            raise Refused("basal_profiles", "profile name %r has a character %r" % (name, ch))


def validate(s, rig):
    """Cross-field rules; raise Refused naming the offending key."""
    if s.bolus_increment_mu * rig.steps_per_unit < 1000:
        raise Refused(
            "bolus_increment_u",
            "%s U is finer than one motor step" % fmt_milli(s.bolus_increment_mu),
        )
    if s.max_bolus_mu > s.max_hourly_mu:
        raise Refused("max_bolus_u", "above max_hourly_u " + fmt_u(s.max_hourly_mu))
    if s.max_hourly_mu > s.max_daily_mu:
        raise Refused("max_hourly_u", "above max_daily_u " + fmt_u(s.max_daily_mu))
    if s.active_profile not in s.profiles:
        raise Refused("active_profile", "no basal profile named " + repr(s.active_profile))
    for name in s.profiles:
        schedule = s.profiles[name]
        for i in range(len(schedule) // 2):
            rate = schedule[2 * i + 1]
            if rate > s.max_basal_mu_h:
                raise Refused(
                    "basal_profiles.%s[%d]" % (name, i),
                    "%s U/h is above max_basal_u_h %s U/h" % (fmt_milli(rate), fmt_milli(s.max_basal_mu_h)),
                )
