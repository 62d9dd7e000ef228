"""CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320): the same value as zlib.crc32.

The interpreter's own binascii.crc32 when it has one (CPython; MicroPython builds with
MICROPY_PY_BINASCII_CRC32, among them the rp2, esp32 and unix ports): C code whose table
lives in flash, so no heap. Otherwise pure_crc32 below, which tests check against zlib.

pure_crc32: pure integers, table-driven. The 32-bit register is kept as two 16-bit halves and the
table as two array('H') (1 KB together, built on first use): on a 32-bit MicroPython board
small ints have 31 bits, so a whole 32-bit register would make every byte step allocate a
long integer, while the halves never leave the small-int range. Only the returned value
is a full 32-bit number.
"""

from array import array

try:
    from binascii import crc32 as _native
except ImportError:  # a build without it
    _native = None

_tables = None  # (high 16 bits, low 16 bits) of the 256 table entries, once built


def _build():
    global _tables
    hi = array("H", bytearray(512))
    lo = array("H", bytearray(512))
    for i in range(256):
        h = 0
        v = i
        for _ in range(8):
            odd = v & 1
            v = (v >> 1) | ((h & 1) << 15)
            h >>= 1
            if odd:
                h ^= 0xEDB8
                v ^= 0x8320
        hi[i] = h
        lo[i] = v
    _tables = (hi, lo)
    return _tables


def crc32(data, crc=0, end=None):
    """CRC-32 of data[0:end] (all of it when end is None), continuing from crc."""
    if _native is None:
        return pure_crc32(data, crc, end)
    return _native(data if end is None else memoryview(data)[:end], crc) & 0xFFFFFFFF


def pure_crc32(data, crc=0, end=None):
    """crc32() without binascii."""
    thi, tlo = _tables if _tables is not None else _build()
    h = (crc >> 16) ^ 0xFFFF
    v = (crc & 0xFFFF) ^ 0xFFFF
    for i in range(len(data) if end is None else end):
        j = (v ^ data[i]) & 0xFF
        v = ((v >> 8) | ((h & 0xFF) << 8)) ^ tlo[j]
        h = (h >> 8) ^ thi[j]
    return ((h ^ 0xFFFF) << 16) | (v ^ 0xFFFF)
