"""The virtual rig: mechanism constants of the simulated syringe pump.

Steps per unit follow from the mechanism (docs/mechanism.md):
    steps_per_unit = 10 mm^3 * FULL_STEPS * MICROSTEPS / (LEAD_MM * pi * BORE_MM^2 / 4)
U-100 insulin holds 1 U in 10 uL = 10 mm^3. This rig: an M3 lead screw (0.5 mm per turn),
a 200-step motor at full steps, and a syringe barrel of 5.05 mm bore, which gives
10 * 200 / (0.5 * 20.03) = 199.7 steps per unit; the rig is calibrated to 200 (5 mU a step).
"""

from pump.compat import const

LEAD_UM = const(500)
FULL_STEPS = const(200)
MICROSTEPS = const(1)
BORE_UM = const(5046)

STEPS_PER_UNIT = const(200)
BOLUS_MU_PER_MIN = const(2000)  # 2 U/min delivery speed for boluses and priming
STEP_HZ = const(400)  # pulse rate the driver runs the motor at
