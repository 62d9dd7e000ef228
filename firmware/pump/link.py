"""The serial link, the pump's side: frames, sessions, authentication, pairing, commands.

    link = Link(pump, store, random_bytes, save_settings=None, announce=None, set_clock=None)
    reply = link.frame(line, now_ms)     # one received line (bytes, no newline) -> reply bytes
    code = link.open_pairing(now_ms)     # from the pump's pairing screen: the code to type

A frame is one line of ASCII: `PL1 <tag> <counter> <json>` (docs/protocol.md). `hello` opens a
session: the pump answers with a fresh random nonce, and from then on every frame both ways
carries a counter that only increases and an HMAC-SHA256 tag over the session nonce, the
direction, the counter and the JSON, under the key agreed at pairing. A forged tag, a replayed
or stale counter, or an authenticated command with no pairing is refused and counts as a
failure; three failures in a row lock the link out for 2 s, doubling with each further failure
up to an hour. Remote doses (bolus, temp basal, suspend, resume) are refused unless enabled on
the pump, and go through the pump's own commands and limits, logged with source "link".

Pure logic: the shell and the simulators own the transport (a USB serial port, a pty) and
call frame() with each line. Each frame's work is bounded (a history page is at most 20
records, a frame at most 2048 bytes) and frames beyond 20 in a burst, 10 a second after it,
get `busy`, so the link can never starve delivery.
"""

import json

from pump.compat import const, ticks_diff
from pump.errors import Refused
from pump.hmac256 import hmac_sha256, same

MAGIC = "PL1"
VERSION = const(1)
MAX_FRAME = const(2048)
PAGE_MAX = const(20)
PAIRING_MS = const(120000)
_BURST = const(20)
_REFILL_MS = const(100)  # one more frame allowed every 100 ms
_LOCK_AFTER = const(3)
_LOCK_MAX_S = const(3600)
SETTINGS_MAX = const(8192)  # a settings document sent in parts: at most this many characters
_NONCE_BYTES = const(16)
_CODE_BYTES = const(10)  # 80 bits, 16 characters of 5 bits
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1
_PAIR_LABEL = b"pump-link-pair-1"
_LIMITS = ("max_bolus_mu", "max_basal_mu_h", "max_hourly_mu", "max_daily_mu")
DOSE_COMMANDS = ("bolus", "temp_basal", "suspend", "resume")
STORE_FILE = "link.json"


def _decimal(text):
    """Digits only, no leading zero, at most 12: the one way a counter is written."""
    if not 0 < len(text) <= 12 or (len(text) > 1 and text[0] == 48):
        return False
    for c in text:
        if not 48 <= c <= 57:
            return False
    return True


def _hex64(text):
    if len(text) != 64:
        return False
    for c in text:
        if not (48 <= c <= 57 or 97 <= c <= 102):
            return False
    return True


def key_from_code(code):
    """The link key both sides derive from the pairing code (case, spaces, dashes ignored)."""
    text = code.upper().replace("-", "").replace(" ", "")
    return hmac_sha256(text.encode(), _PAIR_LABEL)


def tag(key, nonce, direction, counter, body):
    """The frame's tag: HMAC-SHA256 over nonce | direction (b"H" host, b"P" pump) | counter | body."""
    return hmac_sha256(key, nonce + direction + str(counter).encode() + b" " + body)


class Lines:
    """Bytes from a serial port into lines for Link.frame, in bounded memory: a line longer
    than a frame may be is cut at MAX_FRAME + 1 bytes (frame() answers it `too_long`) and the
    rest of it, up to its newline, is dropped. The line is gathered in one buffer allocated
    here, once: growing it byte by byte asked the heap for ever larger blocks, and on a
    fragmented heap the last one (2 KB) failed in the link task."""

    def __init__(self):
        self.buf = bytearray(MAX_FRAME + 1)
        self.n = 0
        self.dropping = False

    def feed(self, data):
        lines = []
        buf = self.buf
        for b in data:
            if b == 10:  # newline
                if not self.dropping:
                    n = self.n
                    while n and buf[n - 1] == 13:
                        n -= 1
                    lines.append(bytes(memoryview(buf)[:n]))
                self.n = 0
                self.dropping = False
            elif not self.dropping:
                buf[self.n] = b
                self.n += 1
                if self.n > MAX_FRAME:
                    lines.append(memoryview(buf))  # too long: frame() looks at its length only
                    self.n = 0
                    self.dropping = True
        return lines


class LinkStore:
    """The pairing key and the remote-doses switch, kept in one small file on the flash. A file
    that is missing or does not check out leaves the pump unpaired with remote doses off."""

    def __init__(self, fs):
        self.fs = fs
        self.key = None
        self.remote_doses = False
        try:
            with fs.open(STORE_FILE, "rb") as f:
                doc = json.loads(f.read())
            key = bytes.fromhex(doc["key"]) if doc["key"] else None
            if doc["check"] != _check(key, doc["remote"]):
                raise ValueError("check")
            self.key = key
            self.remote_doses = doc["remote"] is True
        except (OSError, ValueError, KeyError, TypeError):
            pass

    def save(self):
        """Write the file whole and rename it into place (an atomic LittleFS rename)."""
        doc = {"key": self.key.hex() if self.key else "", "remote": self.remote_doses}
        doc["check"] = _check(self.key, self.remote_doses)
        with self.fs.open("link.tmp", "wb") as f:
            f.write(json.dumps(doc).encode())
        self.fs.rename("link.tmp", STORE_FILE)


def _check(key, remote):
    return hmac_sha256(b"link-store", (key or b"") + (b"1" if remote is True else b"0")).hex()[:16]


class Link:
    def __init__(self, pump, store, random_bytes, save_settings=None, announce=None, set_clock=None):
        self.pump = pump
        self.store = store
        self.random = random_bytes  # n -> n random bytes (os.urandom on a board)
        self.save_settings = save_settings  # record -> None, raising Refused: the settings file
        self.announce = announce  # (text) -> None: a remote dose is shown and sounded on the pump
        self.set_clock = set_clock  # (day, tod_ms) -> None: the board's clock follows a time set
        self.nonce = None  # the session's, from the last hello
        self.host_counter = 0
        self.pump_counter = 0
        self.failures = 0
        self._locked_at = None
        self._lock_ms = 0
        self._tokens = _BURST
        self._refilled_at = None
        self.pairing_until = None  # ms; the pairing window is open until then
        self.pending_key = None
        self._parts = []  # a settings document arriving in settings_part frames

    # ----------------------------------------------------------------- pairing

    def open_pairing(self, now_ms):
        """Open the pairing window for 2 minutes; returns the code the pump shows."""
        raw = self.random(_CODE_BYTES)
        bits = int.from_bytes(raw, "big")
        chars = [CODE_ALPHABET[(bits >> (5 * i)) & 31] for i in range(16)]
        code = "-".join("".join(chars[i : i + 4]) for i in range(0, 16, 4))
        self.pending_key = key_from_code(code)
        self.pairing_until = now_ms + PAIRING_MS
        return code

    def close_pairing(self):
        self.pairing_until = None
        self.pending_key = None

    def pairing_open(self, now_ms):
        if self.pairing_until is not None and ticks_diff(self.pairing_until, now_ms) <= 0:
            self.close_pairing()
        return self.pairing_until is not None

    # ----------------------------------------------------------------- frames

    def frame(self, line, now_ms):
        """The reply (bytes, no newline) to one received line."""
        if not self._take_token(now_ms):
            return self._plain("busy", "too many frames: at most 10 a second")
        if self._locked_at is not None:
            left = self._lock_ms - ticks_diff(now_ms, self._locked_at)
            if left > 0:
                return self._plain("locked", "", (left + 999) // 1000)
            self._locked_at = None
        if len(line) > MAX_FRAME:
            return self._plain("too_long", "a frame is at most %d bytes" % MAX_FRAME)
        parts = bytes(line).split(b" ", 3)
        if len(parts) != 4 or parts[0] != b"PL1":
            return self._plain("malformed", "expected: PL1 <tag> <counter> <json>")
        tag_text, counter_text, body = parts[1], parts[2], parts[3]
        try:
            # one spelling of each: a counter in plain decimal, a tag in 64 lower-case hex digits
            if not _decimal(counter_text) or not (tag_text == b"-" or _hex64(tag_text)):
                raise ValueError
            counter = int(counter_text)
            msg = json.loads(body)
            cmd = msg["cmd"]
            if type(cmd) is not str:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return self._plain("malformed", "the tag, the counter or the JSON is not as expected")
        if tag_text == b"-":
            if cmd != "hello":
                return self._fail(now_ms, "unauthenticated", "only hello goes without a tag")
            return self._hello()
        key = self._key_for(cmd, now_ms)
        if self.nonce is None:
            return self._fail(now_ms, "no_session", "send hello first")
        if key is None:
            return self._fail(now_ms, "unpaired", "pair from the pump's pairing screen first")
        if not same(bytes.fromhex(tag_text.decode()), tag(key, self.nonce, b"H", counter, body)):
            return self._fail(now_ms, "bad_tag", "the tag does not match")
        if counter <= self.host_counter:
            return self._fail(now_ms, "replay", "counter %d is not above %d" % (counter, self.host_counter))
        self.host_counter = counter
        self.failures = 0
        self._lock_ms = 0
        try:
            reply = self._command(cmd, msg, key, now_ms)
        except Refused as e:
            reply = {"ok": False, "error": "refused", "detail": str(e)}
        except (KeyError, TypeError, ValueError) as e:
            reply = {"ok": False, "error": "bad_args", "detail": str(e)}
        return self._signed(key, reply)

    def _take_token(self, now_ms):
        if self._refilled_at is None:
            self._refilled_at = now_ms
        gained = ticks_diff(now_ms, self._refilled_at) // _REFILL_MS
        if gained > 0:
            self._tokens = min(_BURST, self._tokens + gained)
            self._refilled_at = now_ms
        if self._tokens <= 0:
            return False
        self._tokens -= 1
        return True

    def _key_for(self, cmd, now_ms):
        if cmd == "pair" and self.pairing_open(now_ms):
            return self.pending_key
        return self.store.key

    def _hello(self):
        self.nonce = self.random(_NONCE_BYTES)
        self._parts = []
        self.host_counter = 0
        self.pump_counter = 0
        reply = {
            "ok": True,
            "cmd": "hello",
            "v": VERSION,
            "nonce": self.nonce.hex(),
            "paired": self.store.key is not None,
        }
        return b"PL1 - 0 " + json.dumps(reply).encode()

    def _plain(self, error, detail, retry_s=None):
        reply = {"ok": False, "error": error, "detail": detail}
        if retry_s is not None:
            reply["retry_s"] = retry_s
        return b"PL1 - 0 " + json.dumps(reply).encode()

    def _fail(self, now_ms, error, detail):
        self.failures += 1
        if self.failures >= _LOCK_AFTER:
            seconds = 2 << (self.failures - _LOCK_AFTER) if self.failures < 15 else _LOCK_MAX_S
            self._lock_ms = min(seconds, _LOCK_MAX_S) * 1000
            self._locked_at = now_ms
        return self._plain(error, detail)

    def _signed(self, key, reply):
        self.pump_counter += 1
        body = json.dumps(reply).encode()
        t = tag(key, self.nonce, b"P", self.pump_counter, body)
        return b"PL1 " + t.hex().encode() + b" " + str(self.pump_counter).encode() + b" " + body

    # ----------------------------------------------------------------- commands

    def _command(self, cmd, msg, key, now_ms):
        p = self.pump
        if cmd == "pair":
            if key is not self.pending_key:
                return {"ok": False, "error": "not_pairing", "detail": "open the pairing screen on the pump"}
            self.store.key = key
            self.store.save()
            self.close_pairing()
            return {"ok": True}
        if cmd == "status":
            return self._status()
        if cmd == "history":
            return self._history(msg)
        if cmd == "totals":
            return self._totals(msg)
        if cmd == "settings_get":
            from pump.settings_user import settings_to_record

            return {
                "ok": True,
                "settings": settings_to_record(p.settings),
                "remote_doses": self.store.remote_doses,
            }
        if cmd == "settings_part":
            return self._settings_part(msg)
        if cmd == "settings_set":
            return self._settings_set(msg)
        if cmd == "time_set":
            day, tod_ms = msg["day"], msg["tod_ms"]
            if type(day) is not int or type(tod_ms) is not int:
                raise ValueError("day and tod_ms are whole numbers")
            p.confirm_time(day, tod_ms, source="link")
            if self.set_clock is not None:
                self.set_clock(day, tod_ms)
            return {"ok": True}
        if cmd in DOSE_COMMANDS:
            return self._dose(cmd, msg)
        return {"ok": False, "error": "unknown_command", "detail": cmd[:32]}

    def _status(self):
        p = self.pump
        t = p.temp
        b = p.current_bolus
        return {
            "ok": True,
            "mode": p.mode,
            "day": p.day,
            "tod_ms": p.tod_ms,
            "basal_mu_h": p.programmed_basal_mu_h(),
            "temp": None if t is None else {"percent": t.percent, "left_ms": t.left_ms},
            "bolus": None
            if b is None
            else {"programmed_mu": b.programmed_mu, "delivered_mu": p.rig.mu_for(b.delivered_steps)},
            "iob_mu": p.iob_mu(),
            "reservoir_mu": p.reservoir_mu(),
            "alarms": [[a[0], a[1], a[3]] for a in p.alarms.active()],
            "profile": p.settings.active_profile,
            "remote_doses": self.store.remote_doses,
        }

    def _history(self, msg):
        h = self.pump.history()
        if h is None:
            return {"ok": False, "error": "no_history", "detail": "this pump keeps no history"}
        since = msg.get("since", 0)
        until = msg.get("until", 0xFFFFFFFF)
        after = msg.get("after_seq", 0)
        count = msg.get("count", PAGE_MAX)
        for value in (since, until, after, count):
            if type(value) is not int or value < 0:
                raise ValueError("since, until, after_seq and count are whole numbers")
        count = min(count, PAGE_MAX)
        records = []
        more = False
        it = h.records(t_from=since, t_to=until)
        for r in it:
            if r.seq <= after:
                continue
            if len(records) == count:
                more = True
                break
            records.append([getattr(r, f) for f in r.__slots__])  # docs/history.md's order
        it.close()
        return {"ok": True, "records": records, "more": more, "next_seq": h.next_seq}

    def _totals(self, msg):
        from pump.ui_history import totals_by_day

        days = msg.get("days", 7)
        if type(days) is not int or not 1 <= days <= 14:
            raise ValueError("days is 1..14")
        p = self.pump
        h = p.history()
        if h is None:
            return {"ok": False, "error": "no_history", "detail": "this pump keeps no history"}
        first = p.day - days + 1
        totals = totals_by_day(h, first, days)
        return {"ok": True, "days": [[first + i] + list(totals[i]) for i in range(days)]}

    def _settings_part(self, msg):
        """A piece of a settings document too big for one frame, in order from 0."""
        i, text = msg["i"], msg["text"]
        if type(i) is not int or type(text) is not str:
            raise ValueError("i is a whole number and text is text")
        if i == 0:
            self._parts = []
        if i != len(self._parts):
            self._parts = []
            return {"ok": False, "error": "bad_args", "detail": "parts go in order from 0"}
        if sum(len(t) for t in self._parts) + len(text) > SETTINGS_MAX:
            self._parts = []
            return {
                "ok": False,
                "error": "too_long",
                "detail": "settings are at most %d characters" % SETTINGS_MAX,
            }
        self._parts.append(text)
        return {"ok": True}

    def _settings_set(self, msg):
        from pump.settings_user import settings_from_user

        p = self.pump
        if p.alarms.is_active("settings_invalid"):
            # the limits the link would be compared with are the firmware's defaults, not the
            # person's: after damage they are set again, or confirmed, at the pump
            self._parts = []
            return {
                "ok": False,
                "error": "settings_on_pump",
                "detail": "the pump lost its settings: set or confirm them on the pump",
            }
        if "parts" in msg:  # the document came in settings_part frames
            parts = self._parts
            self._parts = []
            if msg["parts"] != len(parts):
                raise ValueError("%d parts announced, %d received" % (msg["parts"], len(parts)))
            user = json.loads("".join(parts))
        else:
            user = msg["settings"]
        new = settings_from_user(user, p.rig)
        for name in _LIMITS:
            if getattr(new, name) != getattr(p.settings, name):
                return {"ok": False, "error": "limits_on_pump", "detail": name + " changes only on the pump"}
        from pump.settings_user import settings_to_record

        record = settings_to_record(new)

        def save():
            if self.save_settings is None:
                raise Refused("settings", "this pump has no settings storage")
            self.save_settings(record)

        p.confirm_settings(new, save, source="link")
        return {"ok": True}

    def _dose(self, cmd, msg):
        p = self.pump
        if not self.store.remote_doses:
            return {
                "ok": False,
                "error": "remote_doses_off",
                "detail": "enable remote doses on the pump first",
            }
        try:
            if cmd == "bolus":
                mu = msg["mu"]
                if type(mu) is not int:
                    raise ValueError("mu is a whole number of milliunits")
                ext = msg.get("extended_min", 0)
                p.bolus(
                    mu,
                    msg.get("now_pct", 0 if ext else 100),
                    ext,
                    source="link",
                    carbs_g=msg.get("carbs_g", 0),
                )
                what = "BOLUS %d.%02d U" % (mu // 1000, mu % 1000 // 10)
            elif cmd == "temp_basal":
                p.temp_basal(msg["minutes"], msg.get("percent"), msg.get("rate_mu_h"), source="link")
                what = "TEMP BASAL"
            elif cmd == "suspend":
                p.suspend(msg.get("minutes", 0), source="link")
                what = "SUSPEND"
            else:
                p.resume(source="link")
                what = "RESUME"
        except Refused as e:
            p.refused(cmd, msg.get("mu", 0) if type(msg.get("mu", 0)) is int else 0, source="link")
            return {"ok": False, "error": "refused", "detail": str(e)}
        if self.announce is not None:
            self.announce(what)
        return {"ok": True}
