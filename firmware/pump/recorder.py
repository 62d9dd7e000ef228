"""Turns the pump's events into history records (pump/history.py).

Every therapy event, mode change, alarm state and five-minute operational record becomes
one 32-byte record with the time, the source, the mode and the reservoir. A record the
flash cannot take raises the history_error alarm, which stops delivery until every waiting
record is written and it is acknowledged (a record waiting in RAM is lost with the power, and
a restart could not count what it said); the history keeps it queued and retries.
The numbers are the record format's (pump/history_query.py names them; a test checks that
the two agree): private constants here, so the resident pump interns no names for them.
"""

from pump.alarms import names as alarm_names
from pump.compat import const
from pump.crc32 import crc32
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
_REFUSED = const(14)
_OPERATIONAL = const(15)
_FIRMWARE_ERROR = const(17)  # (16 is the history's own LOST)
_TEMP_CAP = const(18)

SOURCES = ("auto", "buttons", "link")
KINDS = ("normal", "extended", "dual", "prime", "temp_basal")
# The record format's code tables, in one tuple so the module interns one name for them:
# [_MODES] the pump's modes, [_STATUSES] how a dose ended, [_REASONS] why the mode changed
# (SUSPEND/RESUME code; 32 + alarm code when an alarm stopped the pump), [_ALARM_STATES] the
# alarm events' own words, [_PRIORITIES] alarm priorities.
_MODES = const(0)
_STATUSES = const(1)
_REASONS = const(2)
_ALARM_STATES = const(3)
_PRIORITIES = const(4)
_COMMANDS = const(5)  # what a REFUSED record's code names (255: another)
_STOPPED = const(4)  # the _STATUSES index of "stopped", for a status that table lacks
TABLES = (
    ("running", "suspended", "stopped"),
    ("completed", "cancelled", "suspended", "replaced", "stopped", "interrupted"),
    (
        "buttons",
        "link",
        "auto",
        "timed_resume",
        "restart",
        "settings_invalid",
        "self_test_failed",
        "new_reservoir",
    ),
    ("raised", "acked", "silenced", "cleared"),
    ("low", "medium", "high"),
    (
        "bolus",
        "cancel_bolus",
        "temp_basal",
        "cancel_temp_basal",
        "suspend",
        "resume",
        "set_profile",
        "calc",
        "prime",
        "new_reservoir",
        "ack",
        "silence",
        "settings",
        "confirm_time",
    ),
)


def _index(names, name, default=0):
    return names.index(name) if name in names else default


class Recorder:
    def __init__(self, history, pump):
        self.history = history
        self.pump = pump
        self._start_seq = 0  # seq of the running bolus's BOLUS_START, for its progress records
        self._failing = False  # a write failed and history_error was raised: records wait

    def append(self, rtype, fields, code=0, programmed_mu=0, delivered_mu=0, aux=0):
        p = self.pump
        try:
            seq = self.history.append(
                rtype,
                p.day * 86400 + p.tod_ms // 1000,
                _index(SOURCES, fields.get("source", "auto")),
                _index(TABLES[_MODES], p.mode),
                code,
                programmed_mu,
                delivered_mu,
                p.reservoir_mu(),
                aux,
            )
        except HistoryError as e:
            if not self._failing:
                self._failing = True
                p.alarms.raise_("history_error")
            return e.seq  # queued with this seq, or 0 if it was lost
        if self._failing and self.history.queued == 0:
            self._failing = False
            p.alarms.cause_gone("history_error")  # everything that waited is written
        return seq

    def power_on(self, unlogged_max_mu=0, restart=False, before_s=0):
        """A start (code 1: a restart the pump did not choose); after a restart,
        unlogged_max_mu is the most basal that can have moved unrecorded before the power
        went, and before_s (aux) the time of the newest record before it, so that a rebuild
        can tell how far the clock moved across the restart (pump/restart.py)."""
        self.append(_POWER_ON, {}, 1 if restart else 0, unlogged_max_mu, aux=before_s)

    def interrupted(self, start, delivered_mu):
        """The bolus or prime whose BOLUS_START record is `start` was cut short by a reset."""
        self.append(_INTERRUPTED, {}, start.code, start.programmed_mu, delivered_mu, start.seq)

    def firmware_error(self, where, text):
        """The shell's last-chance handler caught an exception in task `where` (a small
        number); aux holds the CRC-32 of its text, which the shell also keeps in a file."""
        self.append(_FIRMWARE_ERROR, {}, where, aux=crc32(text.encode()))

    def refused(self, command, requested_mu, source):
        """A person's (or the link's) command the pump refused."""
        self.append(_REFUSED, {"source": source}, _index(TABLES[_COMMANDS], command, 255), requested_mu)

    def on_event(self, code, f):
        p = self.pump
        if code == "dose":
            status = _index(TABLES[_STATUSES], f["status"], _STOPPED)
            duration_s = f["duration_ms"] // 1000
            self.append(
                _DOSE,
                f,
                _index(KINDS, f["kind"]),
                f["programmed_mu"],
                f["delivered_mu"],
                status | (duration_s if duration_s < 0xFFFFFF else 0xFFFFFF) << 8,
            )
        elif code == "bolus_started":
            prog = f["programmed_mu"]
            aux = f["extended_min"] << 16 | (f["now_mu"] * 100 // prog if prog else 0)
            self._start_seq = self.append(_BOLUS_START, f, _index(KINDS, f["kind"]), prog, f["carbs_g"], aux)
        elif code == "prime_started":
            self._start_seq = self.append(_BOLUS_START, f, 3, f["programmed_mu"])  # kind 3: prime
        elif code == "bolus_progress":
            kind = _index(KINDS, f["kind"])
            self.append(_BOLUS_PROGRESS, f, kind, f["programmed_mu"], f["delivered_mu"], self._start_seq)
        elif code == "mode":
            reason = f["reason"]
            why = _index(TABLES[_REASONS], reason, 255)
            if why == 255 and reason in alarm_names():
                why = 32 + alarm_names().index(reason)
            if f["mode"] == "running":
                self.append(_RESUME, f, why)
            else:
                self.append(_SUSPEND, f, why, aux=p._suspend_left_ms // 60000)
        elif code == "temp_basal_started":
            pct = f["percent"]
            t = p.temp
            self.append(
                _TEMP_START,
                f,
                255 if pct < 0 else pct,
                t.programmed_mu if t else 0,
                aux=f["minutes"] << 16 | f["rate_mu_h"],
            )
        elif code == "profile":
            names = sorted(p.settings.profiles)
            name = f["name"]
            self.append(_PROFILE, f, names.index(name) if name in names else 255, aux=crc32(name.encode()))
        elif code == "settings":
            self.append(_SETTINGS, f, aux=p.settings.fingerprint())
        elif code == "time_set":
            self.append(_TIME_SET, f, aux=f["before_s"])
        elif code == "reservoir":
            self.append(_RESERVOIR, f, aux=f["fill_mu"])
        elif code == "alarm":
            state = _index(TABLES[_ALARM_STATES], f["state"])
            self.append(
                _ALARM,
                f,
                alarm_names().index(f["code"]),
                aux=state | _index(TABLES[_PRIORITIES], f["priority"]) << 8,
            )
        elif code == "temp_capped":
            cap = f["cap_mu_h"]
            self.append(_TEMP_CAP, f, 1 if cap else 0, cap, aux=f["rate_mu_h"])
        elif code == "operational":
            self.append(
                _OPERATIONAL, f, programmed_mu=f["rate_mu_h"], delivered_mu=f["basal_mu"], aux=f["iob_mu"]
            )
