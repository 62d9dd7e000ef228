"""A scenario plan's actions, done on a pump: by the CPython and MicroPython simulators
(tools/simrun.py) and by the run of the board's whole firmware (host_tests/upy/fwrun.py).

Actions come by their places in tools/scenario.py's ACTIONS, as the plan gives them (a test
checks they agree): numbers, so the pump's process interns no names for them. The pump's
modules are imported only where needed, so loading this costs a heap next to nothing.
"""

from pump.compat import const

_BOLUS = const(0)
_CANCEL_BOLUS = const(1)
_TEMP_BASAL = const(2)
_CANCEL_TEMP_BASAL = const(3)
_SUSPEND = const(4)
_RESUME = const(5)
_SET_PROFILE = const(6)
_CALC = const(7)
_PRIME = const(8)
_NEW_RESERVOIR = const(9)
_FAULT = const(10)
_ACK = const(11)
_SILENCE = const(12)
_POWER_CUT = const(13)
_POWER_ON = const(14)
_SETTINGS = const(15)
_CONFIRM_TIME = const(16)
_PRESS = const(17)
_SNAPSHOT = const(18)
_SET_TIME = const(19)
_FLASH_DAMAGE = const(20)
_SETTINGS_FILE = const(21)


def is_fault(action):
    return action == _FAULT


def apply(run, action, fault, args):
    """Do a plan event's action on run.pump, or on the rig (run._fault), or to the power
    (run._boot, run._power_cut), or on the buttons (run._press) and the screen
    (run._snapshot), or on the flash while the power is off (run._damage,
    run._settings_file). Raises Refused when the pump refuses it."""
    p = run.pump
    a = args.get
    if action == _FLASH_DAMAGE or action == _SETTINGS_FILE:
        from pump.errors import Refused

        if p is not None:
            raise Refused("flash", "the flash is changed only while the power is off")
        if action == _FLASH_DAMAGE:
            run._damage(a("target"), a("kind"), a("seed"))
        else:
            run._settings_file(a("values"))
        return
    if action == _FAULT:
        run._fault(fault, a("mv"))
        return
    if action == _SNAPSHOT:
        run._snapshot(a("name"))
        return
    if action == _POWER_ON or p is None:
        from pump.errors import Refused

        if p is not None:
            raise Refused("power_on", "the pump is already on")
        if action != _POWER_ON:
            raise Refused("power", "the pump is off")
        rtc = a("rtc")
        run.pump = run._boot(0, rtc)
        return
    if action == _POWER_CUT:
        run._power_cut()
        return
    if action == _PRESS:
        run._press(a("button"), a("long", False), a("times", 1))
        return
    if action != _SET_TIME or a("source") != "link":
        p.key_pressed()  # every other scenario action is done on the pump's buttons
    if action == _ACK:
        p.ack()
    elif action == _SILENCE:
        p.silence(a("minutes", 30))
    elif action == _BOLUS:
        ext = a("extended_min", 0)
        p.bolus(a("units"), a("now_pct", 0 if ext else 100), ext)
    elif action == _CANCEL_BOLUS:
        p.cancel_bolus()
    elif action == _TEMP_BASAL:
        p.temp_basal(a("minutes"), a("percent"), a("rate_u_h"))
    elif action == _CANCEL_TEMP_BASAL:
        p.cancel_temp_basal()
    elif action == _SUSPEND:
        p.suspend(a("minutes", 0))
    elif action == _RESUME:
        p.resume()
    elif action == _SET_PROFILE:
        p.set_profile(a("name"))
    elif action == _CALC:
        p.calc(a("carbs_g"), a("bg_mgdl"), a("deliver"))
    elif action == _PRIME:
        p.prime(a("units"))
    elif action == _NEW_RESERVOIR:
        p.new_reservoir(a("units"))
    elif action == _SETTINGS:
        from pump.settings import Settings

        record = a("settings")
        p.confirm_settings(Settings.from_record(record), lambda: run._save_settings(record))
    elif action == _CONFIRM_TIME:
        p.confirm_time(p.day, p.tod_ms)
    elif action == _SET_TIME:
        day, tod_ms = a("to")
        p.confirm_time(day, tod_ms, a("source", "buttons"))
