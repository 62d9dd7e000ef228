"""What the pump reads back from its history after a restart (core.Pump.restore).

The bolus or prime a reset cut short, and the therapy insulin moved in the last day, to
rebuild the rolling limit windows. Loaded only when the pump starts after an unexpected
reset; pump/history_query.py builds the daily totals on deliveries() too. The record numbers
are the format's (pump/history_query.py names them; a test checks they agree), private here
so that loading this module interns no names for them.
"""

from pump.compat import const
from pump.errors import Refused

_POWER_ON = const(1)
_BOLUS_START = const(9)
_BOLUS_PROGRESS = const(10)
_DOSE = const(11)
_INTERRUPTED = const(12)
_OPERATIONAL = const(15)
_KIND_DUAL = const(2)
_KIND_TEMP_BASAL = const(4)


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
    prog = -1  # programmed mU of the bolus in flight; -1 when none
    booked = 0  # delivered mU of it already yielded
    newest_t = 0
    for rec in h.records(
        t_from, types=(_OPERATIONAL, _POWER_ON, _BOLUS_START, _BOLUS_PROGRESS, _DOSE, _INTERRUPTED)
    ):
        if rec.t_s > newest_t:
            newest_t = rec.t_s
        rt = rec.type
        if rt == _OPERATIONAL:
            yield rec.t_s, True, rec.delivered_mu, rec.delivered_mu
            continue
        if rt == _POWER_ON:  # a restart: basal that went unrecorded before it, at most
            yield rec.t_s, True, 0, rec.programmed_mu
            continue
        if rec.code > _KIND_DUAL:
            continue
        if rt == _BOLUS_START:
            if prog >= 0:
                yield newest_t, False, 0, _pos(prog - booked)
            prog = rec.programmed_mu
            booked = 0
        elif rt == _BOLUS_PROGRESS:
            if prog < 0:
                prog = rec.programmed_mu
                booked = 0
            n = _pos(rec.delivered_mu - booked)
            booked += n
            yield rec.t_s, False, n, n
        else:
            n = _pos(rec.delivered_mu - booked) if prog >= 0 else rec.delivered_mu
            upper = n
            if rt == _INTERRUPTED:
                upper = _pos(rec.programmed_mu - booked) if prog >= 0 else rec.programmed_mu
                if upper < n:
                    upper = n
            prog = -1
            booked = 0
            yield rec.t_s, False, n, upper
    if prog >= 0:
        yield newest_t, False, 0, _pos(prog - booked)


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


def restore(pump, history, now_s, progress_mu):
    """Log the power-on and a dose the reset cut short, and book the last day's therapy
    into both rolling-limit windows (the therapy's and the supervisor's)."""
    from pump.iob import MAX_MINUTE_MU  # the pump's own modules, loaded already
    from pump.recorder import KINDS, SOURCES

    rec = pump._recorder
    # basal after the last operational record went unrecorded, and the record in flight at
    # the cut (an operational one, perhaps) was lost: at most 10 minutes of basal at the
    # most the settings allow. The POWER_ON record keeps that bound for every later rebuild.
    rec.power_on(pump.settings.max_basal_mu_h // 6, True)
    unfinished = unfinished_dose(history)
    if unfinished:
        start, delivered = unfinished
        rec.interrupted(start, delivered)
        pump._outer_emit(
            "dose",
            {
                "kind": KINDS[start.code],
                "source": SOURCES[start.source],
                "status": "interrupted",
                "programmed_mu": start.programmed_mu,
                "delivered_mu": delivered,
                # progress is logged every 0.5 U: what moved after the last record is unknown
                "delivered_max_mu": min(start.programmed_mu, delivered + progress_mu),
                "duration_ms": (now_s - start.t_s) * 1000,
            },
        )
    # the day window is 289 five-minute buckets: book everything that could fall in it, at
    # its upper bound; boluses within the insulin action time go back on board too, at their
    # upper bound (more insulin on board makes the calculator suggest less, never more)
    since = now_s - 86400 - 300
    iob = pump.iob
    for t_s, is_basal, _, upper in deliveries(history, since):
        if t_s < since or not upper:
            continue
        minutes_ago = (now_s - t_s) // 60 if t_s < now_s else 0
        steps = pump.rig.steps_for(upper)
        for totals in (pump.totals, pump.supervisor.totals):
            totals.book_past(minutes_ago, steps)
        if not is_basal and minutes_ago <= iob.dia_min:
            try:
                iob.add(pump.minute - minutes_ago, upper if upper < MAX_MINUTE_MU else MAX_MINUTE_MU)
            except Refused:
                pass  # that minute already holds 30 U: more could not change what is safe
