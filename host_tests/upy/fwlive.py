"""The whole firmware in the MicroPython unix port on the virtual rig, live: time paced against
the host's clock (1x to 600x), driven and watched by tools/termsim.py --firmware.

    python tools/mprom.py IMAGE 152K fwlive PLAN FLASH

As in fwrun.py, the board's own firmware/main.py runs the pump; the harness keeps asyncio's
clock and adds one task. Lines on stdin, from the terminal:

    P <button> <ms>     press a button for ms (a long press is 1000)
    F <fault> [mv]      a fault on the rig (tools/scenario.py FAULTS)
    E                   the reservoir nearly empty: the plunger's count set to 1.5 U left
    S <speed>           simulated ms per real ms
    L <frame>           a line the host sends on the board's USB port (the link)
    Q                   stop

and lines on stdout, to it: `D <hex>` the panel's frame when it changes, `T <json>` the rig's
state about ten times a second, `L <line>` what the board writes on its USB port.
"""

import sys

sys.path.insert(1, "/rom/lib")

import json  # noqa: E402
import select  # noqa: E402
import time  # noqa: E402, F401  (the stand-in: the simulated clock, before asyncio imports time)

import machine  # noqa: E402  (the stand-in: the rig)
import utime  # noqa: E402  (the port's real clock and sleep)

_STEP_REAL_MS = 20  # the longest real sleep between looks at stdin
_STATUS_REAL_MS = 100
_HEX = b"0123456789abcdef"


class Stop(BaseException):
    pass


class _Usb:
    """The board's USB serial port as shell/app.py's link_io: bytes from the host, replies out."""

    def __init__(self):
        self.pending = bytearray()

    def poll(self, timeout=0):
        return len(self.pending) > 0

    def read(self, n):
        data = bytes(self.pending[:n])
        self.pending = self.pending[n:]
        return data

    def write(self, data):
        out(b"L " + bytes(data).rstrip(b"\n"))


def out(line):
    sys.stdout.buffer.write(line + b"\n")


class Live:
    def __init__(self, board):
        self.board = board
        self.speed = 60
        self.usb = _Usb()
        self.presses = []  # [button, hold ms], for the harness task
        self.stdin = select.poll()
        self.stdin.register(sys.stdin, select.POLLIN)
        self.last_frame = bytearray(1024)
        self.hexed = bytearray(b"D " + b"0" * 2048 + b"\n")
        self.status_at = utime.ticks_ms()
        self.store = None
        self.v0 = 0  # simulated ms and host ms when the speed was last set
        self.r0 = utime.ticks_ms()

    def io(self):
        return self.usb, self.usb.read, self.usb.write

    def control(self):
        while self.stdin.poll(0):
            line = sys.stdin.readline()
            if not line:
                raise Stop()
            parts = line.split()
            if not parts:
                continue
            cmd = parts[0]
            if cmd == "Q":
                raise Stop()
            if cmd == "P":
                self.presses.append((parts[1], int(parts[2])))
            elif cmd == "S":
                self.speed = max(1, int(parts[1]))
                self.v0 = machine.clock.elapsed_ms
                self.r0 = utime.ticks_ms()
            elif cmd == "F":
                machine.inject(parts[1], int(parts[2]) if len(parts) > 2 else None)
            elif cmd == "E":
                from shell import app

                pump = app.current.pump if app.current else None
                if pump is not None:
                    pump.reservoir_steps = pump.rig.steps_for(1500)
            elif cmd == "L":
                self.usb.pending += line[2:].encode()

    def _store(self):
        """The link's pairing file as the board left it, read once (until the link loads)."""
        if self.store is None:
            from hal.storage import Flash
            from pump.link import LinkStore

            self.store = LinkStore(Flash(self.board.FLASH_ROOT))
        return self.store

    def report(self):
        now = utime.ticks_ms()
        if utime.ticks_diff(now, self.status_at) < _STATUS_REAL_MS:
            return
        self.status_at = now
        frame = machine.display.frame
        if frame != self.last_frame:  # the panel's frame, in hex, without a 2 KB string
            self.last_frame[:] = frame
            hexed = self.hexed
            for i in range(1024):
                b = frame[i]
                hexed[2 + 2 * i] = _HEX[b >> 4]
                hexed[3 + 2 * i] = _HEX[b & 15]
            sys.stdout.buffer.write(hexed)
        from shell import app as shell

        a = shell.current
        state = {"t_ms": machine.clock.elapsed_ms, "speed": self.speed, "tone": machine.buzzer_pwm.duty > 0}
        state["tones"] = machine.buzzer_pwm.tones
        state["mbar"] = machine.line.pressure_mbar()
        state["plunger"] = machine.mechanism.steps_done() - machine.mechanism.steps_back()
        state["mv"] = machine.battery_mv
        if a is not None:
            p = a.pump
            state["lit"] = a._lit
            state["rows"] = a.shown
            state["mode"] = p.mode
            state["day"] = p.day
            state["tod_ms"] = p.tod_ms
            state["reservoir_mu"] = p.reservoir_mu()
            state["delivered"] = [p.delivered_mu(k) for k in (0, 1, 2)]
            state["sounding"] = p.alarms.sounding()
            store = a.link.store if a.link is not None else self._store()
            state["paired"] = store.key is not None
            state["remote"] = store.remote_doses
        out(b"T " + json.dumps(state).encode())


def _paced_loop(live):
    """asyncio's wait advances the simulated clock at live.speed times the host's clock."""
    from asyncio import core

    import fwrun

    io = core._io_queue

    def wait(dt):
        if fwrun._wake_flagged(io):  # a ThreadSafeFlag set by a pin interrupt
            return
        live.control()
        live.report()
        if dt < 0 or dt > live.speed * _STEP_REAL_MS:
            dt = live.speed * _STEP_REAL_MS
        if dt > 0:
            # simulated time may run ahead of the host's by speed; sleep off what it is ahead
            ahead = (machine.clock.elapsed_ms + dt - live.v0) // live.speed - utime.ticks_diff(
                utime.ticks_ms(), live.r0
            )
            if ahead > 0:
                utime.sleep_ms(ahead)
            machine.advance(dt)

    io.wait_io_event = wait


async def _hands(live, board):
    import asyncio

    while True:
        if live.presses:
            name, hold = live.presses.pop(0)
            pin = machine.net(getattr(board, "PIN_" + name))
            pin.drive(0)
            await asyncio.sleep_ms(hold)
            pin.drive(1)
        await asyncio.sleep_ms(50)


def main(argv):
    plan_path, flash_dir = argv[1], argv[2]
    with open(plan_path) as f:
        header = json.loads(f.readline())
    import board

    board.FLASH_ROOT = flash_dir
    machine.setup(header, board)
    live = Live(board)
    import asyncio
    from asyncio import core

    import fwrun
    from shell import app as shell

    fwrun.core = core  # fwrun's helpers act on this loop
    core._task_queue = fwrun._Queue(core._task_queue)
    shell.FIRST_RESERVOIR_MU = header["reservoir_mu"]
    shell.usb_io = live.io  # the USB port is the terminal's link pty, through this harness
    _paced_loop(live)
    asyncio.create_task(_hands(live, board))
    try:
        import main  # noqa: F401  (firmware/main.py)
    except Stop:
        pass
    except machine.WatchdogReset as e:
        out(b"R " + str(e).encode())
    return 0
