"""A pump on the virtual rig for tests: build it from user-form settings, drive it in
simulated time, and read the three views that must agree (motor steps, core totals, events).
"""

import sim as board
from pump.core import Pump
from pump.engine import BASAL, BOLUS, PRIME
from pump.settings_user import rig_from_user, settings_from_user
from rig import Hardware, VirtualClock, run_until

FLAT_1U = {"basal_profiles": {"flat": [["00:00", 1.0]]}, "active_profile": "flat"}


class Sim:
    def __init__(self, settings=None, rig=None, reservoir_u=200, tod_min=0, ticks_start_ms=0):
        self.rig = rig_from_user(rig or {}, board)
        settings = dict(settings or FLAT_1U)
        settings.setdefault("auto_off_h", 0)  # tests that want auto-off ask for it
        self.settings = settings_from_user(settings, self.rig)
        self.clock = VirtualClock(ticks_start_ms)
        self.hw = Hardware(self.clock, self.rig, board.BORE_UM, record_buzzer=True)
        self.motor = self.hw.motor
        self.events = []
        self.doses = []
        self.alarms = []
        self.pump = Pump(
            self.settings,
            self.rig,
            self.hw,
            self._emit,
            self.clock.ticks_ms(),
            9500,
            tod_min * 60000,
            reservoir_u * 1000,
        )

    def _emit(self, code, fields):
        fields = dict(fields, t_ms=self.clock.elapsed_ms)
        if code == "dose":
            self.doses.append(fields)
        elif code == "alarm":
            self.alarms.append(fields)
        elif code != "operational":
            fields["code"] = code
            self.events.append(fields)

    def run_min(self, minutes, on_minute=None):
        """Run `minutes` more simulated minutes (fractions allowed)."""
        run_until(self.pump, self.clock, self.clock.elapsed_ms + int(minutes * 60000), on_minute)

    def codes(self):
        return [e["code"] for e in self.events]

    @property
    def basal_mu(self):
        return self.pump.delivered_mu(BASAL)

    @property
    def bolus_mu(self):
        return self.pump.delivered_mu(BOLUS)

    @property
    def prime_mu(self):
        return self.pump.delivered_mu(PRIME)

    @property
    def steps(self):
        return self.motor.steps_done()
