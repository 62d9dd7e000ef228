"""Therapy settings that survive power loss: one file, written whole, renamed into place.

The file is a header line `PUMPSETTINGS 1 <crc32 of the body, 8 hex digits> <body length>`
and a body: the integer-form settings record (pump/settings_user.py settings_to_record) as
canonical JSON, keys sorted, so CPython and MicroPython write the same bytes. `save` writes
"settings.tmp", flushes and closes it, then renames it over "settings.json": LittleFS
renames atomically, so a power cut leaves the old file or the new one, never a mixture.
`load` refuses anything it cannot prove intact with SettingsError; it never substitutes
defaults: that choice is the caller's (the pump stays suspended until settings are confirmed).
"""

import json

from pump.compat import const
from pump.crc32 import crc32
from pump.errors import Refused, check_int
from pump.settings import (
    BASAL_STEP_MU_H,
    MAX_BASAL_CEILING_MU_H,
    MAX_BOLUS_CEILING_MU,
    MAX_DAILY_CEILING_MU,
    MAX_HOURLY_CEILING_MU,
    MAX_PROFILES,
    MAX_SEGMENTS,
    Settings,
    check_profile_name,
    segments,
    validate,
)

FILE = "settings.json"
TMP = "settings.tmp"
_VERSION = const(1)
_MAX_BODY_BYTES = const(8192)
_MAGIC = "PUMPSETTINGS"
_MAX_HEADER_BYTES = const(48)
_ENOENT = const(2)
_MAX_DEPTH = const(3)


class SettingsError(Exception):
    """The settings file could not be read or written.

    `reason`: "missing", "corrupt" (header, length, CRC or JSON wrong), "version" (written
    by another format), or "write failed" (save: the old file is untouched); `detail` says
    more; `errno` is the OSError number behind a failed read or write, else 0.
    """

    def __init__(self, reason, detail="", errno=0):
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail
        self.errno = errno

    def __str__(self):
        return "settings " + self.reason + (": " + self.detail if self.detail else "")


def _json(value):
    """Canonical JSON of ints, strings, lists and string-keyed dicts (keys sorted)."""
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is str:
        return _quote(value)
    if kind is list:
        return "[" + ",".join([_json(item) for item in value]) + "]"
    if kind is dict:
        keys = list(value)
        for key in keys:
            if type(key) is not str:
                raise ValueError("settings key is not text: " + repr(key))
        keys.sort()
        return "{" + ",".join([_quote(key) + ":" + _json(value[key]) for key in keys]) + "}"
    raise ValueError("settings value of an unstorable kind: " + repr(value))


def _quote(text):
    """A JSON string: printable ASCII as it is, anything else as a \\u escape."""
    out = ['"']
    for ch in text:
        c = ord(ch)
        if 32 <= c < 127 and ch != '"' and ch != "\\":
            out.append(ch)
        elif c <= 0xFFFF:
            out.append("\\u%04x" % c)
        else:
            raise ValueError("settings text outside the basic plane: " + repr(text))
    out.append('"')
    return "".join(out)


def _plain(value, depth=0):
    """True if value is made only of ints, strings, lists and string-keyed dicts, nested at
    most as deep as a settings record (profiles: a dict of lists inside the record)."""
    kind = type(value)
    if kind is int or kind is str:
        return True
    if depth >= _MAX_DEPTH:
        return False
    if kind is list:
        for item in value:
            if not _plain(item, depth + 1):
                return False
        return True
    if kind is dict:
        for key in value:
            if type(key) is not str or not _plain(value[key], depth + 1):
                return False
        return True
    return False


def _header(crc, length):
    return "%s %d %08x %d\n" % (_MAGIC, _VERSION, crc, length)


def encode(record):
    """The file's bytes for a settings record (ValueError if it holds anything unstorable)."""
    body = _json(record).encode()
    if len(body) > _MAX_BODY_BYTES:
        raise ValueError("settings of %d bytes; at most %d" % (len(body), _MAX_BODY_BYTES))
    return _header(crc32(body), len(body)).encode() + body


def save(fs, record):
    """Store record durably; the previous file stays intact until the final rename.

    Raises ValueError for a record that cannot be stored (nothing is written) and
    SettingsError("write failed") when the flash refuses (settings.json is untouched).
    """
    data = encode(record)
    f = None
    try:
        _remove_tmp(fs)
        f = fs.open(TMP, "wb")
        f.write(data)
        f.flush()
        g = f
        f = None
        g.close()
        fs.rename(TMP, FILE)
    except OSError as e:
        if f is not None:
            try:
                f.close()
            except OSError:
                pass  # already failing; the half-written temp file is removed below
        try:
            _remove_tmp(fs)
        except OSError:
            pass  # a leftover temp file is harmless: load ignores it, save removes it
        raise SettingsError("write failed", "flash error %d" % (e.errno or 0), e.errno or 0)


def _remove_tmp(fs):
    try:
        fs.remove(TMP)
    except OSError as e:
        if e.errno != _ENOENT:
            raise


def load(fs):
    """The stored settings record, or SettingsError("missing" | "corrupt" | "version")."""
    try:
        size = fs.size(FILE)
        if size > _MAX_HEADER_BYTES + _MAX_BODY_BYTES:
            raise SettingsError("corrupt", "%d bytes is too long" % size)
        f = fs.open(FILE, "rb")
        try:
            data = f.read()
        finally:
            f.close()
    except OSError as e:
        if e.errno == _ENOENT:
            raise SettingsError("missing", "no " + FILE, _ENOENT)
        raise SettingsError("corrupt", "unreadable: flash error %d" % (e.errno or 0), e.errno or 0)
    return decode(data)


def decode(data):
    """The record in a settings file's bytes; SettingsError("corrupt" | "version") if not intact."""
    end = data.find(b"\n", 0, _MAX_HEADER_BYTES)
    if end < 0:
        raise SettingsError("corrupt", "no header")
    parts = data[:end].split(b" ")
    if len(parts) != 4 or parts[0] != _MAGIC.encode():
        raise SettingsError("corrupt", "bad header")
    if not parts[1].isdigit():
        raise SettingsError("corrupt", "bad header")
    version = int(parts[1])
    if version != _VERSION:
        raise SettingsError("version", "format %d; this firmware reads %d" % (version, _VERSION))
    try:
        crc = int(parts[2], 16)
        length = int(parts[3])
    except ValueError:
        raise SettingsError("corrupt", "bad header")
    if data[: end + 1] != _header(crc, length).encode():
        raise SettingsError("corrupt", "bad header")  # only the canonical form is trusted
    body = data[end + 1 :]
    if len(body) != length:
        raise SettingsError("corrupt", "%d bytes of body, header says %d" % (len(body), length))
    if crc32(body) != crc:
        raise SettingsError("corrupt", "CRC mismatch")
    try:
        record = json.loads(body)
    except (ValueError, RuntimeError, MemoryError):  # RuntimeError: nested past the parser's depth
        raise SettingsError("corrupt", "not valid JSON")
    if type(record) is not dict or not _plain(record):
        raise SettingsError("corrupt", "not a settings record")
    if len(record) != len(Settings.FIELDS) or [k for k in Settings.FIELDS if k not in record]:
        raise SettingsError("version", "its fields are not this firmware's")
    return record


def _stored_schedule(value, field, lo, hi, step=1):
    """A stored schedule (flat [start_min, value, ...]) checked as entry checks one."""
    if type(value) is not list or not 2 <= len(value) <= 2 * MAX_SEGMENTS or len(value) % 2:
        raise Refused(field, "expected 1 to %d (start minute, value) pairs" % MAX_SEGMENTS)
    last = -1
    for i in range(0, len(value), 2):
        where = "%s[%d]" % (field, i // 2)
        start = check_int(value[i], where, 0, 1439 if i else 0)
        if start <= last:
            raise Refused(where, "segments must be in increasing time order")
        last = start
        v = check_int(value[i + 1], where, lo, hi)
        if v % step:
            raise Refused(where, "%d is not in steps of %d" % (v, step))
    return segments(value)


# stored field -> (lowest, highest, step) for the plain whole numbers of the integer form
_STORED = (
    ("max_bolus_mu", 50, MAX_BOLUS_CEILING_MU, 1),
    ("max_basal_mu_h", 50, MAX_BASAL_CEILING_MU_H, 1),
    ("max_hourly_mu", 50, MAX_HOURLY_CEILING_MU, 1),
    ("max_daily_mu", 50, MAX_DAILY_CEILING_MU, 1),
    ("dia_min", 300, 480, 1),
    ("peak_min", 35, 120, 1),
    ("low_reservoir_mu", 10000, 40000, 1000),
    ("set_change_min", 1440, 10080, 60),
)


def checked(rec, rig):
    """Settings from their stored integer form (a settings file, a plan), every value held to
    the same rules as one entered on the buttons: a CRC proves only that the bytes are the
    ones written, not that whoever wrote them (another build, a person with mpremote) kept
    those rules. Refused naming the field, and nothing built, when one does not hold."""
    if type(rec) is not dict:
        raise Refused("settings", "expected a settings record")
    for name in rec:
        if name not in Settings.FIELDS:
            raise Refused(str(name), "not a setting of this firmware")
    for name in Settings.FIELDS:
        if name not in rec:
            raise Refused(name, "missing")
    s = Settings()
    for name, lo, hi, step in _STORED:
        value = check_int(rec[name], name, lo, hi)
        if value % step:
            raise Refused(name, "%d is not in steps of %d" % (value, step))
        setattr(s, name, value)
    inc = rec["bolus_increment_mu"]
    if type(inc) is not int or inc not in (10, 25, 50, 100):
        raise Refused("bolus_increment_mu", "%r is not one of 10, 25, 50, 100 mU" % (inc,))
    s.bolus_increment_mu = inc
    auto_off = check_int(rec["auto_off_min"], "auto_off_min", 0, 1440)
    if auto_off and (auto_off < 300 or auto_off % 60):
        raise Refused("auto_off_min", "%d is not 0 (off) or 5..24 h in whole hours" % auto_off)
    s.auto_off_min = auto_off
    s.icr_dg_per_u = _stored_schedule(rec["icr_dg_per_u"], "icr_dg_per_u", 10, 1500)
    s.isf_mgdl_per_u = _stored_schedule(rec["isf_mgdl_per_u"], "isf_mgdl_per_u", 5, 400)
    s.target_mgdl = _stored_schedule(rec["target_mgdl"], "target_mgdl", 70, 200)
    profiles = rec["profiles"]
    if type(profiles) is not dict or not 1 <= len(profiles) <= MAX_PROFILES:
        raise Refused("profiles", "expected 1 to %d named basal profiles" % MAX_PROFILES)
    for name in profiles:
        check_profile_name(name)
        s.profiles[name] = _stored_schedule(
            profiles[name], "profiles." + name, 0, MAX_BASAL_CEILING_MU_H, BASAL_STEP_MU_H
        )
    active = rec["active_profile"]
    if type(active) is not str:
        raise Refused("active_profile", "expected a profile name")
    s.active_profile = active
    validate(s, rig)
    return s
