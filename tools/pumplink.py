"""The serial link, the host's side (docs/protocol.md): sessions, tags, counters, pairing.

    session = Session(transport, key)         # transport: write(bytes), readline() -> bytes
    session.hello()
    reply = session.call("status")            # a dict; raises LinkError on an error reply
    key = pair(transport, "ABCD-EFGH-JKLM-NPQR")   # the code the pump's pairing screen shows

The HMAC and the key derivation are the pump's own (firmware/pump/hmac256.py, link.py), so
both ends compute tags with the same code.
"""

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.join(ROOT, "firmware") not in sys.path:
    sys.path.insert(0, os.path.join(ROOT, "firmware"))

from pump.hmac256 import same  # noqa: E402
from pump.link import key_from_code, tag  # noqa: E402


class LinkError(Exception):
    """The pump refused a frame or a command: `error` is the protocol's code."""

    def __init__(self, error, detail="", reply=None):
        super().__init__("%s: %s" % (error, detail) if detail else error)
        self.error = error
        self.detail = detail
        self.reply = reply or {}


class Session:
    def __init__(self, transport, key=None):
        self.transport = transport
        self.key = key
        self.nonce = None
        self.counter = 0
        self.pump_counter = 0
        self.paired = None

    def _exchange(self, line):
        self.transport.write(line + b"\n")
        reply = self.transport.readline()
        if not reply:
            raise LinkError("timeout", "no reply from the pump")
        return reply.rstrip(b"\r\n")

    def hello(self):
        reply = self._exchange(b'PL1 - 0 {"cmd": "hello"}')
        msg = self._plain(reply)
        self.nonce = bytes.fromhex(msg["nonce"])
        self.counter = 0
        self.pump_counter = 0
        self.paired = msg["paired"]
        return msg

    def _plain(self, reply):
        parts = reply.split(b" ", 3)
        if len(parts) != 4 or parts[0] != b"PL1":
            raise LinkError("garbled", repr(reply[:80]))
        msg = json.loads(parts[3])
        if not msg.get("ok"):
            raise LinkError(msg.get("error", "?"), msg.get("detail", ""), msg)
        return msg

    def call(self, cmd, key=None, **args):
        """Send an authenticated command; the verified reply (raises LinkError if refused)."""
        key = key or self.key
        if key is None:
            raise LinkError("unpaired", "no key: pair first")
        if self.nonce is None:
            self.hello()
        self.counter += 1
        body = json.dumps(dict(args, cmd=cmd), separators=(",", ":")).encode()
        t = tag(key, self.nonce, b"H", self.counter, body)
        reply = self._exchange(b"PL1 " + t.hex().encode() + b" " + str(self.counter).encode() + b" " + body)
        parts = reply.split(b" ", 3)
        if len(parts) != 4 or parts[0] != b"PL1":
            raise LinkError("garbled", repr(reply[:80]))
        if parts[1] == b"-":  # an unauthenticated refusal: the frame never got through
            self._plain(reply)
            raise LinkError("garbled", "an unauthenticated success")
        counter = int(parts[2])
        if counter <= self.pump_counter or not same(
            bytes.fromhex(parts[1].decode()), tag(key, self.nonce, b"P", counter, parts[3])
        ):
            raise LinkError("forged_reply", "the pump's reply does not verify")
        self.pump_counter = counter
        msg = json.loads(parts[3])
        if not msg.get("ok"):
            raise LinkError(msg.get("error", "?"), msg.get("detail", ""), msg)
        return msg


PART_CHARS = 1500  # a settings_part frame's text: well inside a 2048-byte frame


def send_settings(session, user):
    """Settings in the user-facing form to the pump: in one frame when it fits, else in parts."""
    text = json.dumps(user, separators=(",", ":"))
    if len(text) <= PART_CHARS:
        return session.call("settings_set", settings=user)
    parts = [text[i : i + PART_CHARS] for i in range(0, len(text), PART_CHARS)]
    for i, part in enumerate(parts):
        session.call("settings_part", i=i, text=part)
    return session.call("settings_set", parts=len(parts))


def pair(transport, code):
    """Pair with a pump whose pairing screen shows `code`; returns the key to keep."""
    key = key_from_code(code)
    s = Session(transport, key)
    s.hello()
    s.call("pair")
    return key
