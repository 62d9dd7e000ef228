"""Starting the pump from its flash: settings, history, and what a reset interrupted.

    pump = start(fs, rig, hw, emit, now_ms, day, tod_ms, fresh_reservoir_mu, missing)

The same on a board (firmware/main.py) and in the simulator (tools/simrun.py):

* the settings come from the settings file (pump/settings_store.py). A file that is missing,
  corrupt or unreadable never falls back to defaults that deliver: the pump starts with
  defaults but suspended, with the `settings_invalid` alarm, whose cause stays until settings
  are confirmed (Pump.confirm_settings);
* the history is opened. When it already holds records this start is a restart the pump did
  not choose (a power cut, a reset): the reservoir is the level last recorded, a dose in
  flight is logged as interrupted and never resumed, the rolling limits are rebuilt from the
  history, and the pump comes up suspended with the `unexpected_restart` alarm
  (Pump.restore). After more than 5 minutes without power the time of day is not trusted
  until a person confirms it (`clock_lost`): with check_clock (a board, whose RTC is all it
  has), when the clock reads earlier than the last record, as an RTC reset by the power
  loss does, or more than 5 minutes later (the simulator knows how long the power was off
  and says so itself);
* the start-up self test (S17) runs before anything can move: the settings file's CRC (above),
  the firmware's modules present (`missing()`, from the shell, names the modules the pump
  loads only when it needs them and cannot find), the motor driver's fault line clear, and
  the buzzer answering its own test. A failure leaves the pump suspended with the
  `self_test_failed` alarm, whose cause stays: only a start that passes clears it;
* on a first start (an empty history) the reservoir is fresh_reservoir_mu. Every start
  writes a POWER_ON record before anything can move, so the start after it is a restart.
"""

from pump.compat import const, unload
from pump.core import LAST_DAY, Pump
from pump.history import History
from pump.settings import Settings, segments

_CLOCK_KEPT_S = const(300)
_MAX_RESERVOIR_MU = const(300000)

# loaded only when needed, so their absence would otherwise show in the middle of therapy
# the interface's flows (pump/ui.py opens them by name): loaded with a menu, unloaded at home
FLOW_MODULES = (
    "pump.ui_dose",
    "pump.ui_basal",
    "pump.ui_history",
    "pump.ui_setup",
    "pump.ui_change",
    "pump.history_query",
)
LATER_MODULES = ("pump.restart", "pump.calculator", "pump.link", "pump.hmac256") + FLOW_MODULES


def self_test(hw, missing):
    """What failed in the start-up self test, as a list of reasons (empty: passed)."""
    failed = []
    gone = missing(LATER_MODULES) if missing is not None else ()
    if gone:
        failed.append("firmware missing: " + ", ".join(gone))
    if hw.motor.fault_active():
        failed.append("motor driver fault line active")
    if not hw.buzzer.self_test():
        failed.append("buzzer does not answer")
    return failed


def start(fs, rig, hw, emit, now_ms, day, tod_ms, fresh_reservoir_mu, missing=None, check_clock=False):
    """The pump, started from the flash. Never raises for anything the flash holds: a
    problem leaves the pump suspended with the alarm that names it."""
    failed = self_test(hw, missing)
    history = History(fs)
    try:
        history.open()
    except OSError as e:  # the flash will not even list its files
        history.damaged += 1
        failed.append("history unreadable: flash error %d" % (e.errno or 0))
    # any trace of a history makes this a restart, even one with no record left to read
    restart = history.next_seq > 1 or history.files > 0 or history.damaged > 0
    clock_ok = 0 <= day <= LAST_DAY and 0 <= tod_ms < 86400000
    if not clock_ok:
        # an RTC reading before 2000 or after 2099 (one that lost its power reads what it
        # likes): the pump runs on from its newest record, and asks for the time
        last = history.last_t_s if history.last_t_s < (LAST_DAY + 1) * 86400 else LAST_DAY * 86400
        day, tod_ms = last // 86400, last % 86400 * 1000
    gap_s = day * 86400 + tod_ms // 1000 - history.last_t_s
    reservoir_mu = history.last_reservoir_mu if restart else fresh_reservoir_mu
    problem = settings = None
    from pump import settings_store  # start-up's alone: unloaded once the settings are read

    try:
        settings = settings_store.checked(settings_store.load(fs), rig)
    except settings_store.SettingsError as e:
        problem = str(e)
    except ValueError as e:  # Refused: a file that checks out but breaks a rule
        problem = "settings: not usable (%s)" % e
    settings_store = None
    unload("pump.settings_store")
    if settings is None:
        settings = Settings()  # limits at their defaults, and a basal of nothing
        settings.profiles = {"none": segments([(0, 0)])}
        settings.active_profile = "none"
    # a level no reservoir holds (the largest is 300 U) is not believed: empty until filled
    believable = 0 <= reservoir_mu <= _MAX_RESERVOIR_MU
    pump = Pump(settings, rig, hw, emit, now_ms, day, tod_ms, reservoir_mu if believable else 0, history)
    if restart:
        pump.restore(history, day * 86400 + tod_ms // 1000, problem is None)
        if not believable:
            pump.alarms.raise_("history_damaged")
        if check_clock and not 0 <= gap_s <= _CLOCK_KEPT_S:
            pump.clock_lost()
    else:
        pump.powered_on()  # its record marks the history: the next start is a restart
    if not clock_ok:
        pump.clock_lost()
    if problem is not None:
        pump.settings_invalid(problem)
    if failed:
        pump.self_test_failed("; ".join(failed))
    return pump
