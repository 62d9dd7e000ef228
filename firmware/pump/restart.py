"""What the pump reads back from its history after a restart (core.Pump.restore).

The bolus or prime a reset cut short, and the therapy insulin moved in the last day, to
rebuild the rolling limit windows. Loaded only when the pump starts after an unexpected
reset; pump/history_query.py builds the daily totals on deliveries() too. The record numbers
are the format's (pump/history_query.py names them; a test checks they agree), private here
so that loading this module interns no names for them.
"""

from pump.compat import const
from pump.settings import (
    MAX_BASAL_CEILING_MU_H,
    MAX_BOLUS_CEILING_MU,
    MAX_DAILY_CEILING_MU,
    MAX_HOURLY_CEILING_MU,
)

_POWER_ON = const(1)
_BOLUS_START = const(9)
_BOLUS_PROGRESS = const(10)
_DOSE = const(11)
_INTERRUPTED = const(12)
_OPERATIONAL = const(15)
_TIME_SET = const(2)
_LOST = const(16)
_KIND_DUAL = const(2)
_KIND_TEMP_BASAL = const(4)
_DELIVERY_TYPES = (_OPERATIONAL, _POWER_ON, _BOLUS_START, _BOLUS_PROGRESS, _DOSE, _INTERRUPTED)
_CLOCK_TYPES = (_TIME_SET, _POWER_ON)
_WINDOW_S = const(86700)  # the day window's reach: 289 five-minute buckets
_MARGIN_S = const(1800)  # read this much further back, for a record before the window
_UNKNOWN_HOURS = const(25)  # the day window's hours, for what lost records may have held


def unfinished_dose(h):
    """(_BOLUS_START record, delivered_mu so far) of a bolus or prime that has neither a
    _DOSE nor an _INTERRUPTED record, or None: what a reset must report."""
    start = None
    delivered = 0
    for rec in h.records(types=(_BOLUS_START, _BOLUS_PROGRESS, _DOSE, _INTERRUPTED)):
        if rec.type == _BOLUS_START:
            start = rec
            delivered = 0
        elif rec.type == _BOLUS_PROGRESS:
            if start is not None and rec.delivered_mu > delivered:
                delivered = rec.delivered_mu
        elif rec.code != _KIND_TEMP_BASAL:
            start = None
    return None if start is None else (start, delivered)


def deliveries(h, t_from=None):
    """(t_s, is_basal, lower_mu, upper_mu) for each piece of therapy insulin moved.

    Basal: each _OPERATIONAL record's delivered basal. Bolus (normal, extended, dual;
    never prime): the increments of _BOLUS_PROGRESS and the final _DOSE over what was
    already booked for that bolus. A bolus cut short by a reset books, at its
    _INTERRUPTED record (or at the newest time seen when there is none yet), the known
    delivered amount as its lower bound and everything programmed as its upper bound.
    """
    newest_t = 0
    for rec, is_basal, lower, upper in _pieces(h.records(t_from, types=_DELIVERY_TYPES)):
        if rec is not None and rec.t_s > newest_t:
            newest_t = rec.t_s
        if is_basal is not None:
            yield (newest_t if rec is None else rec.t_s), is_basal, lower, upper


def _pieces(records):
    """(rec, is_basal, lower_mu, upper_mu) for each record, in the order given: is_basal None
    for a record that moved no therapy insulin; rec None, at the end, for a bolus still open
    (it may have moved everything it programmed)."""
    prog = -1  # programmed mU of the bolus in flight; -1 when none
    booked = 0  # delivered mU of it already yielded
    for rec in records:
        rt = rec.type
        if rt == _OPERATIONAL:
            yield rec, True, rec.delivered_mu, rec.delivered_mu
            continue
        if rt == _POWER_ON:  # a restart: basal that went unrecorded before it, at most
            yield rec, True, 0, rec.programmed_mu
            continue
        if rt < _BOLUS_START or rt > _INTERRUPTED or rec.code > _KIND_DUAL:
            yield rec, None, 0, 0
            continue
        if rt == _BOLUS_START:
            if prog >= 0:
                yield rec, False, 0, _pos(prog - booked)
            else:
                yield rec, None, 0, 0
            prog = rec.programmed_mu
            booked = 0
        elif rt == _BOLUS_PROGRESS:
            if prog < 0:
                prog = rec.programmed_mu
                booked = 0
            n = _pos(rec.delivered_mu - booked)
            booked += n
            yield rec, False, n, n
        else:
            n = _pos(rec.delivered_mu - booked) if prog >= 0 else rec.delivered_mu
            upper = n
            if rt == _INTERRUPTED:
                upper = _pos(rec.programmed_mu - booked) if prog >= 0 else rec.programmed_mu
                if upper < n:
                    upper = n
            prog = -1
            booked = 0
            yield rec, False, n, upper
    if prog >= 0:
        yield None, False, 0, _pos(prog - booked)


def therapy_since(h, t_s):
    """(t_s, mU) for therapy insulin moved at or after t_s, oldest first: what a reset
    needs to rebuild the rolling limit windows. Conservative: a bolus cut short by a
    reset counts everything it had programmed, and a bolus that began before t_s counts,
    at its first record from t_s on, everything it had delivered by then. Reads only the
    records from t_s on."""
    for t, _, _, upper in deliveries(h, t_s):
        if t >= t_s and upper:
            yield t, upper


def _pos(n):
    return n if n > 0 else 0


def _jump(rec):
    """How far the clock moved at a _TIME_SET or _POWER_ON record, in s (aux: the time before)."""
    return rec.t_s - rec.aux if rec.aux else 0


class _Limits:
    """The limits a rebuild bounds the unknown with: the settings', or, when the pump runs on
    defaults because its settings could not be read, the firmware's ceilings."""

    def __init__(self, s, known):
        self.max_bolus_mu = s.max_bolus_mu if known else MAX_BOLUS_CEILING_MU
        self.max_basal_mu_h = s.max_basal_mu_h if known else MAX_BASAL_CEILING_MU_H
        self.max_hourly_mu = s.max_hourly_mu if known else MAX_HOURLY_CEILING_MU
        self.max_daily_mu = s.max_daily_mu if known else MAX_DAILY_CEILING_MU


def restore(pump, history, now_s, progress_mu, settings_known=True):
    """Log the power-on and a dose the reset cut short, and book the last day's therapy
    into both rolling-limit windows (the therapy's and the supervisor's) and insulin on
    board. Returns the number of records the rebuild found missing, out of place or not
    believable (0: the history proved what it needed to)."""
    from pump.recorder import KINDS, SOURCES

    rec = pump._recorder
    limits = _Limits(pump.settings, settings_known)
    first_new = history.next_seq  # this start's own records are numbered from here
    # basal after the last operational record went unrecorded, and the record in flight at
    # the cut (an operational one, perhaps) was lost: at most 10 minutes of basal at the
    # most the settings allow. The POWER_ON record keeps that bound for every later rebuild,
    # and the time of the newest record before it, which puts the restart on pump time.
    rec.power_on(limits.max_basal_mu_h // 6, True, history.last_t_s)
    unfinished = unfinished_dose(history)
    if unfinished:
        rec.interrupted(unfinished[0], unfinished[1])
    books = rebuild(pump, history, now_s, first_new, unfinished[0].seq if unfinished else 0, limits)
    if unfinished:
        start, delivered = unfinished
        pump._outer_emit(
            "dose",
            {
                # a start record of codes this firmware never writes is reported, not trusted
                "kind": KINDS[start.code] if start.code < len(KINDS) else "normal",
                "source": SOURCES[start.source] if start.source < len(SOURCES) else "auto",
                "status": "interrupted",
                "programmed_mu": start.programmed_mu,
                "delivered_mu": delivered,
                # progress is logged every 0.5 U: what moved after the last record is unknown
                "delivered_max_mu": min(start.programmed_mu, delivered + progress_mu),
                "duration_ms": books.watched_age_s * 1000,
            },
        )
    return books.damage


def rebuild(pump, h, now_s, first_new, watch_seq=0, limits=None):
    """Book the therapy insulin of the last 24 hours of pump time into the windows and
    insulin on board (first_new: the number of this start's first record). Returns its
    books: `damage`, the number of records found missing, out of place or not believable,
    and `watched_age_s`, how long ago the record numbered watch_seq was written: on the
    clock, less the times it was set since (the power's time off counts here, by the RTC's
    word, as this is a report and not a limit).

    Pump time is the time the pump has run. Records carry the wall clock, which a person, a
    paired host or a power cut can move; the _TIME_SET and _POWER_ON records say by how much
    (their aux: the clock before), so a record's age in pump time is its age on the clock
    less every move after it. Time with the power off counts as none (nothing the pump
    trusts measured it): the windows and insulin on board after a restart are never
    emptier than the truth. Sequence numbers are consecutive, so a number missing is a
    record lost, and the rebuild books for it the most that is consistent with the limits.
    """
    s = limits or _Limits(pump.settings, True)
    # How far back to read: a record in the window carries a stamp no earlier than the window's
    # start less the moves of the clock after it, either way (a forward move makes a record
    # look older; a backward one stamps later records below earlier ones). Those moves are
    # themselves in the window, so only they count: the moves of the clock records alone (few,
    # and read without the others) put each on pump time. Counting every move of the history
    # instead would, on a pump switched off every night, read all of it at every start.
    total_s = 0
    for r in h.records(types=_CLOCK_TYPES):
        total_s += _jump(r)
    reach_s = upto_s = 0
    for r in h.records(types=_CLOCK_TYPES):
        j = _jump(r)
        upto_s += j
        # its pump time, r.t_s - upto_s, against the window's start, now_s - total_s - window
        if r.t_s - upto_s >= now_s - total_s - _WINDOW_S - _MARGIN_S:
            reach_s += j if j > 0 else -j
    t_from = now_s - _WINDOW_S - _MARGIN_S - reach_s
    t_from = t_from if t_from > 0 else None
    p_now = now_s - total_s  # now, in pump time
    per_record_mu = s.max_bolus_mu + s.max_basal_mu_h // 6
    damage = 0
    moved_s = set_s = 0
    watch_t = watch_set = -1
    top = 0  # the highest sequence number read
    before = 0  # records read from before this start
    head_p = -1  # the pump time of the newest record read
    # the latest pump time up to which the history proves nothing: a record lost there may
    # have been a move of the clock, which would put every record before it in the wrong
    # place (-1: none)
    unproved_p = -1
    books = _Books(pump, p_now, s)
    # the clock records are read whatever their stamp, so that each record's pump time counts
    # every move of the clock before it; one older than the window is no gap's later side
    for rec, is_basal, _, upper in _pieces(h.records(t_from, always=_CLOCK_TYPES)):
        if rec is None:  # a bolus still open at the end: it may have moved the rest just now
            books.book(p_now, False, upper)
            break
        seq = rec.seq
        if seq == top:
            continue
        if seq < first_new:
            before += 1
        if seq < top:  # out of place: booked as recent as the newest record read
            p = head_p
            clock = rec.type == _TIME_SET or rec.type == _POWER_ON
            if clock:
                moved_s += _jump(rec)  # the records after it are placed right again
            if p_now - head_p <= _WINDOW_S:  # where it belongs is no later than that
                damage += 1
                if clock and head_p > unproved_p:
                    unproved_p = head_p  # those read between cannot be placed
        else:
            if rec.type == _TIME_SET or rec.type == _POWER_ON:
                moved_s += _jump(rec)
                if rec.type == _TIME_SET:
                    set_s += _jump(rec)
            p = rec.t_s - moved_s
            if p < head_p:
                p = head_p
            missing = seq - top - 1 if top else 0
            if not top and seq > 1 and p_now - p <= _WINDOW_S:
                missing = -1  # the first record read is in the window: what came before is unproved
            if missing and p_now - p > _WINDOW_S:
                # a gap wholly before the window: what it hid, and every record before it,
                # is older still (only records after it could have moved the clock back)
                missing = 0
            if missing:
                damage += missing if missing > 0 else 1
                if p > unproved_p:
                    unproved_p = p
            top = seq
            head_p = p
        if seq == watch_seq:
            watch_t = rec.t_s
            watch_set = set_s
        if rec.type == _LOST and seq < first_new and p_now - p <= _WINDOW_S:
            damage += rec.aux  # the history dropped `aux` records in RAM before this one
            if p > unproved_p:
                unproved_p = p
        if is_basal is None:
            if _BOLUS_START <= rec.type <= _INTERRUPTED and rec.code > _KIND_TEMP_BASAL and seq < first_new:
                damage += 1  # a dose of a kind no pump writes: it may have held a bolus
                books.book(p, False, per_record_mu)
            continue
        # the most one record can hold, whatever the settings (the firmware's ceilings): a
        # bolus, or ten minutes of basal; a record claiming more was not written by this pump
        cap = MAX_BASAL_CEILING_MU_H // 6 + 1 if is_basal else MAX_BOLUS_CEILING_MU
        if upper > cap:  # a record no pump of this firmware writes
            damage += 1
            upper = per_record_mu
        books.book(p, is_basal, upper)
    if unproved_p >= 0:  # a day of what the limits allow, up to there
        books.worst(unproved_p, -1, _WINDOW_S, per_record_mu)
    if not before:  # a history whose records are all gone: nothing is proved
        damage += 1
        books.worst(p_now, -1, _WINDOW_S, per_record_mu)
    ev_lost, op_lost = h.lost_tail
    if ev_lost:  # events lost after the newest one read, at any time since
        damage += ev_lost
        books.worst(p_now, ev_lost, _WINDOW_S, per_record_mu)
    if op_lost:  # operational records come every 5 minutes: that many, that long
        damage += op_lost
        books.worst(p_now, op_lost, op_lost * 300 + 300, s.max_basal_mu_h // 6)
    books.settle()
    if damage:
        pump.alarms.raise_("history_damaged")
    if watch_t >= 0:
        age_s = now_s - watch_t - (set_s - watch_set)
        books.watched_age_s = age_s if age_s > 0 else 0
    books.damage = damage
    return books


class _Books:
    """Bookings of past deliveries into the pump's windows and insulin on board, by pump time.

    What lost records may have held is gathered first, by the hour it is counted in
    (`unknown`), and booked by settle() once every known delivery is: all the limits allow
    and no more (each hour at most the hourly limit, the day at most the daily limit less
    what is known in it), the newest hours first, since those stay in the windows longest
    and leave the most insulin on board."""

    def __init__(self, pump, p_now, limits):
        from pump.compat import zeros_h

        self.pump = pump
        self.p_now = p_now
        self.limits = limits
        self.damage = 0
        self.watched_age_s = 0
        self.unknown = zeros_h(_UNKNOWN_HOURS, "I")  # mU that lost records may hold, by hours ago

    def book(self, p, is_basal, upper_mu):
        """upper_mu of therapy insulin moved at pump time p (basal or bolus)."""
        if upper_mu <= 0:
            return
        pump = self.pump
        age_s = self.p_now - p
        if age_s < 0:
            age_s = 0
        if age_s >= _WINDOW_S:
            return
        minutes_ago = age_s // 60
        steps = pump.rig.steps_for(upper_mu)
        for totals in (pump.totals, pump.supervisor.totals):
            totals.book_past(minutes_ago, steps)
        iob = pump.iob
        if is_basal or minutes_ago > iob.dia_min:
            return
        # boluses within the insulin action time go back on board, at their upper bound (more
        # insulin on board makes the calculator suggest less, never more), at their minute
        from pump.iob import MAX_MINUTE_MU

        iob.add_past(pump.minute - minutes_ago, upper_mu if upper_mu < MAX_MINUTE_MU else MAX_MINUTE_MU)

    def worst(self, p, missing, span_s, per_record_mu):
        """Records lost before pump time p, over span_s before it (missing: how many; -1 not
        known): the most they can have held, an hourly limit's worth in each hour they span
        from p back, and at most `missing` records' worth, gathered for settle()."""
        s = self.limits
        most = s.max_daily_mu
        if missing > 0 and missing * per_record_mu < most:
            most = missing * per_record_mu
        age_s = self.p_now - p
        h = age_s // 3600 if age_s > 0 else 0
        last = h + span_s // 3600
        unknown = self.unknown
        while most > 0 and h <= last and h < _UNKNOWN_HOURS:
            n = most if most < s.max_hourly_mu else s.max_hourly_mu
            unknown[h] += n
            most -= n
            h += 1

    def settle(self):
        """Book what lost records may have held: within the limits, the newest hours first."""
        pump = self.pump
        s = self.limits
        unknown = self.unknown
        room = s.max_daily_mu - pump.rig.mu_for(pump.totals.day_steps)
        for h in range(_UNKNOWN_HOURS):
            n = unknown[h]
            n = n if n < s.max_hourly_mu else s.max_hourly_mu
            n = n if n < room else (room if room > 0 else 0)
            unknown[h] = n
            room -= n
        for h in range(_UNKNOWN_HOURS - 1, -1, -1):
            if unknown[h]:
                self.book(self.p_now - h * 3600, False, unknown[h])
