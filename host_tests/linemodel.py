"""The virtual rig's fluid path and sensors: line pressure, plunger force, battery, seat.

Pressure model (docs/occlusion.md): with the line open, pressure above ambient drains
through the cannula with time constant _TAU_MS; with it blocked, every step pushes
10000 / steps_per_unit nL into a closed system of compliance COMPLIANCE_NL_PER_MBAR, so
pressure rises by that volume over the compliance. The force sensor on the plunger reads
the stopper's friction plus pressure x bore area, plus noise from a deterministic generator
(the same numbers on CPython and MicroPython). Integers only: pressure in microbar.
"""

from pump.compat import const

# A 1 mL polypropylene syringe with 30 cm of infusion-set tubing: 30 uL/bar. Snijder et al.
# (Biomed Tech 2015) report 0.9-2.1 mL/bar for 50 mL syringes; scaled to 1 mL that is
# 18-42 uL/bar, and a commercial pump needing up to 3 U (30 uL) to reach its occlusion
# threshold (Paradigm 511 manual) is consistent with it.
COMPLIANCE_NL_PER_MBAR = 30
_TAU_MS = const(2000)  # open line: pressure halves in about 1.4 s through a 0.3 mm cannula
_FRICTION_MN = const(1500)  # the stopper's sliding friction on the force sensor
_NOISE_MN = const(10)  # +/- sensor noise (uniform)


class Line:
    """The syringe, tubing and cannula, watching the motor's pulses."""

    def __init__(self, clock, motor, steps_per_unit, bore_um, seed=12345):
        self._clock = clock
        self._motor = motor
        self._nl_per_step = 10000 // steps_per_unit
        # bore area in mm^2 x 1000: force mN = pressure mbar x area mm^2 / 10
        self._area_mm2_x1000 = 355 * bore_um * bore_um // (4 * 113 * 1000)
        self._pressure_ubar = 0
        self._seen_fwd = motor.steps_done()
        self._seen_back = motor.steps_back()
        self._t_ms = clock.elapsed_ms
        self._seed = seed
        self.blocked = False
        self.released_nl = 0  # volume that left the line when the last occlusion cleared
        self.pushed_blocked_nl = 0  # volume pushed against the blockage since it began

    def _update(self):
        fwd = self._motor.steps_done()
        back = self._motor.steps_back()
        pushed = (fwd - self._seen_fwd) - (back - self._seen_back)
        self._seen_fwd, self._seen_back = fwd, back
        dt = self._clock.elapsed_ms - self._t_ms
        self._t_ms = self._clock.elapsed_ms
        if self.blocked:
            self.pushed_blocked_nl += pushed * self._nl_per_step
            self._pressure_ubar += pushed * self._nl_per_step * 1000 // COMPLIANCE_NL_PER_MBAR
            if self._pressure_ubar < 0:
                self._pressure_ubar = 0  # backing off below ambient draws nothing back in
        else:
            # an open line drains: exact exponential decay stepped in whole milliseconds
            while dt > 0 and self._pressure_ubar:
                step = dt if dt < 500 else 500
                self._pressure_ubar -= self._pressure_ubar * step // _TAU_MS or self._pressure_ubar
                dt -= step

    def block(self):
        self._update()
        self.blocked = True
        self.pushed_blocked_nl = 0

    def clear(self):
        """The blockage gives way: the pressure stored in the line is delivered at once."""
        self._update()
        self.released_nl = self._pressure_ubar * COMPLIANCE_NL_PER_MBAR // 1000
        self._pressure_ubar = 0
        self.blocked = False

    def pressure_mbar(self):
        self._update()
        return self._pressure_ubar // 1000

    def force_mn(self):
        """What the plunger force sensor reads now, in millinewtons."""
        self._update()
        self._seed = (self._seed * 1103515245 + 12345) & 0x7FFFFFFF
        noise = self._seed % (2 * _NOISE_MN + 1) - _NOISE_MN
        return _FRICTION_MN + self._pressure_ubar * self._area_mm2_x1000 // 10000000 + noise


class Battery:
    """A cell whose voltage the test sets; read through the board's divider as millivolts."""

    def __init__(self, mv=4000):
        self.mv_now = mv

    def mv(self):
        return self.mv_now


class Seat:
    """The plunger-seated end switch."""

    def __init__(self, seated=True):
        self.is_seated = seated

    def seated(self):
        return self.is_seated
