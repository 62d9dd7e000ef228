"""The pump's history: append-only, CRC-checked 32-byte records in two rings of files.

A record is written once and never changed. Therapy events and alarms go to the "ev" ring,
the five-minute operational records to the "op" ring, so the frequent ones can never push a
therapy event out. Each ring is a run of numbered segment files ("h_ev_000123.bin") of
SEGMENT_RECORDS records; the oldest segment is removed when a ring would pass its count.
Every record carries a sequence number, strictly increasing over the whole history, and a
CRC-32; a record whose CRC fails is skipped, never reinterpreted. After any damage (a torn
tail at start-up, a write that failed part-way) appending moves to a fresh segment, so no
later record can ever be misaligned by it. A record that cannot be written waits in a small
RAM queue and is retried on the next append or flush(); the caller is told every time
(HistoryError). Sizes, field use per type and the arithmetic: docs/history.md.
"""

import struct

from pump.compat import const
from pump.crc32 import crc32
from pump.errors import check_int

RECORD_BYTES = const(32)
SEGMENT_RECORDS = const(128)  # one 4 KB LittleFS block per segment
EV_SEGMENTS = const(58)  # >= 57 * 128 = 7296 events: 91 days at 80 a day
OP_SEGMENTS = const(35)  # >= 34 * 128 = 4352 operational records: 15.1 days at 288 a day
QUEUE_RECORDS = const(16)

_FMT = "<IIBBBBIIIII"
_BODY = const(28)
_U32 = const(0xFFFFFFFF)
_DAY_S = const(86400)
_ENOENT = const(2)
_ENOSPC = const(28)

# Record types. What each field holds per type is tabled in docs/history.md.
POWER_ON = const(1)
TIME_SET = const(2)
SETTINGS = const(3)
PROFILE = const(4)
RESERVOIR = const(5)
SUSPEND = const(6)
RESUME = const(7)
TEMP_START = const(8)
BOLUS_START = const(9)
BOLUS_PROGRESS = const(10)
DOSE = const(11)
INTERRUPTED = const(12)
ALARM = const(13)
REFUSED = const(14)
OPERATIONAL = const(15)
LOST = const(16)  # written by the history itself: records it had to drop
TYPE_NAMES = (
    "?",
    "power_on",
    "time_set",
    "settings",
    "profile",
    "reservoir",
    "suspend",
    "resume",
    "temp_start",
    "bolus_start",
    "bolus_progress",
    "dose",
    "interrupted",
    "alarm",
    "refused",
    "operational",
    "lost",
)

SOURCE_AUTO = const(0)
SOURCE_BUTTONS = const(1)
SOURCE_LINK = const(2)
MODE_RUNNING = const(0)
MODE_SUSPENDED = const(1)
MODE_STOPPED = const(2)

# Dose kinds: `code` of BOLUS_START, BOLUS_PROGRESS, DOSE and INTERRUPTED.
KIND_NORMAL = const(0)
KIND_EXTENDED = const(1)
KIND_DUAL = const(2)
KIND_PRIME = const(3)
KIND_TEMP_BASAL = const(4)
KIND_NAMES = ("normal", "extended", "dual", "prime", "temp_basal")
# How a dose ended: the low byte of a DOSE record's aux (the duration in s is above it).
STATUS_NAMES = ("completed", "cancelled", "suspended", "replaced", "stopped", "interrupted")
# An alarm record's aux: state | priority << 8.
ALARM_STATES = ("raised", "acknowledged", "silenced", "cleared")
PRIORITY_NAMES = ("low", "medium", "high")


def type_name(rtype):
    return TYPE_NAMES[rtype] if 0 < rtype < len(TYPE_NAMES) else "type%d" % rtype


def index_of(names, name):
    """The code of `name` in one of the tables above (ValueError if it has none)."""
    return names.index(name)


def dose_aux(status, duration_s):
    return status | check_int(duration_s, "duration_s", 0, 0xFFFFFF) << 8


def alarm_aux(state, priority):
    return state | priority << 8


def temp_aux(minutes, rate_mu_h):
    return check_int(minutes, "minutes", 0, 0xFFFF) << 16 | check_int(rate_mu_h, "rate_mu_h", 0, 0xFFFF)


class HistoryError(Exception):
    """A record could not be made durable now, or was lost.

    `reason` is "flash full", "flash error", "record lost" or "read failed"; `errno` the
    OSError number behind it; `queued` how many records wait in RAM to be retried; `lost`
    how many this history has had to drop since it was opened; `seq` the record's sequence
    number (0 when it was lost before it got one).
    """

    def __init__(self, reason, errno=0, queued=0, lost=0, seq=0):
        super().__init__(reason, errno)
        self.reason = reason
        self.errno = errno
        self.queued = queued
        self.lost = lost
        self.seq = seq

    def __str__(self):
        return "history: %s (error %d); %d waiting, %d lost" % (
            self.reason,
            self.errno,
            self.queued,
            self.lost,
        )


class Record:
    """One history record; field meanings per type in docs/history.md."""

    __slots__ = (
        "seq",
        "t_s",
        "type",
        "source",
        "mode",
        "code",
        "programmed_mu",
        "delivered_mu",
        "reservoir_mu",
        "aux",
    )

    def __init__(
        self,
        type,
        t_s,
        source=0,
        mode=0,
        code=0,
        programmed_mu=0,
        delivered_mu=0,
        reservoir_mu=0,
        aux=0,
        seq=0,
    ):
        self.seq = seq
        self.t_s = t_s
        self.type = type
        self.source = source
        self.mode = mode
        self.code = code
        self.programmed_mu = programmed_mu
        self.delivered_mu = delivered_mu
        self.reservoir_mu = reservoir_mu
        self.aux = aux

    def fields(self):
        return (
            self.seq,
            self.t_s,
            self.type,
            self.source,
            self.mode,
            self.code,
            self.programmed_mu,
            self.delivered_mu,
            self.reservoir_mu,
            self.aux,
        )

    def __eq__(self, other):
        return isinstance(other, Record) and self.fields() == other.fields()

    def __repr__(self):
        return "Record(%s seq=%d t_s=%d src=%d mode=%d code=%d prog=%d deliv=%d res=%d aux=%d)" % (
            (type_name(self.type),) + self.fields()[:2] + self.fields()[3:]
        )


def encode(rec, buf=None, offset=0):
    """rec packed into buf[offset:offset + 32] (a new bytearray when buf is None), with CRC.

    Every field is range-checked first (ValueError naming it): struct on MicroPython would
    silently truncate a value that does not fit.
    """
    for name in ("seq", "t_s", "programmed_mu", "delivered_mu", "reservoir_mu", "aux"):
        check_int(getattr(rec, name), name, 0, _U32)
    for name in ("type", "source", "mode", "code"):
        check_int(getattr(rec, name), name, 0, 255)
    if buf is None:
        buf = bytearray(RECORD_BYTES)
    struct.pack_into(_FMT, buf, offset, *(rec.fields() + (0,)))
    view = memoryview(buf)[offset : offset + RECORD_BYTES]
    struct.pack_into("<I", buf, offset + _BODY, crc32(view, 0, _BODY))
    return buf


def decode(buf):
    """The Record in a 32-byte buffer, or None when its CRC fails."""
    if len(buf) != RECORD_BYTES:
        return None
    f = struct.unpack(_FMT, buf)
    if crc32(buf, 0, _BODY) != f[10]:
        return None
    return Record(f[2], f[1], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[0])


class _Ring:
    """One ring of segment files: its name prefix, size and where appending stands."""

    def __init__(self, tag, segments):
        self.prefix = "h_" + tag + "_"
        self.segments = segments
        self.cur = -1  # number of the segment being appended to; -1 before the first
        self.count = 0  # whole records in it
        self.fresh = True  # the next append must start a new segment

    def name(self, n):
        return "%s%06d.bin" % (self.prefix, n)

    def number(self, name):
        """The segment number in a file name of this ring, else -1."""
        if name.startswith(self.prefix) and name.endswith(".bin"):
            digits = name[len(self.prefix) : -4]
            if digits and digits.isdigit():
                return int(digits)
        return -1


class History:
    def __init__(
        self,
        fs,
        ev_segments=EV_SEGMENTS,
        op_segments=OP_SEGMENTS,
        segment_records=SEGMENT_RECORDS,
        queue_records=QUEUE_RECORDS,
    ):
        self.fs = fs
        self.segment_records = segment_records
        self._ev = _Ring("ev", ev_segments)
        self._op = _Ring("op", op_segments)
        self._buf = bytearray(RECORD_BYTES)
        self._queue = bytearray(queue_records * RECORD_BYTES)
        self._qop = bytearray(queue_records)  # 1 when the queued record goes to the op ring
        self._qhead = 0
        self.queued = 0
        self.next_seq = 1
        self.last_t_s = 0  # time of the newest record
        self.lost = 0  # dropped since open() because the queue was full
        self._unlogged_lost = 0  # of those, not yet told by a LOST record
        self._last_errno = 0
        self.damaged = 0  # damaged places open() found in the newest segments
        self.write_errors = 0  # failed writes, including those that turned out to land

    # ---------------------------------------------------------------- start-up

    def open(self):
        """Scan the rings: continue the sequence after the newest good record. Returns damaged."""
        top = 0
        self.damaged = 0
        for ring in (self._ev, self._op):
            nums = self._numbers(ring)
            ring.cur = nums[-1] if nums else -1
            ring.count = 0
            ring.fresh = not nums
            i = len(nums) - 1
            while i >= 0:
                seq, t_s, slots, _, bad = self._scan(ring, nums[i])
                if i == len(nums) - 1:
                    ring.count = slots
                    ring.fresh = bad > 0
                    self.damaged += bad
                if seq:
                    if seq > top:
                        top = seq
                        self.last_t_s = t_s
                    break
                i -= 1
        self.next_seq = top + 1
        return self.damaged

    def _scan(self, ring, n):
        """(last good seq, its t_s, whole 32-byte slots, good, damaged) of segment n.

        Damaged: a slot whose CRC fails or whose seq does not follow, and a torn tail.
        """
        seq = t_s = slots = good = bad = 0
        f = self._open_segment(ring, n)
        if f is None:
            return 0, 0, 0, 0, 0
        try:
            while True:
                chunk = f.read(RECORD_BYTES)
                if len(chunk) < RECORD_BYTES:
                    if chunk:
                        bad += 1
                    break
                slots += 1
                rec = decode(chunk)
                if rec is None or rec.seq <= seq:
                    bad += 1
                else:
                    good += 1
                    seq = rec.seq
                    t_s = rec.t_s
        except OSError as e:
            raise HistoryError("read failed", e.errno, self.queued, self.lost)
        finally:
            f.close()
        return seq, t_s, slots, good, bad

    # ---------------------------------------------------------------- appending

    def append(
        self,
        rtype,
        t_s,
        source=0,
        mode=0,
        code=0,
        programmed_mu=0,
        delivered_mu=0,
        reservoir_mu=0,
        aux=0,
    ):
        """Log one record and make it durable; its seq.

        Raises ValueError (naming the field) for a value that does not fit, changing nothing;
        HistoryError when the record is queued in RAM because the flash failed (it is
        retried on the next append or flush()) or lost because the queue was full.
        """
        rec = Record(
            rtype, t_s, source, mode, code, programmed_mu, delivered_mu, reservoir_mu, aux, self.next_seq
        )
        encode(rec, self._buf)
        if self.queued == len(self._qop):
            self._drain()
        if self.queued == len(self._qop):
            self.lost += 1
            self._unlogged_lost += 1
            raise HistoryError("record lost", self._last_errno, self.queued, self.lost)
        self._enqueue(rtype == OPERATIONAL, t_s)
        err = self._drain()
        if err:
            raise self._error(err, rec.seq)
        return rec.seq

    def flush(self):
        """Retry the queued records; HistoryError if some still cannot be written."""
        err = self._drain()
        if err:
            raise self._error(err, 0)

    def _error(self, errno, seq):
        reason = "flash full" if errno == _ENOSPC else "flash error"
        return HistoryError(reason, errno, self.queued, self.lost, seq)

    def _enqueue(self, to_op, t_s):
        cap = len(self._qop)
        slot = (self._qhead + self.queued) % cap
        self._queue[slot * RECORD_BYTES : (slot + 1) * RECORD_BYTES] = self._buf
        self._qop[slot] = 1 if to_op else 0
        self.queued += 1
        self.next_seq += 1
        self.last_t_s = t_s

    def _drain(self):
        """Write queued records oldest first; 0, or the errno that stopped it."""
        while self.queued:
            slot = self._qhead
            err = self._write(self._op if self._qop[slot] else self._ev, slot * RECORD_BYTES)
            if err:
                self._last_errno = err
                return err
            self._qhead = (slot + 1) % len(self._qop)
            self.queued -= 1
            if not self.queued and self._unlogged_lost:
                # leave evidence in the history itself of what could not be kept
                rec = Record(LOST, self.last_t_s, code=self._last_errno & 0xFF, seq=self.next_seq)
                rec.aux = self._unlogged_lost
                self._unlogged_lost = 0
                encode(rec, self._buf)
                self._enqueue(False, self.last_t_s)
        return 0

    def _write(self, ring, offset):
        """Append the queued record at offset to ring; 0 or the errno of the failure."""
        fs = self.fs
        f = None
        try:
            if ring.fresh or ring.cur < 0 or ring.count >= self.segment_records:
                self._start_segment(ring)
            path = ring.name(ring.cur)
            f = fs.open(path, "ab")
            f.write(memoryview(self._queue)[offset : offset + RECORD_BYTES])
            f.flush()
            g = f
            f = None
            g.close()
            ring.count += 1
            return 0
        except OSError as e:
            self.write_errors += 1
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass  # the write already failed; what landed is checked next
            if self._landed(ring, offset):
                ring.count += 1
                return 0
            return e.errno or 5

    def _landed(self, ring, offset):
        """After a failed write: did the record land whole? If something else did, go fresh."""
        fs = self.fs
        if ring.cur < 0:
            return False
        path = ring.name(ring.cur)
        try:
            size = fs.size(path)
            if size == ring.count * RECORD_BYTES:
                return False  # nothing landed: appending here again is safe
            if size == (ring.count + 1) * RECORD_BYTES:
                f = fs.open(path, "rb")
                try:
                    for _ in range(ring.count):
                        f.read(RECORD_BYTES)
                    last = f.read(RECORD_BYTES)
                finally:
                    f.close()
                if last == bytes(memoryview(self._queue)[offset : offset + RECORD_BYTES]):
                    return True
        except OSError as e:
            if e.errno == _ENOENT and ring.count == 0:
                return False  # the segment was never created
        ring.fresh = True
        return False

    def _start_segment(self, ring):
        fs = self.fs
        if ring.cur >= 0 and ring.count == 0:
            # it holds no whole record, at most a torn fragment: start it again
            try:
                fs.remove(ring.name(ring.cur))
            except OSError as e:
                if e.errno != _ENOENT:
                    raise
            ring.fresh = False
            return
        nums = self._numbers(ring)
        while len(nums) >= ring.segments:
            fs.remove(ring.name(nums.pop(0)))
        top = nums[-1] if nums else -1
        ring.cur = (top if top > ring.cur else ring.cur) + 1
        ring.count = 0
        ring.fresh = False

    # ---------------------------------------------------------------- reading

    def _numbers(self, ring):
        nums = []
        for name in self.fs.listdir():
            n = ring.number(name)
            if n >= 0:
                nums.append(n)
        nums.sort()
        return nums

    def _open_segment(self, ring, n):
        """Segment n open for reading, or None when it is gone."""
        try:
            return self.fs.open(ring.name(n), "rb")
        except OSError as e:
            if e.errno == _ENOENT:
                return None
            raise HistoryError("read failed", e.errno, self.queued, self.lost)

    def _segment(self, ring, n, t_from, t_to, types):
        """The good records of segment n that match, in order (a torn tail is left unread).

        Type and time are looked at before the CRC, which is the costly part: a record that
        does not match is passed over whether it is intact or not.
        """
        f = self._open_segment(ring, n)
        if f is None:
            return
        try:
            while True:
                chunk = f.read(RECORD_BYTES)
                if len(chunk) < RECORD_BYTES:
                    return
                if types is not None and chunk[8] not in types:
                    continue
                if t_from is not None or t_to is not None:
                    t_s = chunk[4] | chunk[5] << 8 | chunk[6] << 16 | chunk[7] << 24
                    if (t_from is not None and t_s < t_from) or (t_to is not None and t_s >= t_to):
                        continue
                rec = decode(chunk)
                if rec is not None:
                    yield rec
        except OSError as e:
            raise HistoryError("read failed", e.errno, self.queued, self.lost)
        finally:
            f.close()

    def _ring(self, ring, t_from, t_to, types):
        for n in self._numbers(ring):
            yield from self._segment(ring, n, t_from, t_to, types)

    def records(self, t_from=None, t_to=None, types=None):
        """Records with t_from <= t_s < t_to and type in types (None: any), oldest first.

        Streams both rings merged by seq, then the records still queued in RAM; a record
        whose seq does not follow the one before (a duplicate left by a failed write) is
        skipped. Finish the iteration (or close() it) before appending.
        """
        ev = op = None
        if types is None or [t for t in types if t != OPERATIONAL]:
            ev = self._ring(self._ev, t_from, t_to, types)
        if types is None or OPERATIONAL in types:
            op = self._ring(self._op, t_from, t_to, types)
        a = next(ev, None) if ev else None
        b = next(op, None) if op else None
        last = 0
        while a is not None or b is not None:
            if b is None or (a is not None and a.seq < b.seq):
                rec = a
                a = next(ev, None)
            else:
                rec = b
                b = next(op, None)
            if rec.seq > last:
                last = rec.seq
                yield rec
        view = memoryview(self._queue)
        cap = len(self._qop)
        for i in range(self.queued):
            slot = (self._qhead + i) % cap
            rec = decode(view[slot * RECORD_BYTES : (slot + 1) * RECORD_BYTES])
            if rec is not None and rec.seq > last and _wanted(rec, t_from, t_to, types):
                yield rec

    def last(self, rtype):
        """The newest record of a type, or None."""
        found = None
        for rec in self.records(types=(rtype,)):
            found = rec
        return found

    def unfinished_dose(self):
        """(BOLUS_START record, delivered_mu so far) of a bolus or prime that has neither a
        DOSE nor an INTERRUPTED record, or None: what a reset must report."""
        start = None
        delivered = 0
        for rec in self.records(types=(BOLUS_START, BOLUS_PROGRESS, DOSE, INTERRUPTED)):
            if rec.type == BOLUS_START:
                start = rec
                delivered = 0
            elif rec.type == BOLUS_PROGRESS:
                if start is not None and rec.delivered_mu > delivered:
                    delivered = rec.delivered_mu
            elif rec.code != KIND_TEMP_BASAL:
                start = None
        return None if start is None else (start, delivered)

    def _deliveries(self):
        """(t_s, is_basal, lower_mu, upper_mu) for each piece of therapy insulin moved.

        Basal: each OPERATIONAL record's delivered basal. Bolus (normal, extended, dual;
        never prime): the increments of BOLUS_PROGRESS and the final DOSE over what was
        already booked for that bolus. A bolus cut short by a reset books, at its
        INTERRUPTED record (or at the newest time seen when there is none yet), the known
        delivered amount as its lower bound and everything programmed as its upper bound.
        """
        prog = -1  # programmed mU of the bolus in flight; -1 when none
        booked = 0  # delivered mU of it already yielded
        newest_t = 0
        for rec in self.records(types=(OPERATIONAL, BOLUS_START, BOLUS_PROGRESS, DOSE, INTERRUPTED)):
            if rec.t_s > newest_t:
                newest_t = rec.t_s
            rt = rec.type
            if rt == OPERATIONAL:
                yield rec.t_s, True, rec.delivered_mu, rec.delivered_mu
                continue
            if rec.code > KIND_DUAL:
                continue
            if rt == BOLUS_START:
                if prog >= 0:
                    yield newest_t, False, 0, _pos(prog - booked)
                prog = rec.programmed_mu
                booked = 0
            elif rt == BOLUS_PROGRESS:
                if prog < 0:
                    prog = rec.programmed_mu
                    booked = 0
                n = _pos(rec.delivered_mu - booked)
                booked += n
                yield rec.t_s, False, n, n
            else:
                n = _pos(rec.delivered_mu - booked) if prog >= 0 else rec.delivered_mu
                upper = n
                if rt == INTERRUPTED:
                    upper = _pos(rec.programmed_mu - booked) if prog >= 0 else rec.programmed_mu
                    if upper < n:
                        upper = n
                prog = -1
                booked = 0
                yield rec.t_s, False, n, upper
        if prog >= 0:
            yield newest_t, False, 0, _pos(prog - booked)

    def daily_totals(self, day):
        """(total, basal, bolus) mU delivered on a local day (days since 2000-01-01).

        Basal is the sum of the OPERATIONAL records whose interval ends in the day (the one
        stamped 00:00 belongs to the day before); bolus is the delivered increments stamped
        in the day, an interrupted bolus at what is known to have moved. Prime is not therapy.
        """
        basal = bolus = 0
        for t_s, is_basal, lower, _ in self._deliveries():
            if is_basal:
                if (t_s - 1) // _DAY_S == day:
                    basal += lower
            elif t_s // _DAY_S == day:
                bolus += lower
        return basal + bolus, basal, bolus

    def therapy_since(self, t_s):
        """(t_s, mU) for therapy insulin moved at or after t_s, oldest first: what a reset
        needs to rebuild the rolling limit windows. Conservative: a bolus cut short by a
        reset counts everything it had programmed."""
        for t, _, _, upper in self._deliveries():
            if t >= t_s and upper:
                yield t, upper

    def counts(self):
        """(good, bad) records in the whole history, by reading it all: for diagnostics."""
        good = bad = 0
        for ring in (self._ev, self._op):
            for n in self._numbers(ring):
                g, b = self._scan(ring, n)[3:]
                good += g
                bad += b
        return good, bad


def _pos(n):
    return n if n > 0 else 0


def _wanted(rec, t_from, t_to, types):
    if t_from is not None and rec.t_s < t_from:
        return False
    if t_to is not None and rec.t_s >= t_to:
        return False
    return types is None or rec.type in types
