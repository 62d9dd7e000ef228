"""Bench demo: prime the line, then deliver a 1 U bolus of water through the pump core, to weigh.

    mpremote run tools/benchdemo.py

Start the board with BACK held (the pump is not running, the watchdog is off) and a 1 mL
syringe of water seated on the rig (docs/bench-demo.md). The demo drives the real core (the
same engine, supervisor and limits as the pump) on the board's drivers, with settings of its
own held in memory: nothing is written to the pump's settings or history. It primes 2 U (or
until OK is pressed), waits for OK (tare the scale under the outlet now), delivers a 1 U
bolus at 2 U/min, and prints the steps the motor's hardware counted and the volume they
stand for: 1 U of U-100 is 10 uL, 10 mg of water on the scale.
"""

import time

import board
import machine

_DAY = 9800  # any day: the demo's clock does not matter


def _settings():
    from pump.settings import Settings, segments

    s = Settings()
    s.profiles = {"demo": segments([(0, 0)])}  # no basal: only the prime and the bolus move
    s.active_profile = "demo"
    return s


def _run(pump, hw, until, limit_ms):
    """Tick the core as the shell does until until() or limit_ms."""
    start = time.ticks_ms()
    while not until() and time.ticks_diff(time.ticks_ms(), start) < limit_ms:
        pump.tick(time.ticks_ms())
        hw.motor.poll()
        time.sleep_ms(20)
    pump.tick(time.ticks_ms())


def _wait_ok(hw, limit_ms):
    start = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), start) < limit_ms:
        for name, kind in hw.buttons.poll(time.ticks_ms()):
            if name == "OK" and kind == "short":
                return True
        time.sleep_ms(10)
    return False


def main(prime_mu=2000, bolus_mu=1000, ok_wait_ms=120000):
    from shell.rig import Hardware

    from pump.core import Pump
    from pump.engine import BOLUS, PRIME

    hw = Hardware(board, machine, time.sleep_ms, time.ticks_ms)
    rig = hw.rig
    alarms = []

    def emit(code, fields):
        if code == "alarm" and fields["state"] == "raised":
            alarms.append(fields["code"])
            print("alarm:", fields["code"])

    pump = Pump(_settings(), rig, hw, emit, time.ticks_ms(), _DAY, 12 * 3600000, 0)
    try:
        pump.suspend()
        pump.new_reservoir(100000)  # a 1 mL syringe holds 100 U
        pump.resume()
        print(
            "priming %d.%03d U: press OK when water drips from the outlet"
            % (prime_mu // 1000, prime_mu % 1000)
        )
        pump.prime(prime_mu)
        _run(pump, hw, lambda: pump.prime_dose is None or hw.buttons.poll(time.ticks_ms()) != [], 120000)
        if pump.prime_dose is not None:
            pump.suspend()  # OK pressed: stop priming
            pump.resume()
        print("primed %d steps. Put the outlet over the scale, tare it, press OK" % pump.steps[PRIME])
        if not _wait_ok(hw, ok_wait_ms):
            print("no OK: stopped")
            return False
        before = hw.motor.steps_done()
        pump.bolus(bolus_mu)
        _run(pump, hw, lambda: pump.current_bolus is None, bolus_mu * 60000 // board.BOLUS_MU_PER_MIN + 10000)
        made = hw.motor.steps_done() - before
        nl = made * 10000 // board.STEPS_PER_UNIT  # 10 uL a unit: nL
        print(
            "bolus %d.%03d U: %d steps counted by the motor's hardware = %d.%03d uL; weigh about %d.%03d mg"
            % (
                bolus_mu // 1000,
                bolus_mu % 1000,
                made,
                nl // 1000,
                nl % 1000,
                nl // 1000,
                nl % 1000,
            )
        )
        print("booked as bolus: %d mU; alarms: %s" % (pump.delivered_mu(BOLUS), ", ".join(alarms) or "none"))
        return not alarms and pump.delivered_mu(BOLUS) == bolus_mu and made == rig.steps_for(bolus_mu)
    finally:
        hw.motor.stop()
        hw.deinit()


if __name__ == "__main__":
    main()
