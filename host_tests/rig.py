"""The virtual rig: a clock with MicroPython ticks semantics and a fake stepper motor.

Runs on CPython and on the MicroPython unix port alike, so the scenario simulator gives the
same trace on both. Fault injection is part of the API: a stepper can stall (pulses stop
arriving) or report a driver fault.
"""

import os

from hal.storage import Flash
from pump.compat import TICKS_PERIOD


class VirtualClock:
    """Simulated monotonic time; ticks_ms() wraps at 2**30 ms like the RP2040 and ESP32."""

    def __init__(self, ticks_start_ms=0):
        if not 0 <= ticks_start_ms < TICKS_PERIOD:
            raise ValueError("ticks_start_ms: %d is outside 0..2**30-1" % ticks_start_ms)
        self._start = ticks_start_ms
        self.elapsed_ms = 0

    def advance(self, ms):
        if ms < 0:
            raise ValueError("a monotonic clock cannot go back")
        self.elapsed_ms += ms

    def ticks_ms(self):
        return (self._start + self.elapsed_ms) % TICKS_PERIOD


class FakeStepper:
    """Counts the pulses it makes, at step_hz, as simulated time passes.

    stall() jams the plunger (no pulse moves it any more) and set_fault(True) asserts the
    driver's fault line, which also stops the pulses: both leave steps_done() where it was.
    """

    def __init__(self, clock, step_hz):
        self._clock = clock
        self.step_hz = step_hz
        self._count = 0  # pulses made by moves before the current one
        self._pending = 0  # pulses the current move asked for
        self._start_ms = 0
        self._stall_at = None
        self._back = 0  # pulses made in reverse (backing off)
        self.fault = False
        self.moves = 0

    def steps_done(self):
        made = (self._clock.elapsed_ms - self._start_ms) * self.step_hz // 1000
        total = self._count + (made if made < self._pending else self._pending)
        if self._stall_at is not None and total > self._stall_at:
            return self._stall_at
        return total

    def busy(self):
        return self._stall_at is None and self.steps_done() < self._count + self._pending

    def move(self, steps):
        if steps <= 0:
            raise ValueError("move needs a positive step count")
        if self.busy():
            raise RuntimeError("move while the motor is still moving")
        self._count = self.steps_done()
        self._pending = steps
        self._start_ms = self._clock.elapsed_ms
        self.moves += 1

    def stop(self):
        self._count = self.steps_done()
        self._pending = 0

    def retract(self, steps):
        """Back the plunger off `steps` (a short move, made at once in this model)."""
        self.stop()
        self._back += steps

    def steps_back(self):
        return self._back

    def fault_active(self):
        """The driver's fault/diag line."""
        return self.fault

    def stall(self):
        """The plunger jams: no further pulse moves it from now on."""
        self._stall_at = self.steps_done()

    def unstall(self):
        self.stop()
        self._stall_at = None

    def set_fault(self, on):
        self.fault = on
        if on:
            self.stall()
        else:
            self.unstall()


class FakeBuzzer:
    """Counts the bursts it is asked to play; keeps every call too when record is True."""

    def __init__(self, clock, record=False):
        self._clock = clock
        self.broken = False  # a scenario fault: it no longer answers its self test
        self.plays = 0
        self.playing = None  # the last burst asked for, None once stopped
        self.calls = [] if record else None

    def play(self, pattern):
        self.plays += 1
        self.playing = pattern
        if self.calls is not None:
            self.calls.append((self._clock.elapsed_ms, pattern))

    def stop(self):
        self.playing = None
        if self.calls is not None:
            self.calls.append((self._clock.elapsed_ms, None))

    def self_test(self):
        """A board's buzzer driver checks its output (the PWM pin's read-back); True if good."""
        return not self.broken


class Hardware:
    """The virtual rig's hardware, as the core is handed it."""

    def __init__(self, clock, rig, bore_um, record_buzzer=False):
        from linemodel import Battery, Line, Seat

        self.motor = FakeStepper(clock, rig.step_hz)
        self.buzzer = FakeBuzzer(clock, record_buzzer)
        self.line = Line(clock, self.motor, rig.steps_per_unit, bore_um)
        self.battery = Battery()
        self.seat = Seat()


def run_until(pump, clock, end_ms, on_minute=None):
    """Advance simulated time to clock.elapsed_ms == end_ms, ticking the pump whenever it
    asks (pump.next_wake_ms) and at every whole minute, where on_minute(minute) is called."""
    while clock.elapsed_ms < end_ms:
        t = clock.elapsed_ms
        next_minute = (t // 60000 + 1) * 60000
        target = t + pump.next_wake_ms()
        if next_minute < target:
            target = next_minute
        if end_ms < target:
            target = end_ms
        clock.advance(target - t)
        pump.tick(clock.ticks_ms())
        if on_minute and target == next_minute:
            on_minute(target // 60000)


class DirFlash(Flash):
    """The board's flash (hal/storage.py) over a directory of the host, for long simulations.

    Data goes to the host's files, not the interpreter's heap, so a month of history fits a
    small MicroPython heap. `full` makes every write fail with ENOSPC, as a full LittleFS does;
    corrupt() flips a byte of a file, as a worn-out block might. The torn writes and failing
    blocks of a power cut are the business of host_tests/fakeflash.py, which the history and
    settings tests use.
    """

    full = False

    def __init__(self, path, fresh=True):
        super().__init__(path)
        self.bad = []  # files whose reads fail, as a block gone bad does (fail_reads)
        try:
            os.mkdir(path)
        except OSError:
            if fresh:
                for name in list(self.listdir()):
                    self.remove(name)

    def open(self, path, mode):
        if self.full and mode[0] in "wa":
            raise OSError(28, "no space left on the flash")  # ENOSPC
        if path in self.bad:
            raise OSError(5, "read error")  # EIO
        return super().open(path, mode)

    def fail_reads(self, path):
        """From now on every open of path fails with EIO."""
        if path not in self.bad:
            self.bad.append(path)

    def corrupt(self, path, offset):
        """Invert the byte at offset (from the end when negative) of a file."""
        with open(self._path(path), "r+b") as f:
            size = self.size(path)
            f.seek(offset % size)
            b = f.read(1)
            f.seek(offset % size)
            f.write(bytes([b[0] ^ 0xFF]))

    def wipe(self):
        for name in list(self.listdir()):
            self.remove(name)
        os.rmdir(self._root)
