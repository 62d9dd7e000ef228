"""The board's hardware, built from its wiring: every driver handed the pins and buses that
boards/<board>.py names (the module the board imports as `board`).

    hw = build(board, machine, sleep_ms)

`machine` is the board's (or, in the host's run of the whole firmware on the MicroPython unix
port, the stand-in of host_tests/upy/machine.py). The hardware watchdog is not started here:
once started it cannot be stopped, so the shell starts it only when it runs the pump.
"""

from hal.battery import Battery
from hal.buttons import Buttons
from hal.buzzer import Buzzer
from hal.clock import Clock
from hal.hx711 import Hx711
from hal.seat import Seat
from hal.ssd1306 import Ssd1306
from hal.storage import Flash
from pump.settings import Rig

BUTTONS = ("UP", "DOWN", "OK", "BACK")


class Hardware:
    """What the core is handed (motor, buzzer, line, battery, seat) and what the shell uses."""

    def __init__(self, board, machine, sleep_ms, ticks_ms):
        Pin = machine.Pin
        # the mechanism's constants, as the core takes them
        self.rig = Rig(
            board.STEPS_PER_UNIT,
            board.BOLUS_MU_PER_MIN,
            board.STEP_HZ,
            board.BORE_UM,
            board.COMPLIANCE_NL_PER_MBAR,
        )
        self.motor = _motor(board, Pin)
        self.buzzer = Buzzer(machine.PWM(Pin(board.PIN_BUZZER)), board.BUZZER_HZ, ticks_ms)
        self.line = Hx711(
            Pin(board.PIN_HX711_DATA, Pin.IN),
            Pin(board.PIN_HX711_CLOCK, Pin.OUT),
            board.HX711_COUNTS_PER_N,
            machine.disable_irq,
            machine.enable_irq,
        )
        self.battery = Battery(machine.ADC(Pin(board.PIN_BATTERY)), board.BATTERY_DIVIDER_X1000)
        self.seat = Seat(_input(Pin, board.PIN_SEATED, board.SEAT_PULL_UP))
        pins = {}
        for name in BUTTONS:
            pins[name] = Pin(getattr(board, "PIN_" + name), Pin.IN, Pin.PULL_UP)
        self.button_pins = pins
        self.buttons = Buttons(pins)
        i2c = machine.I2C(board.I2C_ID, sda=Pin(board.PIN_SDA), scl=Pin(board.PIN_SCL), freq=board.I2C_FREQ)
        self.display = Ssd1306(i2c, board.OLED_ADDR)
        self.flash = Flash(board.FLASH_ROOT)
        self.clock = Clock(machine.RTC())
        self.watchdog = None  # shell/app.py starts it
        # the load cell's zero, with the plunger at rest (the supervisor then tracks the
        # open-line force from there: pump/supervisor.py)
        self.line.tare(wait=lambda: sleep_ms(5))

    def deinit(self):
        for part in (self.motor, self.buzzer, self.line, self.buttons, self.display):
            part.deinit()


def _motor(board, Pin):
    step = Pin(board.PIN_STEP, Pin.OUT)
    args = (
        Pin(board.PIN_DIR, Pin.OUT),
        Pin(board.PIN_ENABLE, Pin.OUT),
        _input(Pin, board.PIN_FAULT, board.FAULT_PULL_UP),
        board.STEP_HZ,
        board.FAULT_ACTIVE_LOW,
    )
    if board.BOARD == "pico":
        from hal.stepper_rp2 import StepperPio

        return StepperPio(board.PIO_SM, step, *args)
    from hal.stepper_esp32 import StepperRmt

    return StepperRmt(board.RMT_CHANNEL, step, *args)


def _input(Pin, number, pull_up):
    return Pin(number, Pin.IN, Pin.PULL_UP) if pull_up else Pin(number, Pin.IN)
