"""What every STEP/DIR motor driver shares (the core's hw.motor): direction, enable and fault
lines, and the books of pulses made forward and back.

A chip's driver (stepper_rp2.py, stepper_esp32.py) supplies three things: _launch(steps)
starts that many pulses in hardware, _halt() stops them at once, and _pulses() says how many
pulses the current move has made, read from the hardware. Everything else is here: a move
in progress is always halted before it is booked, so no pulse falls between the reading and
the stop.
"""


class Stepper:
    MAX_MOVE = 0x7FFFFFFF  # pulses in one move

    def __init__(self, direction, enable, fault, fault_active_low=True):
        self._dir = direction
        self._enable = enable
        self._fault = fault
        self._fault_level = 0 if fault_active_low else 1
        self._done = 0  # forward pulses of the moves that are over
        self._back = 0  # reverse pulses, all moves
        self._asked = 0  # pulses the current move asked for; 0 when none
        self._forward = True
        enable.value(1)  # outputs off until a move

    # the chip's part
    def _launch(self, steps):
        raise NotImplementedError

    def _halt(self):
        raise NotImplementedError

    def _pulses(self):
        raise NotImplementedError

    def poll(self):
        """Keep a move going where the hardware needs feeding (the shell calls it often)."""

    # the books
    def _made(self):
        if not self._asked:
            return 0
        made = self._pulses()
        return made if made < self._asked else self._asked

    def _start(self, steps, forward):
        if not 0 < steps <= self.MAX_MOVE:
            raise ValueError("a move is 1..%d pulses" % self.MAX_MOVE)
        self._finish()
        self._forward = forward
        self._dir.value(1 if forward else 0)
        self._enable.value(0)
        self._asked = steps
        self._launch(steps)

    def _finish(self):
        """Halt the current move and book the pulses it made."""
        if self._asked:
            self._halt()
            made = self._made()
            if self._forward:
                self._done += made
            else:
                self._back += made
            self._asked = 0

    def move(self, steps):
        self._start(steps, True)

    def retract(self, steps):
        """Back the plunger off `steps` pulses (after stopping any move)."""
        self._start(steps, False)

    def busy(self):
        self.poll()
        return bool(self._asked) and self._made() < self._asked

    def steps_done(self):
        self.poll()
        return self._done + (self._made() if self._forward else 0)

    def steps_back(self):
        return self._back + (0 if self._forward else self._made())

    def stop(self):
        self._enable.value(1)
        self._finish()

    def fault_active(self):
        return self._fault.value() == self._fault_level

    def deinit(self):
        self.stop()
