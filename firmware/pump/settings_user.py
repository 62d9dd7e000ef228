"""Settings from their user-facing form (units, U/h, "HH:MM"), as in a scenario or a file.

Every key is checked: an unknown key, a value of the wrong kind or out of range is refused
with the key named, and nothing is built. Needed only while settings are being read, so a
board can drop this module after start-up.
"""

from pump.errors import Refused, check_int
from pump.parse import parse_hhmm, parse_milli
from pump.settings import (
    BASAL_STEP_MU_H,
    MAX_BASAL_CEILING_MU_H,
    MAX_BOLUS_CEILING_MU,
    MAX_DAILY_CEILING_MU,
    MAX_HOURLY_CEILING_MU,
    MAX_PROFILES,
    MAX_SEGMENTS,
    Rig,
    Settings,
    check_milli,
    check_profile_name,
    segments,
    validate,
)

_SETTINGS_KEYS = (
    "basal_profiles",
    "active_profile",
    "max_bolus_u",
    "max_basal_u_h",
    "max_hourly_u",
    "max_daily_u",
    "dia_h",
    "peak_min",
    "icr_g_per_u",
    "isf_mgdl_per_u",
    "target_mgdl",
    "bolus_increment_u",
    "low_reservoir_u",
    "auto_off_h",
    "set_change_h",
)
_RIG_KEYS = ("steps_per_unit", "bolus_u_per_min")
# key -> (attribute, lowest, highest, unit) for the plain amounts
_AMOUNTS = (
    ("max_basal_u_h", "max_basal_mu_h", 50, MAX_BASAL_CEILING_MU_H, "U/h"),
    ("max_bolus_u", "max_bolus_mu", 50, MAX_BOLUS_CEILING_MU, "U"),
    ("max_hourly_u", "max_hourly_mu", 50, MAX_HOURLY_CEILING_MU, "U"),
    ("max_daily_u", "max_daily_mu", 50, MAX_DAILY_CEILING_MU, "U"),
)


def _check_keys(d, where, allowed):
    if not isinstance(d, dict):
        raise Refused(where, "expected an object")
    for key in d:
        if key not in allowed:
            raise Refused(where + "." + str(key), "unknown key")


def rig_from_user(d, defaults):
    """A Rig from {"steps_per_unit", "bolus_u_per_min"}; missing keys come from the board."""
    _check_keys(d, "rig", _RIG_KEYS)
    speed = d.get("bolus_u_per_min")
    speed_mu = defaults.BOLUS_MU_PER_MIN if speed is None else parse_milli(speed, "rig.bolus_u_per_min")
    spu = check_int(d.get("steps_per_unit", defaults.STEPS_PER_UNIT), "rig.steps_per_unit", 20, 1000)
    return Rig(spu, speed_mu, defaults.STEP_HZ, defaults.BORE_UM, defaults.COMPLIANCE_NL_PER_MBAR)


def _segments(rows, field, parse_value):
    """[["HH:MM", value], ...] -> [(start_min, value), ...]; first at 00:00, strictly increasing."""
    if not isinstance(rows, list) or not rows:
        raise Refused(field, 'expected a non-empty list of ["HH:MM", value] pairs')
    if len(rows) > MAX_SEGMENTS:
        raise Refused(field, "%d segments; at most %d" % (len(rows), MAX_SEGMENTS))
    out = []
    for i, row in enumerate(rows):
        where = "%s[%d]" % (field, i)
        if not isinstance(row, list) or len(row) != 2:
            raise Refused(where, 'expected ["HH:MM", value]')
        start = parse_hhmm(row[0], where)
        if i == 0 and start != 0:
            raise Refused(where, "the first segment must start at 00:00")
        if out and start <= out[-1][0]:
            raise Refused(where, "segments must be in increasing time order")
        out.append((start, parse_value(row[1], where)))
    return segments(out)


def _basal_rate(value, field):
    rate = parse_milli(value, field)
    rate -= rate % BASAL_STEP_MU_H
    return check_milli(rate, field, 0, MAX_BASAL_CEILING_MU_H, "U/h")


def _icr(value, field):
    return check_milli(parse_milli(value, field), field, 1000, 150000, "g/U") // 100


def _isf(value, field):
    return check_int(value, field, 5, 400)


def _target(value, field):
    return check_int(value, field, 70, 200)


def settings_from_user(d, rig):
    """Settings from the user-facing dict; defaults for the limits that are not given."""
    _check_keys(d, "settings", _SETTINGS_KEYS)
    s = Settings()
    for key, attr, lo, hi, unit in _AMOUNTS:
        if key in d:
            setattr(s, attr, check_milli(parse_milli(d[key], key), key, lo, hi, unit))
    if "bolus_increment_u" in d:
        inc = parse_milli(d["bolus_increment_u"], "bolus_increment_u")
        if inc not in (10, 25, 50, 100):
            raise Refused("bolus_increment_u", "must be one of 0.01, 0.025, 0.05, 0.1 U")
        s.bolus_increment_mu = inc
    if "dia_h" in d:
        dia_mh = check_milli(parse_milli(d["dia_h"], "dia_h"), "dia_h", 5000, 8000, "h")
        s.dia_min = dia_mh * 60 // 1000
    if "low_reservoir_u" in d:
        low = check_milli(
            parse_milli(d["low_reservoir_u"], "low_reservoir_u"), "low_reservoir_u", 10000, 40000
        )
        s.low_reservoir_mu = low - low % 1000
    if "auto_off_h" in d:
        hours = d["auto_off_h"]
        s.auto_off_min = 0 if hours == 0 else check_int(hours, "auto_off_h", 5, 24) * 60
    if "set_change_h" in d:
        s.set_change_min = check_int(d["set_change_h"], "set_change_h", 24, 168) * 60
    if "peak_min" in d:
        s.peak_min = check_int(d["peak_min"], "peak_min", 35, 120)
    for key, attr, parse in (
        ("icr_g_per_u", "icr_dg_per_u", _icr),
        ("isf_mgdl_per_u", "isf_mgdl_per_u", _isf),
        ("target_mgdl", "target_mgdl", _target),
    ):
        if key in d:
            setattr(s, attr, _segments(d[key], key, parse))
    profiles = d.get("basal_profiles")
    if not isinstance(profiles, dict) or not profiles:
        raise Refused("basal_profiles", "expected an object of named profiles")
    if len(profiles) > MAX_PROFILES:
        raise Refused("basal_profiles", "%d profiles; at most %d" % (len(profiles), MAX_PROFILES))
    for name in profiles:
        check_profile_name(name)
        s.profiles[name] = _segments(profiles[name], "basal_profiles." + name, _basal_rate)
    active = d.get("active_profile")
    if not isinstance(active, str):
        raise Refused("active_profile", "expected a profile name")
    s.active_profile = active
    validate(s, rig)
    return s


def settings_to_record(s):
    """The integer form as plain data (Settings.from_record reads it back)."""
    rec = {}
    for name in Settings.FIELDS:
        value = getattr(s, name)
        if name == "profiles":
            value = {p: list(value[p]) for p in value}
        elif not isinstance(value, (int, str)):
            value = list(value)
        rec[name] = value
    return rec
