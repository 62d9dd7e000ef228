"""Motor steps per unit of insulin, from the rig's mechanism.

U-100 insulin holds 1 U in 10 uL = 10 mm^3. A lead screw advances the plunger `lead` per
turn; the motor makes full_steps x microsteps steps a turn; the syringe barrel has inner
diameter `bore`, so its cross-section is pi x bore^2 / 4. Then

    steps_per_unit = 10 mm^3 x full_steps x microsteps / (lead x pi x bore^2 / 4)

computed here in integers (micrometres, pi as 355/113, good to 1e-7) and rounded to the
nearest step. Board files state the calibrated figure; tests check it against this.
"""


def steps_per_unit(lead_um, full_steps, microsteps, bore_um):
    # 10 mm^3 = 10e9 um^3; area = pi/4 x bore^2 um^2; travel per unit = 10e9 / area um
    num = 10000000000 * 4 * 113 * full_steps * microsteps
    den = lead_um * 355 * bore_um * bore_um
    return (2 * num + den) // (2 * den)
