"""Damage to a pump's flash while its power is off: what a worn block, a bad write or a person
with mpremote can leave (the scenario's `flash_damage` and `settings_file` events).

Works on any of the pump's flash objects (hal/storage.py's interface: open, size, listdir)
that also offers fail_reads(name), and runs on CPython and in the MicroPython unix port with
the same result: the choices come from a small generator of its own, seeded by the scenario.
"""

import json

from pump.crc32 import crc32
from pump.settings_store import FILE as SETTINGS_FILE

_RECORD_BYTES = 32


class _Rng:
    """A 31-bit linear congruential generator: the same numbers on every interpreter."""

    def __init__(self, seed):
        self.state = seed & 0x7FFFFFFF

    def below(self, n):
        self.state = (self.state * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.state >> 8) % n


def _read(flash, name):
    f = flash.open(name, "rb")
    try:
        return bytearray(f.read())
    finally:
        f.close()


def _write(flash, name, data):
    f = flash.open(name, "wb")
    try:
        f.write(data)
        f.flush()
    finally:
        f.close()


def damage(flash, target, kind, seed):
    """Damage one file of the target ("history" or "settings"); what was done, in words.

    erase_segment: the whole file reads as an erased block (0xFF); flip: one bit inverted;
    swap_records: two whole history records change places; truncate: the file cut short;
    read_error: every later read of the file fails (EIO), as a block gone bad does.
    """
    if target == "history":
        names = sorted([n for n in flash.listdir() if n.startswith("h_") and n.endswith(".bin")])
    else:
        names = [n for n in flash.listdir() if n == SETTINGS_FILE]
    if not names:
        return "no %s file to damage" % target
    rng = _Rng(seed)
    name = names[rng.below(len(names))]
    if kind == "read_error":
        flash.fail_reads(name)
        return "%s: reads fail" % name
    try:
        data = _read(flash, name)
    except OSError:
        return "%s: unreadable already" % name
    size = len(data)
    if not size:
        return "%s: empty, nothing to damage" % name
    if kind == "erase_segment":
        data = bytearray(b"\xff" * size)
        what = "erased"
    elif kind == "flip":
        at = rng.below(size)
        data[at] ^= 1 << rng.below(8)
        what = "bit flipped at byte %d" % at
    elif kind == "truncate":
        at = rng.below(size)
        data = data[:at]
        what = "cut to %d bytes" % at
    else:  # swap_records
        count = size // _RECORD_BYTES
        if count < 2:
            return "%s: fewer than two records, nothing swapped" % name
        i = rng.below(count)
        j = (i + 1 + rng.below(count - 1)) % count
        a = data[i * _RECORD_BYTES : (i + 1) * _RECORD_BYTES]
        data[i * _RECORD_BYTES : (i + 1) * _RECORD_BYTES] = data[j * _RECORD_BYTES : (j + 1) * _RECORD_BYTES]
        data[j * _RECORD_BYTES : (j + 1) * _RECORD_BYTES] = a
        what = "records %d and %d swapped" % (i, j)
    _write(flash, name, data)
    return "%s: %s" % (name, what)


def settings_file(flash, base_record, values):
    """Write a settings file with a valid header and CRC whose body is base_record with
    `values` (JSON text of an object) put over it, raw: as another build, or a person with
    mpremote, could store."""
    record = {}
    for key in base_record:
        record[key] = base_record[key]
    values = json.loads(values)
    for key in values:
        record[key] = values[key]
    body = json.dumps(record).encode()
    header = "PUMPSETTINGS 1 %08x %d\n" % (crc32(body), len(body))
    _write(flash, SETTINGS_FILE, header.encode() + body)
