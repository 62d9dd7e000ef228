"""ESP32 DevKit (ESP32-WROOM-32) bench rig: wiring and mechanism constants.

Nothing else in the tree holds a pin number; drivers are handed these. The pins avoid the
strapping pins (0, 2, 5, 12, 15) and the flash pins (6..11); 34..39 are inputs only, with no
internal pull-up, so the fault line and the seated switch there need external pull-ups.
Wiring table, bill of materials and first flash: docs/hardware.md.

Mechanism: the same as the Pico rig (boards/pico.py): T8 screw with a 2 mm lead, 200-step
motor at 1/8 microstepping, BD 1 mL syringe (4.78 mm bore): 446 steps per unit.
"""

from pump.compat import const

BOARD = "esp32"
MPY_ARCH = "xtensawin"  # mpy-cross -march for the ESP32's Xtensa LX6 (windowed ABI)

# ------------------------------------------------------------------ mechanism
LEAD_UM = const(2000)
FULL_STEPS = const(200)
MICROSTEPS = const(8)
BORE_UM = const(4780)
STEPS_PER_UNIT = const(446)  # = mechanism.steps_per_unit(LEAD_UM, FULL_STEPS, MICROSTEPS, BORE_UM)
BOLUS_MU_PER_MIN = const(2000)
STEP_HZ = const(400)
COMPLIANCE_NL_PER_MBAR = const(30)

# ------------------------------------------------------------------ stepper driver
# STEP pulses come from the RMT peripheral, which counts them in hardware.
PIN_STEP = const(25)
PIN_DIR = const(26)
PIN_ENABLE = const(27)  # active low
PIN_FAULT = const(34)  # input only: 10k pull-up to 3.3 V on the board
FAULT_ACTIVE_LOW = True
FAULT_PULL_UP = False  # GPIO 34-39 have no internal pulls: the 10k on the board
RMT_CHANNEL = const(0)

# ------------------------------------------------------------------ plunger switch
PIN_SEATED = const(35)  # input only: 10k pull-up; the switch closes to ground when seated
SEAT_PULL_UP = False

# ------------------------------------------------------------------ buttons (to ground)
PIN_UP = const(32)
PIN_DOWN = const(33)
PIN_OK = const(13)
PIN_BACK = const(14)

# ------------------------------------------------------------------ display
I2C_ID = const(0)
PIN_SDA = const(21)
PIN_SCL = const(22)
I2C_FREQ = const(400000)
OLED_ADDR = const(0x3C)

# ------------------------------------------------------------------ buzzer
PIN_BUZZER = const(23)  # LEDC PWM
BUZZER_HZ = const(2700)

# ------------------------------------------------------------------ battery
PIN_BATTERY = const(36)  # ADC1 channel 0 (works with Wi-Fi on), 100k/100k divider
BATTERY_DIVIDER_X1000 = const(2000)

# ------------------------------------------------------------------ plunger force
PIN_HX711_DATA = const(4)
PIN_HX711_CLOCK = const(16)
HX711_COUNTS_PER_N = const(214000)  # as boards/pico.py: calibrate each cell

# ------------------------------------------------------------------ watchdog
WDT_MS = const(5000)  # no feed for 5 s resets the board (the RP2040 allows at most 8.3 s)

# ------------------------------------------------------------------ storage
FLASH_ROOT = "/"  # LittleFS on the 4 MB flash's vfs partition
