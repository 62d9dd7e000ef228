"""The board drivers that need no special hardware block, on fake pins, ADC and PWM: battery,
seat switch, buzzer, buttons and the HX711 load-cell ADC."""

import pytest

from hal.battery import Battery
from hal.buttons import Buttons
from hal.buzzer import Buzzer
from hal.hx711 import Hx711
from hal.seat import Seat
from pump.alarms import burst


class Adc:
    def __init__(self, value):
        self.value = value

    def read_u16(self):
        return self.value


class FakePin:
    def __init__(self, value=1):
        self.level = value
        self.writes = []

    def value(self, v=None):
        if v is None:
            return self.level
        self.level = v
        self.writes.append(v)


class Pwm:
    def __init__(self, answers=True):
        self.hz = None
        self.duty = None
        self.log = []
        self.answers = answers
        self.closed = False

    def freq(self, hz):
        self.hz = hz

    def duty_u16(self, d=None):
        if d is None:
            return self.duty if self.answers else 0
        self.duty = d
        self.log.append(d)

    def deinit(self):
        self.closed = True


class Clock:
    def __init__(self):
        self.ms = 1000

    def __call__(self):
        return self.ms


def test_battery_reads_the_divided_voltage_in_mv():
    # 2.1 V at the pin (a 4.2 V cell through 2:1): 2100 / 3300 of full scale
    b = Battery(Adc(2100 * 65535 // 3300), 2000)
    assert 4196 <= b.mv() <= 4200
    assert Battery(Adc(0), 2000).mv() == 0 and Battery(Adc(65535), 2000).mv() == 6600


def test_seat_switch_is_debounced_and_active_low():
    pin = FakePin(0)
    seat = Seat(pin)
    assert seat.seated()
    pin.level = 1  # one bounce open
    assert seat.seated()
    pin.level = 0
    assert seat.seated()
    pin.level = 1
    seat.seated()
    assert not seat.seated()  # open for two readings in a row: unseated


def test_buzzer_plays_each_priority_burst_with_its_timing():
    clock = Clock()
    pwm = Pwm()
    buzzer = Buzzer(pwm, 2700, clock)
    assert pwm.hz == 2700 and pwm.duty == 0
    pattern, _ = burst("high")  # 3 pulses, a pause, 2 more
    buzzer.play(pattern)
    edges = [(0, pwm.duty)]
    start = clock.ms
    for _ in range(200):
        clock.ms += 10
        before = pwm.duty
        buzzer.tick()
        if pwm.duty != before:
            edges.append((clock.ms - start, pwm.duty))
    on = [t for t, d in edges if d]
    assert len(on) == 5 and not buzzer.playing()
    assert [t for t, _ in edges] == [0, 100, 200, 300, 400, 500, 900, 1000, 1100, 1200]


def test_a_late_tick_never_lengthens_the_burst():
    clock = Clock()
    pwm = Pwm()
    buzzer = Buzzer(pwm, 2700, clock)
    buzzer.play(burst("medium")[0])  # 3 x 200 ms with 200 ms gaps: 1 s
    clock.ms += 2000
    buzzer.tick()
    assert pwm.duty == 0 and not buzzer.playing()


def test_buzzer_self_test_and_stop():
    clock = Clock()
    assert Buzzer(Pwm(), 2700, clock).self_test()
    assert not Buzzer(Pwm(answers=False), 2700, clock).self_test()
    pwm = Pwm()
    b = Buzzer(pwm, 2700, clock)
    b.play(b"\x14\x14\x14")
    b.stop()
    assert pwm.duty == 0 and not b.playing()
    b.deinit()
    assert pwm.closed


def press(buttons, pins, name, ms, step=10, t0=0):
    """Hold `name` for ms, then release; the events seen, with their times."""
    seen = []
    t = t0
    pins[name].level = 0
    while t < t0 + ms:
        seen += [(t, e) for e in buttons.poll(t)]
        t += step
    pins[name].level = 1
    for _ in range(5):
        seen += [(t, e) for e in buttons.poll(t)]
        t += step
    return seen, t


@pytest.fixture
def keys():
    pins = {name: FakePin(1) for name in ("UP", "DOWN", "OK", "BACK")}
    buttons = Buttons(pins)
    buttons.poll(0)
    return pins, buttons


def test_a_short_press_is_one_short_event_on_release(keys):
    pins, buttons = keys
    seen, _ = press(buttons, pins, "OK", 200, t0=10)
    assert [e for _, e in seen] == [("OK", "down"), ("OK", "short")]


def test_a_held_button_gives_one_long_then_repeats(keys):
    pins, buttons = keys
    seen, _ = press(buttons, pins, "UP", 1300, t0=10)
    kinds = [e for _, e in seen]
    assert kinds.pop(0) == ("UP", "down")
    assert kinds[0] == ("UP", "long") and set(kinds[1:]) == {("UP", "repeat")}
    assert 2 <= len(kinds) - 1 <= 4  # 1300 ms held: long at 800, repeats every 150 ms
    assert ("UP", "short") not in kinds


def test_bounces_and_glitches_make_no_press(keys):
    pins, buttons = keys
    t = 10
    for level in (0, 1, 0, 1, 0, 1):  # 10 ms bounces
        pins["OK"].level = level
        assert buttons.poll(t) == []
        t += 10
    pins["BACK"].level = 0  # a 15 ms glitch: shorter than the debounce
    buttons.poll(t)
    buttons.poll(t + 15)
    pins["BACK"].level = 1
    for k in range(5):
        assert buttons.poll(t + 20 + 10 * k) == []


def test_a_button_held_at_start_up_is_not_a_press(keys):
    """Held since power-on (stuck, or leant on): no down, long, repeat or short, however
    long it is held; once released, its next press is an ordinary one."""
    pins = {name: FakePin(1) for name in ("UP", "DOWN", "OK", "BACK")}
    pins["OK"].level = 0
    buttons = Buttons(pins)
    buttons.poll(0)
    assert buttons.pressed("OK")
    events = []
    for t in range(10, 3000, 10):
        events += buttons.poll(t)
    pins["OK"].level = 1
    for t in range(3000, 3200, 10):
        events += buttons.poll(t)
    assert events == [] and not buttons.pressed("OK")
    seen, _ = press(buttons, pins, "OK", 200, t0=3200)
    assert [e for _, e in seen] == [("OK", "down"), ("OK", "short")]


class Hx711Chip:
    """The HX711's side of its two wires: DATA low when a conversion is ready; on each CLOCK
    rising edge the next bit (most significant first) appears on DATA; the 25th edge ends
    the read, and DATA goes high until the next conversion."""

    def __init__(self):
        self.samples = []
        self.bits = None  # the conversion being read out
        self.n = 0  # rising edges of this read so far
        self.clock_level = 0
        self.pulses = 0

    def data(self):
        if self.bits is not None:
            return self.bits[self.n - 1] if 1 <= self.n <= 24 else 1
        return 0 if self.samples else 1

    def clock(self, v):
        if v == 1 and self.clock_level == 0:
            self.pulses += 1
            if self.bits is None:
                if self.samples:
                    value = self.samples.pop(0) & 0xFFFFFF
                    self.bits = [(value >> (23 - i)) & 1 for i in range(24)]
                    self.n = 1
            else:
                self.n += 1
                if self.n > 24:
                    self.bits = None
                    self.n = 0
        self.clock_level = v


class ChipData:
    def __init__(self, chip):
        self.chip = chip

    def value(self):
        return self.chip.data()


class ChipClock:
    def __init__(self, chip):
        self.chip = chip

    def value(self, v=None):
        if v is not None:
            self.chip.clock(v)
        return self.chip.clock_level


def test_hx711_reads_signed_counts_tares_and_gives_millinewtons():
    chip = Hx711Chip()
    irq = []
    cell = Hx711(
        ChipData(chip), ChipClock(chip), 214000, lambda: irq.append("off"), lambda s: irq.append("on")
    )
    chip.samples = [1000, 1002, 998, 1000]
    cell.tare(samples=4)
    assert cell.force_mn() == 0  # nothing ready: the last reading
    chip.samples = [1000 + 214 * 160]  # 160 mN above the tare
    assert cell.force_mn() == 160
    chip.samples = [-5]
    assert cell.read_raw() == -5  # two's complement
    assert irq[:2] == ["off", "on"] and chip.pulses == 25 * 6
    cell.deinit()
    assert chip.clock_level == 1  # powered down


class I2c:
    """A bus with an SSD1306 on it: records commands and frames; can be made to fail."""

    def __init__(self, addr=0x3C):
        self.addr = addr
        self.commands = []
        self.frames = []
        self.fail = 0

    def _check(self, addr):
        if self.fail:
            self.fail -= 1
            raise OSError(19, "ENODEV")
        if addr != self.addr:
            raise OSError(19, "ENODEV")

    def writeto(self, addr, data):
        self._check(addr)
        assert data[0] == 0x00 and len(data) == 2  # one command byte at a time
        self.commands.append(data[1])

    def writevto(self, addr, parts):
        self._check(addr)
        assert parts[0] == b"\x40"
        self.frames.append(bytes(parts[1]))


def test_the_oled_is_set_up_and_shows_whole_frames():
    from hal.ssd1306 import BUFFER_BYTES, Ssd1306

    bus = I2c()
    oled = Ssd1306(bus)
    assert bus.commands[0] == 0xAE and bus.commands[-1] == 0xAF and 0x8D in bus.commands
    frame = bytearray(BUFFER_BYTES)
    frame[0] = 0xFF
    assert oled.show(frame) and bus.frames == [bytes(frame)]
    assert bus.commands[-6:] == [0x21, 0, 127, 0x22, 0, 7]
    assert oled.errors == 0


def test_an_i2c_error_is_reported_never_raised_and_the_panel_recovers():
    from hal.ssd1306 import BUFFER_BYTES, Ssd1306

    bus = I2c()
    bus.fail = 2  # no panel at start-up, nor at the first frame
    oled = Ssd1306(bus)
    assert oled.errors == 1 and oled.last_error == 19
    frame = bytes(BUFFER_BYTES)
    assert not oled.show(frame)  # still failing: counted, not raised
    assert oled.show(frame) and oled.show(frame)  # the bus answers again: set up, then shown
    assert bus.commands.count(0xAE) >= 1 and len(bus.frames) == 2
    bus.fail = 1
    assert not oled.show(frame) and oled.errors == 3
    oled.deinit()


def stepper(clock, fault_level=1):
    import importlib
    import sys

    import fake_rp2

    fake_rp2.install(clock)
    sys.modules.pop("hal.stepper_rp2", None)
    mod = importlib.import_module("hal.stepper_rp2")
    enable, direction, fault = FakePin(1), FakePin(0), FakePin(fault_level)
    motor = mod.StepperPio(0, FakePin(0), direction, enable, fault, 400)
    return motor, enable, direction, fault


def test_the_pio_stepper_counts_the_pulses_the_state_machine_made():
    clock = Clock()
    motor, enable, direction, _ = stepper(clock)
    assert enable.level == 1 and motor.steps_done() == 0
    motor.move(100)
    assert enable.level == 0 and direction.level == 1 and motor.busy()
    clock.ms += 100  # 400 Hz: 40 pulses
    assert motor.steps_done() == 40
    clock.ms += 1000
    assert motor.steps_done() == 100 and not motor.busy()
    motor.move(50)
    clock.ms += 50
    motor.stop()  # stopped after 20 pulses: exactly those count, now and later
    assert enable.level == 1 and motor.steps_done() == 120
    clock.ms += 1000
    assert motor.steps_done() == 120
    motor.retract(10)
    assert direction.level == 0
    clock.ms += 1000
    assert motor.steps_back() == 10 and motor.steps_done() == 120
    with pytest.raises(ValueError):
        motor.move(0)


def test_the_pio_stepper_reports_a_stall_and_the_fault_line():
    clock = Clock()
    motor, _, _, fault = stepper(clock)
    motor.move(100)
    motor._sm.stall_at = 30
    clock.ms += 1000
    assert motor.steps_done() == 30 and motor.busy()  # asked 100, made 30: the supervisor sees it
    assert not motor.fault_active()
    fault.level = 0  # DRV8825 nFAULT pulled low
    assert motor.fault_active()
    motor.deinit()


def rmt_stepper(clock):
    import importlib
    import sys

    import fake_esp32

    fake_esp32.install(clock)
    sys.modules.pop("hal.stepper_esp32", None)
    mod = importlib.import_module("hal.stepper_esp32")
    step, enable, direction, fault = FakePin(0), FakePin(1), FakePin(0), FakePin(1)
    motor = mod.StepperRmt(0, step, direction, enable, fault, 400)
    return motor, fake_esp32.LINES[id(step)], enable, direction


def run(motor, clock, ms):
    for _ in range(ms // 5):  # the delivery task polls every 5 ms
        clock.ms += 5
        motor.poll()


def test_the_rmt_stepper_sends_chunks_and_counts_with_the_pulse_counter():
    clock = Clock()
    motor, line, enable, direction = rmt_stepper(clock)
    motor.move(100)  # 4 chunks of at most 32 at 400 Hz: 250 ms
    assert enable.level == 0 and direction.level == 1
    run(motor, clock, 100)
    assert 38 <= motor.steps_done() <= 41
    run(motor, clock, 300)
    assert motor.steps_done() == 100 and not motor.busy()
    assert [n for _, n, _ in line.chunks] == [32, 32, 32, 4]
    motor.move(50)
    run(motor, clock, 50)
    made = motor.steps_done()
    motor.stop()
    assert enable.level == 1 and motor.steps_done() == made and 100 < made < 150
    run(motor, clock, 500)
    assert motor.steps_done() == made  # stopped: not one pulse more
    motor.retract(10)
    run(motor, clock, 100)
    assert direction.level == 0 and motor.steps_back() == 10 and motor.steps_done() == made
    with pytest.raises(ValueError):
        motor.move(40000)


def test_a_late_poll_slows_a_move_but_never_changes_its_count():
    clock = Clock()
    motor, line, _, _ = rmt_stepper(clock)
    motor.move(64)
    clock.ms += 500  # Python busy for half a second: only the first chunk went out
    assert motor.steps_done() == 32  # the next chunk goes out only now
    run(motor, clock, 300)
    assert motor.steps_done() == 64
    motor.move(20)
    line.stall_at = 6  # the plunger jams after 6 pulses of this move
    run(motor, clock, 200)
    assert motor.steps_done() == 70 and motor.busy()  # asked 20, made 6: the supervisor sees it
    motor.deinit()


def test_the_flash_driver_holds_the_history_and_the_settings_file(tmp_path):
    from hal.storage import Flash
    from pump import settings_store
    from pump.history import History
    from pump.settings import Settings, segments
    from pump.settings_user import settings_to_record

    flash = Flash(str(tmp_path))
    history = History(flash)
    history.open()
    seqs = [history.append(15, 820800000 + 300 * i, delivered_mu=80) for i in range(5)]
    s = Settings()
    s.profiles = {"flat": segments([(0, 1000)])}
    s.active_profile = "flat"
    record = settings_to_record(s)
    settings_store.save(flash, record)
    again = History(Flash(str(tmp_path) + "/"))  # a root given with its slash is the same
    again.open()
    assert [r.seq for r in again.records()] == seqs and again.next_seq == 6
    assert settings_store.load(flash) == settings_store.load(Flash(str(tmp_path)))
    assert sorted(flash.listdir()) == ["h_op_000000.bin", "settings.json"]
    assert flash.size("h_op_000000.bin") == 5 * 32 and flash.free_bytes() > 0
    flash.rename("settings.json", "old.json")
    flash.remove("old.json")
    assert "settings.json" not in list(flash.listdir())
    flash.deinit()


def test_the_clock_converts_rtc_dates_to_the_core_s_day_numbers_and_back():
    import datetime

    from hal.clock import Clock
    from pump.calendar import civil, day_number

    epoch = datetime.date(2000, 1, 1)
    for date in (
        datetime.date(2000, 1, 1),
        datetime.date(2000, 2, 29),
        datetime.date(2000, 3, 1),
        datetime.date(2026, 11, 22),
        datetime.date(2028, 12, 31),
        datetime.date(2099, 12, 31),
    ):
        n = (date - epoch).days
        assert day_number(date.year, date.month, date.day) == n
        assert civil(n) == (date.year, date.month, date.day)

    class Rtc:
        value = (2026, 3, 10, 1, 7, 30, 15, 0)

        def datetime(self, v=None):
            if v is None:
                return self.value
            self.value = v

    rtc = Rtc()
    clock = Clock(rtc)
    day, tod_ms = clock.now()
    assert day == (datetime.date(2026, 3, 10) - epoch).days and tod_ms == (7 * 3600 + 30 * 60 + 15) * 1000
    clock.set(day + 1, 23 * 3600000 + 59 * 60000)
    assert rtc.value == (2026, 3, 11, 2, 23, 59, 0, 0)  # 11 March 2026 is a Wednesday (2)


def test_the_watchdog_is_fed_only_when_every_task_has_checked_in():
    from hal.watchdog import Watchdog

    class Wdt:
        fed = 0

        def feed(self):
            self.fed += 1

    wdt = Wdt()
    dog = Watchdog(wdt, ("delivery", "buttons", "display"))
    dog.alive("delivery")
    dog.alive("buttons")
    assert not dog.feed() and wdt.fed == 0  # the display task is stuck
    dog.alive("display")
    assert dog.feed() and wdt.fed == 1
    assert not dog.feed()  # nobody checked in again
    dog.deinit()
