"""Raspberry Pi Pico (RP2040) bench rig: wiring and mechanism constants.

Nothing else in the tree holds a pin number; drivers are handed these. Wiring table, bill of
materials and first flash: docs/hardware.md.

Mechanism: a T8 lead screw with a 2 mm lead (single start) on a 200-step NEMA 17, driven at
1/8 microstepping, pushing the plunger of a BD 1 mL syringe (4.78 mm bore):
10 mm^3 x 200 x 8 / (2 mm x pi x 4.78^2 / 4 mm^2) = 445.8 -> 446 steps per unit, 2.24 mU a
step (pump/mechanism.py; a test checks the figure).
"""

from pump.compat import const

BOARD = "pico"
MPY_ARCH = "armv6m"  # mpy-cross -march for the RP2040's Cortex-M0+

# ------------------------------------------------------------------ mechanism
LEAD_UM = const(2000)
FULL_STEPS = const(200)
MICROSTEPS = const(8)
BORE_UM = const(4780)
STEPS_PER_UNIT = const(446)  # = mechanism.steps_per_unit(LEAD_UM, FULL_STEPS, MICROSTEPS, BORE_UM)
BOLUS_MU_PER_MIN = const(2000)  # 2 U/min for boluses and priming: 892 steps a minute
STEP_HZ = const(400)  # pulse rate of every move
COMPLIANCE_NL_PER_MBAR = const(30)  # 1 mL syringe and infusion-set tubing (docs/occlusion.md)

# ------------------------------------------------------------------ stepper driver
# A4988 / DRV8825 / TMC2209 in step/dir mode. STEP pulses come from a PIO state machine.
PIN_STEP = const(2)
PIN_DIR = const(3)
PIN_ENABLE = const(4)  # active low: high disables the driver's outputs
PIN_FAULT = const(5)  # DRV8825 nFAULT / TMC2209 DIAG: low (DRV8825) = fault; pulled up
FAULT_ACTIVE_LOW = True
FAULT_PULL_UP = True  # the RP2040's internal pull-up
PIO_SM = const(0)  # state machine 0 of PIO block 0 generates and counts the pulses

# ------------------------------------------------------------------ plunger switch
PIN_SEATED = const(6)  # microswitch closed (to ground) while the plunger carriage is seated
SEAT_PULL_UP = True

# ------------------------------------------------------------------ buttons (to ground)
PIN_UP = const(10)
PIN_DOWN = const(11)
PIN_OK = const(12)
PIN_BACK = const(13)

# ------------------------------------------------------------------ display
I2C_ID = const(0)
PIN_SDA = const(8)
PIN_SCL = const(9)
I2C_FREQ = const(400000)
OLED_ADDR = const(0x3C)  # SSD1306 128x64

# ------------------------------------------------------------------ buzzer
PIN_BUZZER = const(15)  # a passive piezo through a transistor, driven by PWM
BUZZER_HZ = const(2700)  # the piezo's resonance

# ------------------------------------------------------------------ battery
PIN_BATTERY = const(26)  # ADC0, through a 100k/100k divider from the battery
BATTERY_DIVIDER_X1000 = const(2000)  # battery mV = pin mV x 2

# ------------------------------------------------------------------ plunger force
# HX711 24-bit bridge ADC on a 1 kg bar load cell under the plunger push plate
PIN_HX711_DATA = const(20)
PIN_HX711_CLOCK = const(21)
# a 1 mV/V cell at 5 V excitation, gain 128: 5 mV of the +/-20 mV range per 9.81 N is
# 2**23 x 5 / 20 / 9.81 = 213,800 counts per newton; calibrate each cell (docs/hardware.md)
HX711_COUNTS_PER_N = const(214000)

# ------------------------------------------------------------------ watchdog
WDT_MS = const(5000)  # no feed for 5 s resets the board (the RP2040 allows at most 8.3 s)

# ------------------------------------------------------------------ storage
FLASH_ROOT = "/"  # LittleFS on the Pico's 2 MB flash (1.4 MB free for files)
