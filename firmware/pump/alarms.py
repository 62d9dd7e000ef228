"""The alarm manager: which alarms are active, which one owns the screen and the buzzer.

Alarms latch: an alarm stays until a person acknowledges it, and an acknowledgement clears
it only once its cause has gone (S14). High > medium > low, each with its own buzzer burst
and repeat interval (S13); a silence lasts at most 30 minutes, and an acknowledged alarm
sounds again 5 minutes later until it is cleared (S15). There is no clock: time comes in
through advance(ms). What raises an alarm, and stopping the motor, are the core's business;
this module keeps the alarms and says whether an active one stops delivery.
"""

from pump.compat import const
from pump.errors import Refused, check_int

PRIORITIES = ("high", "medium", "low")  # highest first

_REALERT_MS = const(300000)  # an acknowledged alarm sounds again after this
_MAX_SILENCE_MIN = const(30)

# priority ranks, as stored in the table: a larger rank wins
_HIGH = const(3)
_MEDIUM = const(2)
_LOW = const(1)

# definition flags
_STOPS = const(1)  # delivery stays stopped while the alarm is active
_NO_CAUSE = const(2)  # an event, not a condition: its cause is gone as soon as it is raised

# state bits of one code; 0 means not active
_ACTIVE = const(1)
_CAUSE = const(2)  # the cause is present: an acknowledgement cannot clear it
_SILENCED = const(4)
_ACKED = const(8)
_QUIET = const(12)  # _SILENCED | _ACKED: active but not sounding, a timer running

# One entry per alarm code, in the same order in the three tables; an entry's index is the
# code's number. Every loop walks these tables or the raise order, never a dict, so both
# interpreters act in the same order. _INFO holds rank << 4 | flags for each code, in 20 bytes
# of heap where a tuple of tuples took a kilobyte.
_NAMES = (
    "occlusion",
    "reservoir_empty",
    "motor_fault",
    "delivery_mismatch",
    "unseated",
    "auto_off",
    "battery_critical",
    "unexpected_restart",
    "settings_invalid",
    "self_test_failed",
    "limit_hourly",
    "limit_daily",
    "reservoir_very_low",
    "battery_low",
    "clock_lost",
    "history_error",
    "reservoir_low",
    "set_change_due",
    "temp_basal_ended",
    "suspend_reminder",
    "history_damaged",
    "temp_capped",
)
_TEXTS = (  # screen text, at most 15 characters: the home screen puts "!" before it
    "OCCLUSION",
    "RESERVOIR EMPTY",
    "MOTOR FAULT",
    "DELIVERY ERROR",
    "PLUNGER LOOSE",
    "AUTO-OFF",
    "BATT CRITICAL",
    "PUMP RESTARTED",
    "BAD SETTINGS",
    "SELF TEST FAIL",
    "HOURLY LIMIT",
    "DAILY LIMIT",
    "V.LOW INSULIN",
    "BATTERY LOW",
    "CONFIRM TIME",
    "HISTORY ERROR",
    "LOW INSULIN",
    "CHANGE SET",
    "TEMP BASAL DONE",
    "PUMP SUSPENDED",
    "HISTORY DAMAGED",
    "TEMP CAPPED",
)
_INFO = bytes(
    (
        _HIGH << 4 | _STOPS,  # occlusion
        _HIGH << 4 | _STOPS,  # reservoir_empty
        _HIGH << 4 | _STOPS,  # motor_fault
        _HIGH << 4 | _STOPS,  # delivery_mismatch
        _HIGH << 4 | _STOPS,  # unseated
        _HIGH << 4 | _STOPS,  # auto_off
        _HIGH << 4 | _STOPS,  # battery_critical
        _HIGH << 4 | _STOPS | _NO_CAUSE,  # unexpected_restart
        _HIGH << 4 | _STOPS,  # settings_invalid
        _HIGH << 4 | _STOPS,  # self_test_failed
        _MEDIUM << 4,  # limit_hourly
        _MEDIUM << 4,  # limit_daily
        _MEDIUM << 4,  # reservoir_very_low
        _MEDIUM << 4,  # battery_low
        _MEDIUM << 4,  # clock_lost
        _HIGH << 4 | _STOPS,  # history_error
        _LOW << 4,  # reservoir_low
        _LOW << 4,  # set_change_due
        _LOW << 4 | _NO_CAUSE,  # temp_basal_ended
        _LOW << 4,  # suspend_reminder
        _HIGH << 4 | _NO_CAUSE,  # history_damaged
        _MEDIUM << 4 | _NO_CAUSE,  # temp_capped
    )
)


# Buzzer bursts by rank (IEC 60601-1-8 style): alternating on/off durations in 10 ms units,
# starting and ending with a pulse. High: 3 pulses of 100 ms 100 ms apart, 400 ms, 2 more.
# Medium: 3 pulses of 200 ms. Low: 2 pulses of 200 ms.
_BURSTS = (b"", b"\x14\x14\x14", b"\x14\x14\x14\x14\x14", b"\x0a\x0a\x0a\x0a\x0a\x28\x0a\x0a\x0a")
_REPEAT_MS = (0, 300000, 30000, 10000)  # burst start to burst start, by rank


def text(code):
    """The screen text of the alarm numbered `code` (a history record's alarm code)."""
    return _TEXTS[code] if 0 <= code < len(_TEXTS) else "ALARM %d" % code


def _number(name):
    for i in range(len(_NAMES)):
        if _NAMES[i] == name:
            return i
    raise Refused("alarm", "no alarm named %r" % (name,))


def _rank(priority):
    for r in (_HIGH, _MEDIUM, _LOW):
        if PRIORITIES[3 - r] == priority:
            return r
    raise Refused("priority", "%r is not high, medium or low" % (priority,))


def names():
    """Every alarm code, in table order."""
    return _NAMES


def definition(name):
    """(name, priority, screen text, stops delivery) of an alarm code; Refused if unknown."""
    i = _number(name)
    return (_NAMES[i], PRIORITIES[3 - (_INFO[i] >> 4)], _TEXTS[i], bool(_INFO[i] & _STOPS))


def burst(priority):
    """(buzzer pattern, repeat interval in ms) of a priority."""
    r = _rank(priority)
    return (_BURSTS[r], _REPEAT_MS[r])


class Alarms:
    """The active alarms, at most one per code, and the buzzer they drive.

    buzzer: play(pattern) starts one burst (replacing any burst still playing) and returns
    at once; stop() silences at once. emit(code, fields) receives every raise, silence,
    acknowledgement and clear as an "alarm" event.
    """

    def __init__(self, buzzer, emit):
        self._buzzer = buzzer
        self._emit = emit
        n = len(_NAMES)
        self._state = bytearray(n)  # state bits by code number
        self._left_ms = [0] * n  # silenced: until it sounds again; acked: until it re-alerts
        self._order = bytearray(n)  # code numbers of the active alarms, oldest first
        self._count = 0
        self._buzz_rank = 0  # rank whose burst the buzzer repeats; 0 while quiet
        self._burst_left_ms = 0  # until that burst is due again

    # ------------------------------------------------------------ causes

    def raise_(self, name):
        """The cause of alarm `name` is present. True if this made a new alarm."""
        i = _number(name)
        s = self._state[i]
        if s:
            # latched: the cause is back, so an acknowledgement must not clear it now
            if not _INFO[i] & _NO_CAUSE:
                self._state[i] = s | _CAUSE
            return False
        self._state[i] = _ACTIVE if _INFO[i] & _NO_CAUSE else _ACTIVE | _CAUSE
        self._left_ms[i] = 0
        self._order[self._count] = i
        self._count += 1
        self._event(i, "raised")
        self._sound(_INFO[i] >> 4)
        return True

    def cause_gone(self, name):
        """The cause of alarm `name` has gone. The alarm stays until acknowledged."""
        i = _number(name)
        self._state[i] &= ~_CAUSE

    # ------------------------------------------------------------ people

    def ack(self):
        """Acknowledge the alarm on screen; it is cleared if its cause has gone.

        Returns the code handled. One alarm per call: the next one then takes the screen.
        """
        pos = self._top_pos()
        if pos < 0:
            raise Refused("ack", "no alarm to acknowledge")
        i = self._order[pos]
        s = self._state[i]
        self._event(i, "acked")
        if s & _CAUSE:
            # it sounds again 5 minutes from now, or sooner if a silence or an earlier
            # acknowledgement already had it due sooner: no ack puts an alarm off further
            if not s & _QUIET or self._left_ms[i] > _REALERT_MS:
                self._left_ms[i] = _REALERT_MS
            self._state[i] = (s & ~_SILENCED) | _ACKED
        else:
            self._remove(pos)
            self._event(i, "cleared")
        self._sound(0)
        return _NAMES[i]

    def silence(self, minutes):
        """Silence every sounding alarm for min(minutes, 30) minutes; returns the minutes
        granted. Clears and acknowledges nothing; an alarm raised later sounds at once."""
        check_int(minutes, "minutes", 1)
        granted = minutes if minutes < _MAX_SILENCE_MIN else _MAX_SILENCE_MIN
        silenced = 0
        for pos in range(self._count):
            i = self._order[pos]
            s = self._state[i]
            if not s & _QUIET:
                self._state[i] = s | _SILENCED
                self._left_ms[i] = granted * 60000
                self._emit(
                    "alarm",
                    {
                        "code": _NAMES[i],
                        "priority": PRIORITIES[3 - (_INFO[i] >> 4)],
                        "state": "silenced",
                        "minutes": granted,
                        "requested_minutes": minutes,
                    },
                )
                silenced += 1
        if not silenced:
            raise Refused("silence", "no alarm is sounding")
        self._sound(0)
        return granted

    # -------------------------------------------------------------- time

    def advance(self, ms):
        """Move the timers on by ms: silences end, re-alerts fall due, bursts repeat."""
        if ms < 0:
            raise ValueError("alarm time cannot go back")
        fresh = 0  # highest rank that started sounding again
        for pos in range(self._count):
            i = self._order[pos]
            s = self._state[i]
            if s & _QUIET:
                left = self._left_ms[i] - ms
                if left > 0:
                    self._left_ms[i] = left
                else:
                    self._left_ms[i] = 0
                    self._state[i] = s & ~_QUIET
                    if (_INFO[i] >> 4) > fresh:
                        fresh = _INFO[i] >> 4
        if self._buzz_rank:
            self._burst_left_ms -= ms
            if self._burst_left_ms <= 0:
                self._sound(fresh)
                return
        if fresh:
            self._sound(fresh)

    def next_wake_ms(self):
        """ms until the next burst, end of a silence or re-alert; None if nothing is pending."""
        wake = self._burst_left_ms if self._buzz_rank else None
        for pos in range(self._count):
            i = self._order[pos]
            if self._state[i] & _QUIET:
                left = self._left_ms[i]
                if wake is None or left < wake:
                    wake = left
        return wake

    # ------------------------------------------------------------- views

    def top(self):
        """(code, priority, text, state) of the alarm that owns the screen, or None."""
        pos = self._top_pos()
        return None if pos < 0 else self._view(self._order[pos])

    def active(self):
        """Every active alarm as (code, priority, text, state), in display order."""
        return [self._view(self._order[pos]) for pos in sorted(range(self._count), key=self._key)]

    def is_active(self, name):
        return self._state[_number(name)] != 0

    def stops_delivery(self):
        """True while an active alarm stops delivery (until that alarm is cleared)."""
        for pos in range(self._count):
            if _INFO[self._order[pos]] & _STOPS:
                return True
        return False

    def sounding(self):
        """The priority the buzzer is repeating, or None while it is quiet."""
        return PRIORITIES[3 - self._buzz_rank] if self._buzz_rank else None

    # ---------------------------------------------------------- internal

    def _key(self, pos):
        """Display order: unacknowledged before acknowledged, then priority, then age."""
        i = self._order[pos]
        return (4096 if self._state[i] & _ACKED else 0) + (3 - (_INFO[i] >> 4)) * 256 + pos

    def _top_pos(self):
        best = -1
        best_key = 0
        for pos in range(self._count):
            k = self._key(pos)
            if best < 0 or k < best_key:
                best = pos
                best_key = k
        return best

    def _view(self, i):
        s = self._state[i]
        state = "acked" if s & _ACKED else ("silenced" if s & _SILENCED else "raised")
        return (_NAMES[i], PRIORITIES[3 - (_INFO[i] >> 4)], _TEXTS[i], state)

    def _remove(self, pos):
        i = self._order[pos]
        self._count -= 1
        for p in range(pos, self._count):
            self._order[p] = self._order[p + 1]
        self._state[i] = 0
        self._left_ms[i] = 0

    def _event(self, i, state):
        self._emit("alarm", {"code": _NAMES[i], "priority": PRIORITIES[3 - (_INFO[i] >> 4)], "state": state})

    def _sound(self, fresh):
        """Give the buzzer to the highest sounding rank. A burst plays at once when that rank
        changes, when an alarm of that rank (or `fresh` above it) starts sounding, or when the
        repeat is due."""
        rank = 0
        for pos in range(self._count):
            i = self._order[pos]
            if not self._state[i] & _QUIET and (_INFO[i] >> 4) > rank:
                rank = _INFO[i] >> 4
        if not rank:
            if self._buzz_rank:
                self._buzz_rank = 0
                self._burst_left_ms = 0
                self._buzzer.stop()
        elif rank != self._buzz_rank or fresh >= rank or self._burst_left_ms <= 0:
            self._buzz_rank = rank
            self._burst_left_ms = _REPEAT_MS[rank]
            self._buzzer.play(_BURSTS[rank])
