"""Stands in for MicroPython's machine module in the unix port: the virtual bench rig behind
the board's pins, in simulated time, so the whole firmware (firmware/main.py and everything
it imports, from the board's .mpy build) runs as on a Pico.

setup(header, board) wires the rig to the board's pin numbers (boards/<board>.py) and starts
the clock at the scenario's time. What is behind the pins:

  STEP/DIR/ENABLE/FAULT  the mechanism: the PIO's pulses (rp2.py here) move the plunger
                         while ENABLE is low, the driver is not in fault and the plunger is
                         not jammed; FAULT reads low while the driver is in fault
  HX711 DATA/CLOCK       an HX711 converting 10 times a second the plunger force of the line
                         model (host_tests/linemodel.py), shifted out bit by bit
  SEATED, buttons        switches to ground on pulled-up inputs; a button's falling edge
                         calls its pin interrupt
  battery ADC            the cell's voltage through the board's divider
  buzzer PWM             its duty; `broken` stops it reading back (the self-test fault)
  I2C                    an SSD1306 at the board's address, keeping the last frame it got
  RTC, WDT               the clock's date and time; a watchdog that raises WatchdogReset
                         once it has gone unfed longer than its timeout

Fault injection is the CPython rig's (host_tests/rig.py): occlusion, motor fault, stall,
unseat, battery, buzzer. Time moves only through advance() (the patched asyncio loop, the
time module here, idle()).
"""

from linemodel import Line
from pump.calendar import civil, day_number


class Clock:
    """Simulated time (host_tests/rig.py's VirtualClock, without what this run does not use)."""

    def __init__(self, start_ms):
        self.start_ms = start_ms
        self.elapsed_ms = 0

    def advance(self, ms):
        self.elapsed_ms += ms

    def unwrapped_ms(self):
        return self.start_ms + self.elapsed_ms


clock = None
mechanism = None
line = None
wdt = None
display = None
hx711 = None
buzzer_pwm = None
battery_mv = 4000
_nets = {}
_board = None
_timers = []  # (elapsed ms, callable): things a person does at a time, in time order


def at(ms, action):
    """Call action() once the simulated clock reaches ms (a press, a release)."""
    _timers.append((ms, action))
    _timers.sort(key=lambda t: t[0])


class WatchdogReset(BaseException):
    """The hardware watchdog reset the board."""


def advance(ms):
    if ms > 0:
        clock.advance(ms)
    while _timers and _timers[0][0] <= clock.elapsed_ms:
        _timers.pop(0)[1]()
    if wdt is not None and clock.elapsed_ms - wdt.fed_ms > wdt.timeout:
        raise WatchdogReset("watchdog: not fed for %d ms" % (clock.elapsed_ms - wdt.fed_ms))


def idle():
    advance(1)


def disable_irq():
    return 0


def enable_irq(state=0):
    pass


class _Net:
    """The wire on one pin: a level, what drives it, what it drives."""

    def __init__(self, level=1):
        self.level = level
        self.reader = None  # a device driving the wire: called for its level
        self.writer = None  # a device the pin drives: called with each level written
        self.irq = None
        self.pin = None

    def read(self):
        return self.reader() if self.reader else self.level

    def write(self, v):
        self.level = v
        if self.writer:
            self.writer(v)

    def drive(self, level):
        """A switch or the harness sets the level; a falling edge calls the interrupt."""
        falling = self.level and not level
        self.level = level
        if falling and self.irq:
            self.irq(self.pin)


def net(number):
    n = _nets.get(number)
    if n is None:
        n = _nets[number] = _Net()
    return n


class Pin:
    IN = 0
    OUT = 1
    PULL_UP = 1
    IRQ_FALLING = 4
    IRQ_RISING = 8

    def __init__(self, number, mode=-1, pull=-1, value=None):
        self.number = number
        self._net = net(number)
        self._net.pin = self
        if value is not None:
            self._net.write(value)

    def value(self, v=None):
        if v is None:
            return self._net.read()
        self._net.write(1 if v else 0)

    def irq(self, handler=None, trigger=IRQ_FALLING):
        self._net.irq = handler


class Mechanism:
    """The plunger: books the PIO's pulses as forward or back travel while they move it."""

    def __init__(self):
        self.sm = None
        self.fwd = 0
        self.back = 0
        self.jammed = False
        self.fault = False
        self._seen = 0
        self._forward = True
        self._live = False

    def _catch_up(self):
        made = self.sm.made() if self.sm else 0
        new = made - self._seen
        if new > 0:
            self._seen = made
            if self._live:
                if self._forward:
                    self.fwd += new
                else:
                    self.back += new

    def _moves(self):
        return not self.jammed and not self.fault and net(_board.PIN_ENABLE).level == 0

    def start_move(self):
        self._catch_up()
        self._seen = 0
        self._forward = net(_board.PIN_DIR).level == 1
        self._live = self._moves()

    def book(self):
        self._catch_up()

    def change(self):
        """Book what moved so far: the conditions change from now on."""
        self._catch_up()
        self._live = self._moves()

    def steps_done(self):
        self._catch_up()
        return self.fwd

    def steps_back(self):
        self._catch_up()
        return self.back


class _Hx711:
    """Converts 10 times a second; a read shifts out 24 bits on CLOCK's rising edges."""

    def __init__(self, data, clk, counts_per_n, offset=83000):
        data.reader = self._data
        clk.writer = self._clock
        self._counts_per_mn = counts_per_n // 1000
        self._offset = offset  # the empty cell's reading, as a real one has
        self._value = 0
        self._bit = 0
        self._i = 0
        self._ready_ms = 0
        self.reads = 0

    def _data(self):
        if self._i == 0:
            return 0 if clock.elapsed_ms >= self._ready_ms else 1
        return self._bit

    def _clock(self, level):
        if not level:
            return
        if self._i == 0:
            self._value = (self._offset + line.force_mn() * self._counts_per_mn) & 0xFFFFFF
        if self._i < 24:
            self._bit = (self._value >> (23 - self._i)) & 1
        self._i += 1
        if self._i == 25:
            self._i = 0
            self._ready_ms = clock.elapsed_ms + 100
            self.reads += 1


class PWM:
    def __init__(self, pin, freq=0, duty_u16=0):
        global buzzer_pwm
        self.hz = freq
        self.duty = duty_u16
        self.broken = False
        self.tones = 0  # times the tone came on
        self.on_ms = 0  # simulated ms it has sounded, up to the last change
        self._since = 0
        buzzer_pwm = self

    def freq(self, hz=None):
        if hz is None:
            return self.hz
        self.hz = hz

    def duty_u16(self, d=None):
        if d is None:
            return 0 if self.broken else self.duty
        now = clock.elapsed_ms
        if self.duty:
            self.on_ms += now - self._since
        elif d:
            self.tones += 1
        self._since = now
        self.duty = d

    def deinit(self):
        self.duty_u16(0)


class ADC:
    def __init__(self, pin):
        self.number = pin.number if hasattr(pin, "number") else pin

    def read_u16(self):
        pin_mv = battery_mv * 1000 // _board.BATTERY_DIVIDER_X1000
        return min(65535, pin_mv * 65535 // 3300)


class _Ssd1306:
    def __init__(self, addr):
        self.addr = addr
        self.on = False
        self.frame = bytearray(1024)
        self.frames = 0
        self.fail = False  # every transfer fails with EIO, as a loose cable does
        self.crash_at_ms = -1  # from then on a transfer raises RuntimeError: a firmware bug

    def transfer(self, addr, data, is_frame):
        if self.crash_at_ms >= 0 and clock.elapsed_ms >= self.crash_at_ms:
            raise RuntimeError("display transfer failed in an unexpected way")
        if addr != self.addr:
            raise OSError(19)  # ENODEV: nothing answers at that address
        if self.fail:
            raise OSError(5)  # EIO
        if is_frame:
            self.frame[:] = data
            self.frames += 1
        elif data[0] == 0 and len(data) == 2 and data[1] in (0xAE, 0xAF):
            self.on = data[1] == 0xAF


class I2C:
    def __init__(self, bus, sda=None, scl=None, freq=400000):
        self.bus = bus

    def writeto(self, addr, buf):
        display.transfer(addr, buf, False)
        return len(buf)

    def writevto(self, addr, bufs):
        head, data = bufs
        display.transfer(addr, data if head == b"\x40" else head, head == b"\x40")
        return True


class RTC:
    def datetime(self, dt=None):
        global _rtc_base_s
        now_s = _rtc_base_s + clock.elapsed_ms // 1000
        if dt is None:
            y, mo, d = civil(now_s // 86400)
            s = now_s % 86400
            return (y, mo, d, (now_s // 86400 + 5) % 7, s // 3600, s // 60 % 60, s % 60, 0)
        y, mo, d, _, h, mi, s, _ = dt
        _rtc_base_s = day_number(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - clock.elapsed_ms // 1000


_rtc_base_s = 0


class WDT:
    def __init__(self, id=0, timeout=5000):
        global wdt
        self.timeout = timeout
        self.fed_ms = clock.elapsed_ms
        self.feeds = 0
        wdt = self

    def feed(self):
        self.fed_ms = clock.elapsed_ms
        self.feeds += 1


def setup(header, board):
    """Wire the rig to `board`'s pins and start the clock at the plan's time."""
    global clock, mechanism, line, display, hx711, _board, _rtc_base_s
    _board = board
    clock = Clock(header["ticks_start_ms"])
    _rtc_base_s = header["day"] * 86400 + header["tod_ms"] // 1000
    mechanism = Mechanism()
    line = Line(clock, mechanism, board.STEPS_PER_UNIT, board.BORE_UM)
    display = _Ssd1306(board.OLED_ADDR)
    net(board.PIN_SEATED).level = 0  # seated: the switch closes to ground
    net(board.PIN_FAULT).level = 1 if board.FAULT_ACTIVE_LOW else 0  # no fault
    hx711 = _Hx711(net(board.PIN_HX711_DATA), net(board.PIN_HX711_CLOCK), board.HX711_COUNTS_PER_N)


def inject(kind, mv=None):
    """A scenario fault (tools/scenario.py FAULTS), on the rig; False if this rig has no such fault."""
    global battery_mv
    fault_level = 0 if _board.FAULT_ACTIVE_LOW else 1
    if kind == "occlusion":
        line.block()
    elif kind == "clear_occlusion":
        line.clear()
    elif kind == "motor_fault" or kind == "clear_motor_fault":
        mechanism.change()
        mechanism.fault = kind == "motor_fault"
        net(_board.PIN_FAULT).level = fault_level if mechanism.fault else 1 - fault_level
        mechanism.change()
    elif kind == "stall" or kind == "unstall":
        mechanism.change()
        mechanism.jammed = kind == "stall"
        mechanism.change()
    elif kind == "unseat" or kind == "seat":
        net(_board.PIN_SEATED).level = 0 if kind == "seat" else 1
    elif kind == "battery":
        battery_mv = mv
    elif kind == "buzzer_fault" or kind == "buzzer_ok":
        buzzer_pwm.broken = kind == "buzzer_fault"
    else:
        return False
    return True
