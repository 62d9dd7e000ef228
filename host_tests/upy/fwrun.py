"""The whole firmware in the MicroPython unix port, on the virtual rig, in simulated time.

    python tools/mprom.py IMAGE 152K fwrun PLAN FLASH OUT [CRASH_AT_MS]   (tools/fwsim.py)

IMAGE is a ROMFS image of the board's build (build/<board>/: lib/, board.mpy, main.py) with
this harness's modules beside it: machine, rp2 and time stand-ins (this directory) and the
line model. The board's own firmware/main.py is imported and runs the pump exactly as on the
board; this harness only adds tasks of its own to the same asyncio loop, before main.py
starts it:

* the scenario (PLAN, tools/scenario.py's integer form): at each event's time, acknowledging
  is done on the OK button (a pulled-up pin driven low, its interrupt, the debounce); every
  other action is made on the pump as its menus would (tools/actions.py), faults on the rig
  (machine.inject). A power cut is not for this run (tools/pumpsim.py simulates those): a
  restart is a second run on the flash this one left (tools/fwsim.py --flash), and damage to
  that flash is done between the two (tools/flashdamage.py);
* a probe, every simulated quarter hour: a garbage collection, then the heap in use;
* the end: at the plan's end it raises EndOfRun through the loop.

asyncio keeps simulated time: its clock is the rig's (time.py here) and its wait for the next
task advances that clock instead of sleeping. CRASH_AT_MS makes the display's bus raise an
unexpected exception from then on, to exercise the last-chance handler and the watchdog.
OUT gets a JSON report: what was delivered, the plunger's travel, the alarms, the history's
size, each task's worst step (host microseconds), the heap, the first home screen.
"""

import gc
import sys

sys.path.insert(1, "/rom/lib")

import json  # noqa: E402
import time  # noqa: E402, F401  (the stand-in: the simulated clock, before asyncio imports time)

import actions  # noqa: E402  (tools/actions.py: the scenario's actions, done on the pump)
import machine  # noqa: E402  (the stand-in: the rig)

asyncio = core = None  # imported after the harness's own heap is measured (main below)


class EndOfRun(BaseException):
    """The scenario's end: leaves the firmware's loop, as pulling the power would."""


class HarnessError(BaseException):
    """The harness itself failed: the run stops at once, rather than going on unscripted."""


async def _guarded(coro):
    try:
        await coro
    except Exception as e:  # noqa: BLE001 - whatever it was, it ends the run, loudly
        sys.print_exception(e)
        raise HarnessError(repr(e))


class _Hands:
    """What tools/actions.py's apply acts through, here on the firmware's pump."""

    def __init__(self, flash):
        self.pump = None
        self.kind = ""
        self.flash = flash

    def _fault(self, index, mv):
        if not machine.inject(self.kind, mv):
            raise _refused("fault", self.kind + ": not a fault of this rig")

    def _boot(self, fresh_reservoir_mu, rtc=None):
        raise _refused("power_on", "power cuts are simulated by tools/pumpsim.py")

    def _power_cut(self):
        raise _refused("power_cut", "power cuts are simulated by tools/pumpsim.py")

    def _save_settings(self, record):
        from pump import settings_store

        try:
            settings_store.save(self.flash, record)
        except settings_store.SettingsError as e:
            raise _refused("settings", str(e))


def _refused(what, why):
    from pump.errors import Refused

    return Refused(what, why)


class _Queue:
    """asyncio's task queue, keyed by the simulated clock: the port's own queue keys a task
    made ready without a time (create_task, an Event) with the host's clock, which would
    put it hours into the simulated future or past."""

    def __init__(self, queue):
        self._q = queue

    def push(self, task, key=None):
        self._q.push(task, time.ticks_ms() if key is None else key)

    def peek(self):
        return self._q.peek()

    def pop(self):
        return self._q.pop()

    def remove(self, task):
        return self._q.remove(task)


def _wake_flagged(io):
    """A ThreadSafeFlag set by a pin interrupt makes the task waiting on it ready now; True if
    one did. The port's poll would find it too, but sleeps a millisecond of real time each
    call for such objects, so this does what asyncio's IOQueue does with a ready stream. An
    entry is [task waiting to read, task waiting to write, stream]."""
    for entry in io.map.values():
        if entry[0] is not None and entry[2].ioctl(3, 1):  # MP_STREAM_POLL, POLLIN
            core._task_queue.push(entry[0])
            entry[0] = None
            if entry[1] is None:
                io._dequeue(entry[2])
            return True
    return False


def _virtual_loop():
    """asyncio's wait for the next task advances the simulated clock instead of sleeping."""
    core._task_queue = _Queue(core._task_queue)
    io = core._io_queue

    def wait(dt):
        if not _wake_flagged(io) and dt > 0:
            machine.advance(dt)

    io.wait_io_event = wait


async def _until(ms):
    while machine.clock.elapsed_ms < ms:
        left = ms - machine.clock.elapsed_ms
        await asyncio.sleep_ms(left if left < 60000 else 60000)


async def _press(board, name, hold_ms):
    pin = machine.net(getattr(board, "PIN_" + name))
    pin.drive(0)
    await asyncio.sleep_ms(hold_ms)
    pin.drive(1)
    await asyncio.sleep_ms(100)  # released, and debounced


async def _script(board, header, events, report, hands):
    from shell import app as shell

    from pump.errors import Refused

    await asyncio.sleep_ms(0)  # main.py has started the pump
    app = shell.current
    hands.pump = app.pump
    await asyncio.sleep_ms(2000)
    gc.collect()
    report["heap_started"] = gc.mem_alloc()
    rows = report["first_lines"] = _home(app)
    frame = machine.display.frame
    report["first_frame_matches"] = machine.display.frames > 0 and frame == _rendered(rows)
    report["first_frame_lit"] = sum(1 for b in frame if b)
    for at_ms, action, fault, do, args in events:
        await _until(at_ms)
        if do == "ack":
            await _press(board, "OK", 150)
            continue
        if do == "press":  # on the button's pin, held past the long-press time when long
            for _ in range(args.get("times", 1)):
                await _press(board, args["button"], 1000 if args.get("long") else 150)
            continue
        if do == "snapshot":  # the screen's text; whether the panel is lit and shows exactly it
            await asyncio.sleep_ms(1100)  # the display task redraws once a second
            rows = app.shown  # the lines it drew last (the battery read then, the text then)
            lit = app._lit
            report["screens"].append(
                [args["name"], rows, lit, lit and machine.display.frame == _rendered(rows)]
            )
            continue
        hands.kind = args.get("kind", "")
        try:
            actions.apply(hands, action, fault, args)
        except Refused as e:
            report["rejected"].append([at_ms, do, str(e)])
            app.pump.refused(do, args.get("units") or args.get("rate_u_h") or 0)
    await _until(header["end_ms"])
    raise EndOfRun()


def _home(app):
    from pump.home import lines

    return lines(app.pump, app.hw.battery.mv())


async def _probe(report):
    while True:
        report["peak_alloc"] = max(report["peak_alloc"], gc.mem_alloc())
        gc.collect()
        report["peak_live"] = max(report["peak_live"], gc.mem_alloc())
        await asyncio.sleep_ms(15 * 60000)


_SCRATCH = bytearray(1024)  # allocated before the firmware starts, so checking costs its heap nothing


def _rendered(rows):
    """The frame the home screen's lines make, drawn here with the port's own framebuf."""
    import framebuf

    from pump.home import draw

    draw(framebuf.FrameBuffer(_SCRATCH, 128, 64, framebuf.MONO_VLSB), rows)
    return _SCRATCH


def main(argv):
    plan_path, flash_dir, out_path = argv[1], argv[2], argv[3]
    crash_at_ms = int(argv[4]) if len(argv) > 4 else -1
    with open(plan_path) as f:
        header = json.loads(f.readline())
        events = [json.loads(line) for line in f if line.strip()]
    import board

    board.FLASH_ROOT = flash_dir  # the board's files, in a directory of the host
    machine.setup(header, board)
    machine.display.crash_at_ms = crash_at_ms
    report = {"rejected": [], "screens": [], "peak_alloc": 0, "peak_live": 0}
    from hal.storage import Flash

    hands = _Hands(Flash(flash_dir))
    gc.collect()
    report["heap_before"] = gc.mem_alloc()  # the harness's own, before any of the firmware's
    global asyncio, core
    import asyncio
    from asyncio import core

    from shell import app as shell

    shell.FIRST_RESERVOIR_MU = header["reservoir_mu"]
    _virtual_loop()
    asyncio.create_task(_guarded(_script(board, header, events, report, hands)))
    asyncio.create_task(_guarded(_probe(report)))
    try:
        import main  # noqa: F401  (firmware/main.py: runs until EndOfRun or a reset)

        report["end"] = "returned"
    except EndOfRun:
        report["end"] = "end"
    except machine.WatchdogReset as e:
        report["end"] = "watchdog"
        report["reset"] = str(e)
    except HarnessError as e:
        report["end"] = "harness error: " + str(e)
    report["end_ms"] = machine.clock.elapsed_ms
    events = None
    gc.collect()
    _report(report)
    with open(out_path, "w") as f:
        json.dump(report, f)
    return 0


def _report(report):
    from shell import app as shell

    from pump.engine import BASAL, BOLUS, PRIME

    app = shell.current
    pump = app.pump
    mech = machine.mechanism
    report["delivered_mu"] = [pump.delivered_mu(k) for k in (BASAL, BOLUS, PRIME)]
    report["steps"] = pump.hw.motor.steps_done()
    report["plunger"] = [mech.steps_done(), mech.steps_back()]
    report["reservoir_mu"] = pump.reservoir_mu()
    report["iob_mu"] = pump.iob_mu()
    report["mode"] = pump.mode
    report["alarms"] = [a[0] for a in pump.alarms.active()]
    report["history_next_seq"] = pump._recorder.history.next_seq if pump._recorder else 0
    names = shell.TASKS
    report["worst_us"] = {names[i]: app.worst_us[i] for i in range(len(names))}
    report["task_steps"] = {names[i]: app.steps[i] for i in range(len(names))}
    report["frames"] = machine.display.frames
    report["watchdog_feeds"] = machine.wdt.feeds if machine.wdt else 0
    report["hx711_reads"] = machine.hx711.reads
    report["tones"] = machine.buzzer_pwm.tones
    report["heap_total"] = gc.mem_alloc() + gc.mem_free()
    report["last_lines"] = _home(app)
