"""The shell's asyncio tasks: the pump core (pump/) on the board's drivers (shell/rig.py).

    main()    # firmware/main.py: build the hardware, start the pump, run the tasks forever

Tasks. Each runs one short step and yields; the longest step of each is measured with
ticks_us (App.worst_us; docs/benchmarks.md has the figures):

  delivery  ticks the core when it asks (pump.next_wake_ms), at least once a second, and
            every 20 ms while the motor moves (the ESP32's RMT is fed in chunks, and the
            supervisor watches the plunger force while it pushes)
  buttons   sleeps until a button pin's falling edge (an interrupt), then polls every 20 ms
            until every button is up again: debounced short and long presses, repeats. The
            display task also looks at the pins once a second, so a press whose interrupt
            was missed is seen within a second
  display   the home screen (pump/home.py), redrawn every second while the screen is on:
            30 s after a key or a new alarm, and while an alarm is unacknowledged; then the
            panel is switched off. An I2C error is counted by the driver, never raised
  buzzer    sleeps until the alarm manager starts a burst, then plays its edges (10 ms)
  watchdog  feeds the hardware watchdog once a second, and only when delivery and display
            have both run since the last feed: one stuck task resets the board (S19)

Keys go to the interface (pump/ui.py: the home screen, the menus, the confirm screens; loaded
at start-up, so a key never waits on an import). The menus' flows (pump/ui_dose.py,
pump/ui_setup.py) are loaded when opened and unloaded once the interface is back home with
the screen off. Settings changed on the pump are stored in the settings file before the pump
takes them; a date and time set there set the real-time clock too. Any key wakes the
screen and restarts the auto-off timer (the core's key_pressed). What the pump refuses is
shown and recorded in the history like any refused command.

Last chance: an exception escaping any task, or the start-up, stops the motor first, then
sounds a steady tone, records a FIRMWARE_ERROR in the history, keeps the error's text in
the file error.txt, and stops feeding the watchdog, which resets the board; it restarts
suspended with the unexpected-restart alarm (pump/boot.py). Holding BACK while the board
starts skips all of this: the pump does not run and the watchdog is never started, so the
REPL and tools/selftest.py have the board to themselves.
"""

import asyncio
import sys

# asyncio loads these from its submodules on first use; loaded here, at start-up, they are in
# the heap before the pump allocates its buffers, not asked for later when it may be full
from asyncio import Event, ThreadSafeFlag, gather, sleep_ms

from pump.boot import FLOW_MODULES
from pump.compat import const, ticks_diff, unload
from pump.home import draw, lines
from pump.ui import Ui  # resident from start-up: a key press never waits on a first import

STARTUP = const(0)
DELIVERY = const(1)
BUTTONS = const(2)
DISPLAY = const(3)
BUZZER = const(4)
WATCHDOG = const(5)
LINK = const(6)
TASKS = ("start-up", "delivery", "buttons", "display", "buzzer", "watchdog", "link")
ALIVE = ("delivery", "display")  # the tasks the watchdog waits for

_MAX_SLEEP_MS = const(1000)
_MOVING_MS = const(20)
_BUTTON_MS = const(20)
_TONE_MS = const(10)
_SCREEN_ON_MS = const(30000)
_ERROR_BYTES = const(1024)

# The reservoir a first start assumes (the history is empty: no reservoir was ever filled).
FIRST_RESERVOIR_MU = 0
current = None  # the running App, for a look from the REPL after Ctrl-C


class App:
    def __init__(self, hw, pump, dog, ticks_ms, ticks_us, frame, canvas, link_io=None):
        self.hw = hw
        self.pump = pump
        self.dog = dog
        self._ticks_ms = ticks_ms
        self._ticks_us = ticks_us
        self.failed = STARTUP  # the task an exception escaped from, for the last chance
        self.worst_us = [0] * len(TASKS)
        self.steps = [0] * len(TASKS)
        self.frame = frame  # 1 KB, allocated before the pump's buffers (main below)
        self.canvas = canvas
        self.frames = 0  # frames sent to the panel
        self.ui = None  # pump/ui.py's Ui while a person uses the buttons
        self._screen_left_ms = _SCREEN_ON_MS  # the home screen shows after a start
        self._lit = False
        self.shown = None  # the lines last drawn
        self._press = ThreadSafeFlag()
        self._sound = Event()
        hw.buzzer.wake = self._sound.set
        # the serial link (pump/link.py) on link_io = (poller, read, write): the display task
        # looks for bytes once a second and wakes the link task, which reads until 2 s quiet
        self.link_io = link_io
        self._data = Event()
        self.link = None  # pump/link.py's Link, loaded when a host first talks or pairing opens
        # the first poll takes the buttons' state as it is: one already down (stuck, or leant
        # on at power-on) then counts only once released and pressed again (hal/buttons.py)
        hw.buttons.poll(ticks_ms())
        for pin in hw.button_pins.values():
            pin.irq(self._edge, pin.IRQ_FALLING)

    # ------------------------------------------------------------ bookkeeping

    def _edge(self, pin):
        self._press.set()

    def _end(self, task, t0_us):
        took = ticks_diff(self._ticks_us(), t0_us)
        if took > self.worst_us[task]:
            self.worst_us[task] = took
        self.steps[task] += 1

    def on_event(self, code, fields):
        """The core's events: a new alarm wakes the screen."""
        if code == "alarm" and fields["state"] == "raised":
            self._screen_left_ms = _SCREEN_ON_MS

    # ------------------------------------------------------------ tasks

    async def delivery(self):
        pump = self.pump
        motor = self.hw.motor
        while True:
            t0 = self._ticks_us()
            pump.tick(self._ticks_ms())
            motor.poll()
            wait = pump.next_wake_ms()
            if wait > _MOVING_MS and motor.busy():
                wait = _MOVING_MS
            if wait > _MAX_SLEEP_MS:
                wait = _MAX_SLEEP_MS
            self.dog.alive("delivery")
            self._end(DELIVERY, t0)
            await sleep_ms(wait)

    async def buttons(self):
        buttons = self.hw.buttons
        while True:
            await self._press.wait()
            while True:
                t0 = self._ticks_us()
                for name, kind in buttons.poll(self._ticks_ms()):
                    self.key(name, kind)
                idle = buttons.idle()
                self._end(BUTTONS, t0)
                if idle:
                    break
                await sleep_ms(_BUTTON_MS)

    def key(self, name, kind):
        """A button event goes to the interface (pump/ui.py, loaded at start-up); its menus'
        code (pump/ui_dose.py, pump/ui_setup.py) takes heap only while a person uses them."""
        if self.ui is None:
            self.ui = Ui(self.pump, self._save_settings, self.hw.clock.set, self._link)
        self._screen_left_ms = _SCREEN_ON_MS
        self.ui.key(name, kind, self._ticks_ms())

    def _link(self):
        """pump/link.py's Link, loaded on first use (shell/link.py)."""
        from shell.link import load

        return load(self)

    def _save_settings(self, record):
        """Store settings changed on the pump's screens (the settings file), or refuse."""
        from pump import settings_store
        from pump.errors import Refused

        try:
            settings_store.save(self.hw.flash, record)
        except settings_store.SettingsError as e:
            raise Refused("settings", "not stored: %s" % e.reason)
        finally:
            unload("pump.settings_store")

    def _idle_ui(self):
        """Back home after a minute without a key; once the screen is off too, the
        interface's code is unloaded until the next key."""
        ui = self.ui
        if ui is None:
            return
        ui.tick(self._ticks_ms())
        if not ui.stack and not self._lit:
            self.ui = None
            for name in FLOW_MODULES:
                unload(name)

    async def display(self):
        pins = list(self.hw.button_pins.values())
        while True:
            t0 = self._ticks_us()
            for pin in pins:
                if pin.value() == 0:
                    self._press.set()  # held: should its edge's interrupt have been missed
            if self.link_io is not None and self.link_io[0].poll(0):
                self._data.set()  # a host is talking
            self._idle_ui()
            self.refresh(_MAX_SLEEP_MS)
            self.dog.alive("display")
            self._end(DISPLAY, t0)
            await sleep_ms(_MAX_SLEEP_MS)

    def refresh(self, elapsed_ms):
        hw = self.hw
        top = self.pump.alarms.top()
        on = self._screen_left_ms > 0 or (top is not None and top[3] != "acked")
        if self._screen_left_ms > 0:
            self._screen_left_ms -= elapsed_ms
        if on:
            if not self._lit:
                hw.display.power(True)
            mv = hw.battery.mv()
            self.shown = self.ui.lines(mv) if self.ui else lines(self.pump, mv)
            draw(self.canvas, self.shown)
            self._lit = hw.display.show(self.frame)  # False: an I2C error; tried again in 1 s
            self.frames += self._lit
        elif self._lit:
            hw.display.power(False)
            self._lit = False

    async def buzzer(self):
        buzzer = self.hw.buzzer
        while True:
            await self._sound.wait()
            self._sound.clear()
            while True:
                t0 = self._ticks_us()
                buzzer.tick()
                playing = buzzer.playing()
                self._end(BUZZER, t0)
                if not playing:
                    break
                await sleep_ms(_TONE_MS)

    async def watchdog(self):
        while True:
            t0 = self._ticks_us()
            self.dog.feed()
            self._end(WATCHDOG, t0)
            await sleep_ms(_MAX_SLEEP_MS)

    async def link_task(self):
        """The serial link (shell/link.py), from the first time a host talks."""
        await self._data.wait()
        from shell.link import serve

        await serve(self)

    async def _guard(self, task, body):
        try:
            await body
        except Exception:
            self.failed = task
            raise

    async def run(self):
        await gather(
            self._guard(DELIVERY, self.delivery()),
            self._guard(BUTTONS, self.buttons()),
            self._guard(DISPLAY, self.display()),
            self._guard(BUZZER, self.buzzer()),
            self._guard(WATCHDOG, self.watchdog()),
            self._guard(LINK, self.link_task()),
        )


def last_chance(hw, pump, where, error, idle):
    """Stop the motor, sound, record the error, and wait for the watchdog to reset the board."""
    hw.motor.stop()
    try:
        hw.buzzer.sound()
    except Exception:  # noqa: BLE001 - nothing may stop the rest of the last chance
        pass
    text = "%s in %s: %s" % (type(error).__name__, TASKS[where], error)
    try:
        if pump is not None:
            pump.firmware_error(where, text)
    except Exception:  # noqa: BLE001
        pass
    try:
        with hw.flash.open("error.txt", "w") as f:
            f.write(text[:_ERROR_BYTES] + "\n")
            sys.print_exception(error, f)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001
        pass
    sys.print_exception(error)  # type: ignore[attr-defined]
    while True:
        idle()  # the watchdog is no longer fed: the board resets within board.WDT_MS


def usb_io():
    """(poller, read, write) of the USB serial port the REPL uses, for the link. Ctrl-C no
    longer interrupts the firmware (a 0x03 byte on the link must not stop the pump): to reach
    the REPL, hold BACK at power-on."""
    import select

    import micropython

    micropython.kbd_intr(-1)
    poller = select.poll()
    poller.register(sys.stdin, select.POLLIN)
    return poller, sys.stdin.buffer.read, sys.stdout.buffer.write


def main():
    """Start the pump on this board and run it; returns only if BACK is held at power-on."""
    import time

    import board
    import framebuf
    import machine

    from hal.watchdog import Watchdog
    from pump.boot import start
    from shell.modules import missing
    from shell.rig import Hardware

    global current
    hw = Hardware(board, machine, time.sleep_ms, time.ticks_ms)
    if hw.button_pins["BACK"].value() == 0:
        hw.deinit()
        print("BACK held at start: the pump is not running and the watchdog is off")
        return
    dog = Watchdog(machine.WDT(timeout=board.WDT_MS), ALIVE)
    pump = app = None
    frame = bytearray(1024)  # the screen's buffer: the largest block, so allocated first
    canvas = framebuf.FrameBuffer(frame, 128, 64, framebuf.MONO_VLSB)
    try:
        day, tod_ms = hw.clock.now()
        # the start-up's own events need no handling: the screen is on after a start anyway

        def emit(code, fields):
            if app is not None:
                app.on_event(code, fields)

        pump = start(
            hw.flash, hw.rig, hw, emit, time.ticks_ms(), day, tod_ms, FIRST_RESERVOIR_MU, missing, True
        )
        app = current = App(hw, pump, dog, time.ticks_ms, time.ticks_us, frame, canvas, usb_io())
        asyncio.run(app.run())
    except Exception as e:  # noqa: BLE001 - the last chance: whatever it was, stop safely
        last_chance(hw, pump, app.failed if app else STARTUP, e, machine.idle)
    finally:
        hw.motor.stop()
