"""The pump's history: append-only, CRC-checked 32-byte records in two rings of files.

A record is written once and never changed. Therapy events and alarms go to the "ev" ring,
the five-minute operational records to the "op" ring, so the frequent ones can never push a
therapy event out. Each ring is a run of numbered segment files ("h_ev_000123.bin") of
_SEGMENT_RECORDS records; the oldest segment is removed when a ring would pass its count.
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

_RECORD_BYTES = const(32)
_SEGMENT_RECORDS = const(128)  # one 4 KB LittleFS block per segment
_EV_SEGMENTS = const(58)  # >= 57 * 128 = 7296 events: 91 days at 80 a day
_OP_SEGMENTS = const(35)  # >= 34 * 128 = 4352 operational records: 15.1 days at 288 a day
_QUEUE_RECORDS = const(16)

_FMT = "<IIBBBBIIIII"
_BODY = const(28)
_U32 = const(0xFFFFFFFF)
# Sequence numbers stay below 2**30 (a small int on every MicroPython port; 9 million years of
# records): a record claiming more was not written by this format, and is damage.
_MAX_SEQ = const(0x3FFFFFFF)
_ENOENT = const(2)
_ENOSPC = const(28)

# The two record types the history itself needs to know (the full table, and what each field
# holds per type: pump/history_query.py and docs/history.md).
_OPERATIONAL = const(15)  # written to the op ring
_LOST = const(16)  # written by the history itself: records it had to drop


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
        return (
            "Record(seq=%d t_s=%d type=%d src=%d mode=%d code=%d prog=%d deliv=%d res=%d aux=%d)"
            % self.fields()
        )


def encode(rec, buf=None, offset=0):
    """rec packed into buf[offset:offset + 32] (a new bytearray when buf is None), with CRC.

    Every field is range-checked first (ValueError naming it): struct on MicroPython would
    silently truncate a value that does not fit.
    """
    check_int(rec.seq, "seq", 0, _MAX_SEQ)
    for name in ("t_s", "programmed_mu", "delivered_mu", "reservoir_mu", "aux"):
        check_int(getattr(rec, name), name, 0, _U32)
    for name in ("type", "source", "mode", "code"):
        check_int(getattr(rec, name), name, 0, 255)
    if buf is None:
        buf = bytearray(_RECORD_BYTES)
    struct.pack_into(_FMT, buf, offset, *(rec.fields() + (0,)))
    view = memoryview(buf)[offset : offset + _RECORD_BYTES]
    struct.pack_into("<I", buf, offset + _BODY, crc32(view, 0, _BODY))
    return buf


def decode(buf):
    """The Record in a 32-byte buffer, or None when its CRC fails or its sequence number is
    one this format never writes (2**30 and above)."""
    if len(buf) != _RECORD_BYTES:
        return None
    f = struct.unpack(_FMT, buf)
    if crc32(buf, 0, _BODY) != f[10] or f[0] > _MAX_SEQ:
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
        ev_segments=_EV_SEGMENTS,
        op_segments=_OP_SEGMENTS,
        segment_records=_SEGMENT_RECORDS,
        queue_records=_QUEUE_RECORDS,
    ):
        self.fs = fs
        self.segment_records = segment_records
        self._ev = _Ring("ev", ev_segments)
        self._op = _Ring("op", op_segments)
        self._buf = bytearray(_RECORD_BYTES)
        self._queue = bytearray(queue_records * _RECORD_BYTES)
        self._qop = bytearray(queue_records)  # 1 when the queued record goes to the op ring
        self._qhead = 0
        self.queued = 0
        self.next_seq = 1
        self.last_t_s = 0  # time of the newest record
        self.last_reservoir_mu = 0  # the reservoir it recorded, as open() found it
        self.lost = 0  # dropped since open() because the queue was full
        self._unlogged_lost = 0  # of those, not yet told by a LOST record
        self._last_errno = 0
        self.damaged = 0  # damaged places open() found in the newest segments
        # whole slots past the newest good record of each ring (ev, op) that do not check out:
        # records lost where no later record's number can show the loss
        self.lost_tail = [0, 0]
        self.unreadable = 0  # segments a read failed in (open() and every read since)
        self.files = 0  # segment files open() found, readable or not
        self.write_errors = 0  # failed writes, including those that turned out to land

    # ---------------------------------------------------------------- start-up

    def open(self):
        """Scan the rings: continue the sequence after the newest good record. Returns damaged.

        A segment that cannot be read (a bad block) never stops the pump starting: it counts
        as damaged and unreadable, appending goes on in a fresh segment, and the sequence
        continues past every number it could hold (at most a segment's records more than
        the newest record read), so no number is ever given twice."""
        top = 0
        self.damaged = 0
        self.unreadable = 0
        self.lost_tail = [0, 0]
        self.files = 0
        for r, ring in enumerate((self._ev, self._op)):
            count, lo, hi = self._span(ring)
            self.files += count
            ring.cur = hi
            ring.count = 0
            ring.fresh = not count
            i = hi
            while count and i >= lo:
                if count < hi - lo + 1 and i < hi:
                    i = self._nearest(ring, i, -1)  # numbers missing between: skip them
                    if i < 0:
                        break
                seq, t_s, slots, _, bad, res, after = self._scan(ring, i)  # a number missing: zeros
                self.lost_tail[r] += after
                if bad < 0:  # unreadable: never appended to again, nor removed
                    self.damaged += 1
                    self.unreadable += 1
                    if i == hi:
                        ring.count = self.segment_records
                        ring.fresh = True
                elif i == hi:
                    ring.count = slots
                    ring.fresh = bad > 0
                    self.damaged += bad
                if seq:
                    if seq > top:
                        top = seq
                        self.last_t_s = t_s
                        self.last_reservoir_mu = res
                    break
                i -= 1
        self.next_seq = top + 1 + self.unreadable * self.segment_records
        return self.damaged

    def _scan(self, ring, n):
        """(last good seq, its t_s, whole 32-byte slots, good, damaged, its reservoir_mu,
        damaged whole slots after the last good one) of segment n.

        Damaged: a slot whose CRC fails or whose seq does not follow, and a torn tail; -1
        when the segment cannot be read at all.
        """
        seq = t_s = slots = good = bad = res = after = 0
        try:
            f = self._open_segment(ring, n)
        except HistoryError:
            return 0, 0, 0, 0, -1, 0, 0
        if f is None:
            return 0, 0, 0, 0, 0, 0, 0
        try:
            while True:
                chunk = f.read(_RECORD_BYTES)
                if len(chunk) < _RECORD_BYTES:
                    if chunk:
                        bad += 1
                    break
                slots += 1
                rec = decode(chunk)
                if rec is None or rec.seq <= seq:
                    bad += 1
                    if rec is None:  # a record out of its order is there, only misplaced
                        after += 1
                else:
                    good += 1
                    after = 0
                    seq = rec.seq
                    t_s = rec.t_s
                    res = rec.reservoir_mu
        except OSError:
            return 0, 0, 0, 0, -1, 0, 0
        finally:
            _close(f)
        return seq, t_s, slots, good, bad, res, after

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
        encode(rec, self._buf)  # every field checked before anything happens
        if self.queued == len(self._qop):
            self._drain()
            if self.next_seq != rec.seq:  # the drain logged a LOST record, numbered first
                rec.seq = self.next_seq
                encode(rec, self._buf)
        if self.queued == len(self._qop):
            self.lost += 1
            self._unlogged_lost += 1
            raise HistoryError("record lost", self._last_errno, self.queued, self.lost)
        self._enqueue(rtype == _OPERATIONAL, t_s)
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

    def _enqueue(self, to_op, t_s, buf=None):
        cap = len(self._qop)
        slot = (self._qhead + self.queued) % cap
        self._queue[slot * _RECORD_BYTES : (slot + 1) * _RECORD_BYTES] = buf or self._buf
        self._qop[slot] = 1 if to_op else 0
        self.queued += 1
        self.next_seq += 1
        self.last_t_s = t_s

    def _drain(self):
        """Write queued records oldest first; 0, or the errno that stopped it."""
        while self.queued:
            slot = self._qhead
            err = self._write(self._op if self._qop[slot] else self._ev, slot * _RECORD_BYTES)
            if err:
                self._last_errno = err
                return err
            self._qhead = (slot + 1) % len(self._qop)
            self.queued -= 1
            if not self.queued and self._unlogged_lost:
                # leave evidence in the history itself of what could not be kept
                rec = Record(_LOST, self.last_t_s, code=self._last_errno & 0xFF, seq=self.next_seq)
                rec.aux = self._unlogged_lost
                self._unlogged_lost = 0
                # its own buffer: _buf may hold the record an append is about to queue
                lost = bytearray(_RECORD_BYTES)
                encode(rec, lost)
                self._enqueue(False, self.last_t_s, lost)
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
            f.write(memoryview(self._queue)[offset : offset + _RECORD_BYTES])
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
            if size == ring.count * _RECORD_BYTES:
                return False  # nothing landed: appending here again is safe
            if size == (ring.count + 1) * _RECORD_BYTES:
                f = fs.open(path, "rb")
                try:
                    for _ in range(ring.count):
                        f.read(_RECORD_BYTES)
                    last = f.read(_RECORD_BYTES)
                finally:
                    f.close()
                if last == bytes(memoryview(self._queue)[offset : offset + _RECORD_BYTES]):
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
        count, lo, top = self._span(ring)
        while count >= ring.segments:
            fs.remove(ring.name(lo))
            count, lo, top = self._span(ring)
        ring.cur = (top if top > ring.cur else ring.cur) + 1
        ring.count = 0
        ring.fresh = False

    # ---------------------------------------------------------------- reading

    def _span(self, ring):
        """(segments, lowest number, highest number) of a ring; -1s when it has none. Counted
        from the directory listing without keeping it: a list of 93 names would be 3 KB of
        heap on a board. Numbers between the lowest and highest that are missing (only a
        hand on the flash can make such a gap) are skipped by the readers (_nearest)."""
        count = 0
        lo = hi = -1
        for name in self.fs.listdir():
            n = ring.number(name)
            if n >= 0:
                count += 1
                if lo < 0 or n < lo:
                    lo = n
                if n > hi:
                    hi = n
        return count, lo, hi

    def _open_segment(self, ring, n):
        """Segment n open for reading, or None when it is gone."""
        try:
            return self.fs.open(ring.name(n), "rb")
        except OSError as e:
            if e.errno == _ENOENT:
                return None
            raise HistoryError("read failed", e.errno or 0, self.queued, self.lost)

    def _segment(self, ring, n, t_from, t_to, types, always=()):
        """The good records of segment n that match, in order (a torn tail is left unread).

        Type and time are looked at before the CRC, which is the costly part: a record that
        does not match is passed over whether it is intact or not. A segment that cannot be
        read, or stops being readable part-way, yields what it gave and counts in
        `unreadable`: one bad block never hides the rest of the history.
        """
        try:
            f = self._open_segment(ring, n)
        except HistoryError:
            self.unreadable += 1
            return
        if f is None:
            return
        try:
            while True:
                chunk = f.read(_RECORD_BYTES)
                if len(chunk) < _RECORD_BYTES:
                    return
                if types is not None and chunk[8] not in types:
                    continue
                if (t_from is not None or t_to is not None) and chunk[8] not in always:
                    t_s = chunk[4] | chunk[5] << 8 | chunk[6] << 16 | chunk[7] << 24
                    if (t_from is not None and t_s < t_from) or (t_to is not None and t_s >= t_to):
                        continue
                rec = decode(chunk)
                if rec is not None:
                    yield rec
        except OSError:
            self.unreadable += 1
        finally:
            _close(f)

    def _ring(self, ring, t_from, t_to, types, always=()):
        count, lo, hi = self._span(ring)
        n = lo if count else hi + 1
        while n <= hi:
            yield from self._segment(ring, n, t_from, t_to, types, always)
            n += 1
            if count < hi - lo + 1 and n <= hi:
                n = self._nearest(ring, n, 1)

    def _nearest(self, ring, n, direction):
        """The existing segment number nearest n in a direction (1 up, -1 down), n itself if
        it exists; -1 (down) or a number past every segment (up) when there is none. For a
        ring whose numbers have holes, which only a hand on the flash makes: one stray file
        numbered 999999 must not mean a million opens."""
        best = -1 if direction < 0 else 0x7FFFFFFF
        for name in self.fs.listdir():
            m = ring.number(name)
            if m >= 0 and (m - n) * direction >= 0 and (m - best) * direction < 0:
                best = m
        return best

    def records(self, t_from=None, t_to=None, types=None, always=()):
        """Records with t_from <= t_s < t_to and type in types (None: any), oldest first;
        those of a type in `always` whatever their time.

        Streams both rings merged by seq, then the records still queued in RAM. A record
        with the seq of the one before (the copy a failed write can leave) is skipped; any
        other comes out, even one out of its place (a record moved by damage is never a
        reason to hide the others), so a reader that needs the order checks it. Finish the
        iteration (or close() it) before appending.
        """
        ev = op = iter(())  # a ring the query does not need yields nothing
        if types is None or [t for t in types if t != _OPERATIONAL]:
            ev = self._ring(self._ev, t_from, t_to, types, always)
        if types is None or _OPERATIONAL in types:
            op = self._ring(self._op, t_from, t_to, types, always)
        a = next(ev, None)
        b = next(op, None)
        last = top = 0
        while True:
            if a is not None and (b is None or a.seq < b.seq):
                rec = a
                a = next(ev, None)
            elif b is not None:
                rec = b
                b = next(op, None)
            else:
                break
            if rec.seq != last:
                last = rec.seq
                top = rec.seq if rec.seq > top else top
                yield rec
        view = memoryview(self._queue)
        cap = len(self._qop)
        for i in range(self.queued):
            slot = (self._qhead + i) % cap
            rec = decode(view[slot * _RECORD_BYTES : (slot + 1) * _RECORD_BYTES])
            if (
                rec is not None
                and rec.seq > top
                and (rec.type in always or _wanted(rec, t_from, t_to, types))
            ):
                yield rec


def _close(f):
    try:
        f.close()
    except OSError:
        pass  # a file only read from: nothing of it is lost


def _wanted(rec, t_from, t_to, types):
    if t_from is not None and rec.t_s < t_from:
        return False
    if t_to is not None and rec.t_s >= t_to:
        return False
    return types is None or rec.type in types
