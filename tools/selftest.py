"""Bench self-test of a rig: run on the board with the firmware deployed (make deploy).

    mpremote run tools/selftest.py

Start the board with BACK held first, so the pump is not running (firmware/main.py) and the
watchdog is off; a syringe on the rig may hold water, never insulin. It checks, in order:
the flash (a file written, read back, removed), the clock (the RTC moves), the battery
voltage, the plunger-seated switch, the load cell (conversions arrive, the reading is steady
at rest), the motor driver (fault line clear; 1 U forward then back, each pulse counted by the
hardware), the buzzer (its PWM reads back; a short beep), the display (a test frame over I2C)
and the buttons (press each within the time given). Prints one line a check and a verdict;
the last line is "SELFTEST PASS" or "SELFTEST FAIL: <checks>".
"""

import time

import board
import machine

_BATTERY_MV = (3300, 4300)  # a single Li-ion cell, from empty to full
_STEADY_MN = 50  # the load cell's spread at rest, 8 readings


def _check(results, name, ok, detail):
    results.append((name, ok))
    print("%-8s %s  %s" % (name, "ok  " if ok else "FAIL", detail))


def _flash(hw):
    name = "selftest.tmp"
    data = b"pump self-test 0123456789"
    with hw.flash.open(name, "wb") as f:
        f.write(data)
    with hw.flash.open(name, "rb") as f:
        back = f.read()
    hw.flash.remove(name)
    free = hw.flash.free_bytes()
    return back == data and free > 64 * 1024, "wrote and read back %d bytes; %d KB free" % (
        len(data),
        free // 1024,
    )


def _clock(hw):
    day, t0 = hw.clock.now()
    time.sleep_ms(1100)
    day2, t1 = hw.clock.now()
    moved = (day2 - day) * 86400000 + t1 - t0
    return 1000 <= moved <= 3000, "day %d, %02d:%02d; moved %d ms in 1.1 s" % (
        day2,
        t1 // 3600000,
        t1 // 60000 % 60,
        moved,
    )


def _load_cell(hw):
    line = hw.line
    readings = []
    start = time.ticks_ms()
    while len(readings) < 8 and time.ticks_diff(time.ticks_ms(), start) < 2000:
        if line.ready():
            readings.append(line.force_mn())
        time.sleep_ms(10)
    if len(readings) < 8:
        return False, "only %d conversions in 2 s (wiring? DATA and CLOCK swapped?)" % len(readings)
    spread = max(readings) - min(readings)
    return spread <= _STEADY_MN, "8 readings, spread %d mN at rest (%d mN)" % (spread, readings[-1])


def _finish(motor, steps):
    """Wait for a move of `steps` to end (with a second to spare), feeding the driver."""
    deadline = time.ticks_add(time.ticks_ms(), steps * 1000 // board.STEP_HZ + 1000)
    while motor.busy() and time.ticks_diff(deadline, time.ticks_ms()) > 0:
        motor.poll()
        time.sleep_ms(5)


def _motor(hw, steps):
    motor = hw.motor
    if motor.fault_active():
        return False, "the driver's fault line is active"
    before = motor.steps_done()
    motor.move(steps)
    _finish(motor, steps)
    made = motor.steps_done() - before
    back0 = motor.steps_back()
    motor.retract(made or 1)
    _finish(motor, steps)
    back = motor.steps_back() - back0
    motor.stop()
    ok = made == steps and back == (made or 1) and not motor.fault_active()
    return ok, "%d of %d steps forward, %d back" % (made, steps, back)


def _buzzer(hw):
    if not hw.buzzer.self_test():
        return False, "the PWM does not read back"
    hw.buzzer.play(b"\x0a")  # 100 ms
    time.sleep_ms(120)
    hw.buzzer.tick()
    hw.buzzer.stop()
    return True, "PWM answers; beeped 100 ms"


def _display(hw):
    import framebuf

    buf = bytearray(1024)
    fb = framebuf.FrameBuffer(buf, 128, 64, framebuf.MONO_VLSB)
    fb.fill(0)
    fb.rect(0, 0, 128, 64, 1)
    fb.text("SELF TEST", 28, 20, 1)
    fb.text(board.BOARD, 28, 36, 1)
    ok = hw.display.show(buf)
    return ok, "test frame shown" if ok else "I2C error %d" % hw.display.last_error


def _buttons(hw, wait_ms):
    from shell.rig import BUTTONS

    seen = []
    print("         press each button once: " + " ".join(BUTTONS))
    start = time.ticks_ms()
    while len(seen) < len(BUTTONS) and time.ticks_diff(time.ticks_ms(), start) < wait_ms:
        for name, kind in hw.buttons.poll(time.ticks_ms()):
            if kind == "short" and name not in seen:
                seen.append(name)
                print("         %s" % name)
        time.sleep_ms(10)
    missing = [b for b in BUTTONS if b not in seen]
    return not missing, "all four pressed" if not missing else "not pressed: " + " ".join(missing)


def main(press_wait_ms=20000):
    from shell.rig import Hardware

    print("self-test of the %s rig" % board.BOARD)
    hw = Hardware(board, machine, time.sleep_ms, time.ticks_ms)
    results = []
    try:
        _check(results, "flash", *_flash(hw))
        _check(results, "clock", *_clock(hw))
        mv = hw.battery.mv()
        _check(results, "battery", _BATTERY_MV[0] <= mv <= _BATTERY_MV[1], "%d mV" % mv)
        seated = hw.seat.seated()
        _check(results, "seated", seated, "plunger seated" if seated else "plunger not seated")
        _check(results, "force", *_load_cell(hw))
        _check(results, "motor", *_motor(hw, board.STEPS_PER_UNIT))
        _check(results, "buzzer", *_buzzer(hw))
        _check(results, "display", *_display(hw))
        _check(results, "buttons", *_buttons(hw, press_wait_ms))
    finally:
        hw.deinit()
    failed = [name for name, ok in results if not ok]
    print("SELFTEST PASS" if not failed else "SELFTEST FAIL: " + " ".join(failed))
    return not failed


if __name__ == "__main__":
    main()
