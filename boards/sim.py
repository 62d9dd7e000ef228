"""The virtual rig: mechanism constants of the simulated syringe pump.

An M3 lead screw (0.5 mm a turn), a 200-step motor at full steps and a syringe barrel of
5.046 mm bore: pump/mechanism.py gives 10 mm^3 x 200 / (0.5 mm x 20.0 mm^2) = 200 steps
per unit, 5 mU a step (docs/mechanism.md).
"""

from pump.compat import const

LEAD_UM = const(500)
FULL_STEPS = const(200)
MICROSTEPS = const(1)
BORE_UM = const(5046)

STEPS_PER_UNIT = const(200)  # = mechanism.steps_per_unit(LEAD_UM, FULL_STEPS, MICROSTEPS, BORE_UM)
BOLUS_MU_PER_MIN = const(2000)  # 2 U/min delivery speed for boluses and priming
STEP_HZ = const(400)  # pulse rate the driver runs the motor at
# the fluid path: 1 mL syringe and infusion-set tubing, 30 uL/bar (docs/occlusion.md)
COMPLIANCE_NL_PER_MBAR = const(30)
