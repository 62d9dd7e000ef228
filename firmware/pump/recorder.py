"""Turns the pump's events into history records (pump/history.py).

Every therapy event, mode change, alarm state and five-minute operational record becomes
one 32-byte record with the time, the source, the mode and the reservoir. A record the
flash cannot take raises the history_error alarm; the history keeps it queued and retries.
The numbers are the record format's (pump/history_query.py names them; a test checks that
the two agree): private constants here, so the resident pump interns no names for them.
"""

from pump.alarms import names as alarm_names
from pump.compat import const
from pump.history import HistoryError

_POWER_ON = const(1)
_TIME_SET = const(2)
_SETTINGS = const(3)
_PROFILE = const(4)
_RESERVOIR = const(5)
_SUSPEND = const(6)
_RESUME = const(7)
_TEMP_START = const(8)
_BOLUS_START = const(9)
_BOLUS_PROGRESS = const(10)
_DOSE = const(11)
_INTERRUPTED = const(12)
_ALARM = const(13)
_OPERATIONAL = const(15)

SOURCES = ("auto", "buttons", "link")
_MODES = ("running", "suspended", "stopped")
KINDS = ("normal", "extended", "dual", "prime", "temp_basal")
_STATUSES = ("completed", "cancelled", "suspended", "replaced", "stopped", "interrupted")
_STOPPED = const(4)  # _STATUSES index of "stopped", for a status this table lacks
_ALARM_STATES = ("raised", "acked", "silenced", "cleared")  # the alarm events' own words
_PRIORITIES = ("low", "medium", "high")


def _index(names, name, default=0):
    return names.index(name) if name in names else default


class Recorder:
    def __init__(self, history, pump):
        self.history = history
        self.pump = pump

    def append(self, rtype, fields, code=0, programmed_mu=0, delivered_mu=0, aux=0):
        p = self.pump
        try:
            self.history.append(
                rtype,
                p.day * 86400 + p.tod_ms // 1000,
                _index(SOURCES, fields.get("source", "auto")),
                _index(_MODES, p.mode),
                code,
                programmed_mu,
                delivered_mu,
                p.reservoir_mu(),
                aux,
            )
        except HistoryError:
            if not p.alarms.is_active("history_error"):
                p.alarms.raise_("history_error")

    def power_on(self, unlogged_max_mu=0):
        """A start; after a restart, unlogged_max_mu is the most basal that can have moved
        unrecorded before the power went (pump/restart.py)."""
        self.append(_POWER_ON, {}, programmed_mu=unlogged_max_mu)

    def interrupted(self, start, delivered_mu):
        """The bolus or prime whose BOLUS_START record is `start` was cut short by a reset."""
        self.append(_INTERRUPTED, {}, start.code, start.programmed_mu, delivered_mu, start.seq)

    def on_event(self, code, f):
        if code == "dose":
            status = _index(_STATUSES, f["status"], _STOPPED)
            duration_s = f["duration_ms"] // 1000
            self.append(
                _DOSE,
                f,
                _index(KINDS, f["kind"]),
                f["programmed_mu"],
                f["delivered_mu"],
                status | (duration_s if duration_s < 0xFFFFFF else 0xFFFFFF) << 8,
            )
        elif code == "bolus_started" or code == "prime_started":
            kind = f["kind"] if code == "bolus_started" else "prime"
            self.append(_BOLUS_START, f, _index(KINDS, kind), f["programmed_mu"])
        elif code == "bolus_progress":
            self.append(_BOLUS_PROGRESS, f, _index(KINDS, f["kind"]), f["programmed_mu"], f["delivered_mu"])
        elif code == "mode":
            self.append(_RESUME if f["mode"] == "running" else _SUSPEND, f)
        elif code == "temp_basal_started":
            self.append(_TEMP_START, f, aux=f["minutes"] << 16 | f["rate_mu_h"])
        elif code == "profile":
            self.append(_PROFILE, f)
        elif code == "settings":
            self.append(_SETTINGS, f)
        elif code == "time_set":
            self.append(_TIME_SET, f)
        elif code == "reservoir":
            self.append(_RESERVOIR, f, programmed_mu=f["fill_mu"])
        elif code == "alarm":
            state = _index(_ALARM_STATES, f["state"])
            self.append(
                _ALARM, f, alarm_names().index(f["code"]), aux=state | _index(_PRIORITIES, f["priority"]) << 8
            )
        elif code == "operational":
            self.append(
                _OPERATIONAL, f, programmed_mu=f["rate_mu_h"], delivered_mu=f["basal_mu"], aux=f["iob_mu"]
            )
