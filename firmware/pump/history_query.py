"""Reading the pump's history back: record type names, and the queries built on records().

pump/history.py writes and streams the records and is always loaded; this module is loaded
when something reads the history as a whole (a history screen, the link, a download's
analysis), so the pump's resident code stays small. What a restart needs is in
pump/restart.py, which this module builds on. The numbers below are the
record format (docs/history.md): they never change meaning.
"""

from pump.compat import const
from pump.errors import check_int
from pump.restart import deliveries, therapy_since, unfinished_dose  # noqa: F401 (part of this API)

_DAY_S = const(86400)

# The history's sizes (pump/history.py keeps them as private constants; a test checks they
# agree): a record, a segment (one 4 KB LittleFS block), the two rings, the RAM queue.
RECORD_BYTES = const(32)
SEGMENT_RECORDS = const(128)  # one 4 KB LittleFS block per segment
EV_SEGMENTS = const(58)  # >= 57 * 128 = 7296 events: 91 days at 80 a day
OP_SEGMENTS = const(35)  # >= 34 * 128 = 4352 operational records: 15.1 days at 288 a day
QUEUE_RECORDS = const(16)


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
FIRMWARE_ERROR = const(17)
TEMP_CAP = const(18)
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
    "firmware_error",
    "temp_cap",
)

SOURCE_AUTO = const(0)
SOURCE_BUTTONS = const(1)
SOURCE_LINK = const(2)
MODE_RUNNING = const(0)
MODE_SUSPENDED = const(1)
MODE_STOPPED = const(2)
SOURCE_NAMES = ("auto", "buttons", "link")
MODE_NAMES = ("running", "suspended", "stopped")

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


def last(h, rtype):
    """The newest record of a type, or None."""
    found = None
    for rec in h.records(types=(rtype,)):
        found = rec
    return found


def daily_totals(h, day):
    """(total, basal, bolus) mU delivered on a local day (days since 2000-01-01).

    Basal is the sum of the OPERATIONAL records whose interval ends in the day (the one
    stamped 00:00 belongs to the day before); bolus is the delivered increments stamped
    in the day, an interrupted bolus at what is known to have moved. Prime is not therapy.
    """
    basal = bolus = 0
    for t_s, is_basal, lower, _ in deliveries(h):
        if is_basal:
            if (t_s - 1) // _DAY_S == day:
                basal += lower
        elif t_s // _DAY_S == day:
            bolus += lower
    return basal + bolus, basal, bolus


def counts(h):
    """(good, bad) records in the whole history, by reading it all: for diagnostics."""
    good = bad = 0
    for ring in (h._ev, h._op):
        count, lo, hi = h._span(ring)
        for n in range(lo, hi + 1) if count else ():
            g, b = h._scan(ring, n)[3:5]
            good += g
            bad += b if b >= 0 else 1  # -1: the segment could not be read
    return good, bad
