"""HMAC-SHA256 (RFC 2104) on hashlib.sha256, for CPython and MicroPython alike.

    tag = hmac_sha256(key, message)     # 32 bytes
    same(tag, expected)                 # compares in a time that does not depend on where they differ

MicroPython's hashlib has sha256 but no hmac module. Proven with the RFC 4231 test vectors on
both interpreters (host_tests/test_link.py).
"""

from hashlib import sha256

from pump.compat import const

_BLOCK = const(64)  # SHA-256's block size in bytes


def hmac_sha256(key, message):
    if len(key) > _BLOCK:
        key = sha256(key).digest()
    key = bytes(key) + bytes(_BLOCK - len(key))
    inner = sha256(bytes(b ^ 0x36 for b in key))
    inner.update(message)
    outer = sha256(bytes(b ^ 0x5C for b in key))
    outer.update(inner.digest())
    return outer.digest()


def same(a, b):
    """True when the byte strings are equal; the time taken depends only on their lengths."""
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0
