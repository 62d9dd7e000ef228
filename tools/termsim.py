#!/usr/bin/env python3
"""The pump on the virtual rig, in the terminal: its screen, its four buttons, its buzzer.

    python tools/termsim.py [--firmware pico|esp32] [--speed 1|10|60|600] [--settings FILE]
                            [--flash DIR] [--size normal|big|compact]
    make sim            (--firmware pico)

With --firmware, the board's whole build runs: its firmware/main.py, the asyncio shell, the
drivers and the core, in the MicroPython unix port on the stand-in machine of the tests
(tools/fwsim.py, host_tests/upy/fwlive.py), paced against the host's clock; keys press its
button pins, faults act on its rig, and the OLED shows the frame its SSD1306 driver sent.
Without it, the core and the interface (pump/boot.py starts the pump from a flash, pump/ui.py
takes the keys) run here on the CPython rig of the tests, which starts at once and lists the
pump's events. Time runs at 1x, 10x, 60x or 600x real time. The OLED is drawn with Unicode
block characters (from MicroPython's own framebuf, tools/screens.py), its text beside it.

Keys
  UP: up arrow or w      DOWN: down arrow or s      OK: Enter, space or o      BACK: b or Backspace
  held (a long press, with repeats for UP and DOWN): W  S  O  B
  faults: 1 occlusion on/off   2 reservoir nearly empty   3 battery 4.0 -> 3.5 -> 3.3 V
          4 plunger unseated/seated   5 motor driver fault on/off
  + / - : time faster / slower      q: quit

--settings takes therapy settings in the scenario format (docs/scenarios.md, the "settings"
object); without it a two-segment demo profile is used. The flash is a fresh directory each
run unless --flash names one: then a second run is a restart of the same pump, history and
all. The pump's serial link (pump/link.py) is on a pseudo-terminal whose path the status
lines show: `python tools/pumpctl.py --port PATH pair` and the rest work as against a board.
"""

import argparse
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _d in ("tools", "firmware", "boards", "host_tests"):
    if os.path.join(ROOT, _d) not in sys.path:
        sys.path.insert(0, os.path.join(ROOT, _d))

SPEEDS = (1, 10, 60, 600)
FRAME_S = 0.05  # real time between two steps of the simulation
DEMO_SETTINGS = {
    "basal_profiles": {"demo": [["00:00", 0.8], ["06:00", 1.1], ["22:00", 0.9]]},
    "active_profile": "demo",
    "icr_g_per_u": [["00:00", 12]],
    "isf_mgdl_per_u": [["00:00", 45]],
    "target_mgdl": [["00:00", 110]],
    "max_bolus_u": 10,
}
BATTERY_STEPS_MV = (4000, 3500, 3300)  # fine, below the low alarm (3.55 V), below critical (3.35 V)
KEYS = {
    "\x1b[A": ("UP", False),
    "\x1b[B": ("DOWN", False),
    "w": ("UP", False),
    "s": ("DOWN", False),
    "\r": ("OK", False),
    "\n": ("OK", False),
    " ": ("OK", False),
    "o": ("OK", False),
    "b": ("BACK", False),
    "\x7f": ("BACK", False),
    "\x08": ("BACK", False),
    "W": ("UP", True),
    "S": ("DOWN", True),
    "O": ("OK", True),
    "B": ("BACK", True),
}
HOLD_REPEATS = 8  # a held UP or DOWN: the long press and this many repeats (about 2 s)
# 2x2 pixels a character: index = top-left 1 + top-right 2 + bottom-left 4 + bottom-right 8
QUADRANTS = " ▘▝▀▖▌▞▛▗▚▐▜▄▙▟█"
HALVES = " ▀▄█"  # 1x2 pixels a character (--big)

_DRAW_LOOP = """
import sys, json, framebuf
from pump.home import draw
buf = bytearray(1024)
fb = framebuf.FrameBuffer(buf, 128, 64, framebuf.MONO_VLSB)
while True:
    line = sys.stdin.readline()
    if not line:
        break
    draw(fb, json.loads(line))
    sys.stdout.write(buf.hex() + "\\n")
"""


class Oled:
    """Frames drawn by MicroPython's framebuf in a process kept open for the session."""

    def __init__(self):
        import pumpsim

        env = dict(os.environ, MICROPYPATH=pumpsim.compile_mpy())
        self.proc = subprocess.Popen(
            [pumpsim.tool("micropython"), "-c", _DRAW_LOOP],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
            bufsize=1,
        )

    def frame(self, rows):
        self.proc.stdin.write(json.dumps(rows) + "\n")
        self.proc.stdin.flush()
        return bytes.fromhex(self.proc.stdout.readline().strip())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(5)


def blocks(frame, size="normal"):
    """The frame as lines of Unicode block characters: 2x2 pixels a character (64x32), or
    1x2 (128x32, "big"), or 2x4 ("compact", 64x16: two pixel rows merged, a little blurred)."""
    from screens import HEIGHT, WIDTH, lit

    if size == "big":
        return [
            "".join(HALVES[lit(frame, x, y) + 2 * lit(frame, x, y + 1)] for x in range(WIDTH))
            for y in range(0, HEIGHT, 2)
        ]
    tall = 2 if size == "compact" else 1  # pixel rows in each quarter of a character

    def on(x, y):
        return any(lit(frame, x, y + i) for i in range(tall))

    out = []
    for y in range(0, HEIGHT, 2 * tall):
        out.append(
            "".join(
                QUADRANTS[on(x, y) + 2 * on(x + 1, y) + 4 * on(x, y + tall) + 8 * on(x + 1, y + tall)]
                for x in range(0, WIDTH, 2)
            )
        )
    return out


class Simulator:
    def __init__(self, settings, flash_dir, speed=60, now=None):
        import sim as board
        from pump.boot import start
        from pump.settings_user import rig_from_user, settings_from_user, settings_to_record
        from pump.ui import Ui
        from rig import DirFlash, Hardware, VirtualClock

        self.rig = rig_from_user({}, board)
        self.clock = VirtualClock()
        self.hw = Hardware(self.clock, self.rig, board.BORE_UM)
        self.flash = DirFlash(flash_dir, fresh=False)
        if "settings.json" not in self.flash.listdir():
            from pump import settings_store

            settings_store.save(self.flash, settings_to_record(settings_from_user(settings, self.rig)))
        t = time.localtime(now)
        from pump.calendar import day_number

        day = day_number(t.tm_year, t.tm_mon, t.tm_mday)
        tod_ms = ((t.tm_hour * 60 + t.tm_min) * 60 + t.tm_sec) * 1000
        self.log = []
        self.pump = start(
            self.flash, self.rig, self.hw, self._emit, self.clock.ticks_ms(), day, tod_ms, 200000
        )
        from pump.link import Link, LinkStore

        self.link = Link(self.pump, LinkStore(self.flash), os.urandom, self._save, self._announce)
        self.ui = Ui(self.pump, self._save, None, self.link)
        self.link_path = None
        self.replies = []  # the link's replies, for the pty
        self.speed = speed
        self.occluded = False
        self.battery = 0
        self.plays = 0

    def _emit(self, code, fields):
        if code in ("operational", "bolus_progress"):
            return
        m = self.pump.tod_ms // 60000 if getattr(self, "pump", None) else 0
        if code == "dose":
            what = "%s %s: %s of %s U" % (
                fields["kind"],
                fields["status"],
                _u(fields["delivered_mu"]),
                _u(fields["programmed_mu"]),
            )
        elif code == "alarm":
            what = "alarm %s %s" % (fields["code"], fields["state"])
        else:
            what = code + " " + " ".join("%s=%s" % (k, fields[k]) for k in sorted(fields) if k != "source")
        self.log = (self.log + ["%02d:%02d %s" % (m // 60, m % 60, what)])[-4:]

    def _announce(self, text):
        """A dose or change made over the link: on the screen, and a short beep."""
        self.ui.show(["FROM THE LINK:", "", text], self.clock.ticks_ms())
        self.hw.buzzer.play(b"\x0a\x0a\x0a")

    def _save(self, record):
        from pump import settings_store
        from pump.errors import Refused

        try:
            settings_store.save(self.flash, record)
        except settings_store.SettingsError as e:
            raise Refused("settings", "not stored: " + e.reason)

    def advance(self, real_s):
        from rig import run_until

        run_until(self.pump, self.clock, self.clock.elapsed_ms + int(real_s * 1000 * self.speed))
        self.ui.tick(self.clock.ticks_ms())

    def press(self, name, held=False):
        now = self.clock.ticks_ms()
        self.ui.key(name, "down", now)
        if not held:
            self.ui.key(name, "short", now)
            return
        self.ui.key(name, "long", now)
        if name in ("UP", "DOWN"):
            for _ in range(HOLD_REPEATS):
                self.ui.key(name, "repeat", now)

    def fault(self, key):
        hw = self.hw
        if key == "1":
            self.occluded = not self.occluded
            hw.line.block() if self.occluded else hw.line.clear()
        elif key == "2":
            # the simulator's one shortcut: the pump is told its reservoir holds 1.5 U, so the
            # low, very low and empty alarms follow within minutes of simulated time
            self.pump.reservoir_steps = self.rig.steps_for(1500)
        elif key == "3":
            self.battery = (self.battery + 1) % len(BATTERY_STEPS_MV)
            hw.battery.mv_now = BATTERY_STEPS_MV[self.battery]
        elif key == "4":
            hw.seat.is_seated = not hw.seat.is_seated
        elif key == "5":
            hw.motor.set_fault(not hw.motor.fault)

    def faster(self, up):
        self.speed = next_speed(self.speed, up)

    def rows(self):
        return self.ui.lines(self.hw.battery.mv())

    def frame(self, oled):
        return oled.frame(self.rows())

    def link_send(self, line):
        """A line from the host: its reply goes back at once."""
        self.replies.append(self.link.frame(line, self.clock.ticks_ms()))

    def close(self):
        pass

    def view(self):
        """What the status lines show (status_lines)."""
        from pump.engine import BASAL, BOLUS, PRIME

        p, hw = self.pump, self.hw
        beep = hw.buzzer.plays > self.plays
        self.plays = hw.buzzer.plays
        sounding = p.alarms.sounding()
        return {
            "day": p.day,
            "tod_ms": p.tod_ms,
            "mode": p.mode,
            "note": "",
            "reservoir_mu": p.reservoir_mu(),
            "plunger": hw.motor.steps_done() - hw.motor.steps_back(),
            "delivered": [p.delivered_mu(BASAL), p.delivered_mu(BOLUS), p.delivered_mu(PRIME)],
            "beep": beep,
            "buzzer": "sounding (%s)" % sounding if sounding else "quiet",
            "mbar": hw.line.pressure_mbar(),
            "occluded": self.occluded,
            "mv": hw.battery.mv_now,
            "seated": hw.seat.is_seated,
            "motor_fault": hw.motor.fault,
            "paired": self.link.store.key is not None,
            "remote": self.link.store.remote_doses,
        }

    def status(self):
        return status_lines(self.view(), self.speed, self.link_path, self.log)


class FirmwareSim:
    """The board's whole firmware (its build, its firmware/main.py, the asyncio shell and the
    drivers) in the MicroPython unix port on the virtual rig, paced live (host_tests/upy/fwlive.py
    by tools/fwsim.py): the same keys, faults, speeds and link as Simulator."""

    def __init__(self, settings, flash_dir, speed=60, board="pico"):
        import fwsim

        t = time.localtime()
        doc = {
            "start": "%04d-%02d-%02dT%02d:%02d" % (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min),
            "hours": 2160,
            "reservoir_u": 200,
            "settings": settings,
        }
        self.board = board
        self.proc = fwsim.live(doc, flash_dir, board)
        self.out = self.proc.stdout.fileno()
        os.set_blocking(self.out, False)
        self.buf = b""
        self.state = {}
        self.last_frame = bytes(1024)
        self.replies = []
        self.log = []
        self.link_path = None
        self.speed = speed
        self.occluded = False
        self.seated = True
        self.motor_fault = False
        self.battery = 0
        self.tones = 0
        self._send("S %d" % speed)

    def _send(self, line):
        try:
            self.proc.stdin.write(line.encode() + b"\n")
        except BrokenPipeError:
            pass

    def advance(self, real_s):
        """The firmware paces itself; read what it said since."""
        try:
            self.buf += os.read(self.out, 1 << 16)
        except (BlockingIOError, OSError):
            pass
        *lines, self.buf = self.buf.split(b"\n")
        for line in lines:
            kind, _, rest = line.partition(b" ")
            if kind == b"D":
                self.last_frame = bytes.fromhex(rest.decode())
            elif kind == b"T":
                self.state = json.loads(rest)
            elif kind == b"L":
                self.replies.append(rest)
            elif kind == b"R":
                self.log = (self.log + ["the board reset: " + rest.decode()])[-4:]
            elif line.strip():
                self.log = (self.log + [line.decode("utf-8", "replace")[:100]])[-4:]

    def press(self, name, held=False):
        hold = 150 if not held else (2200 if name in ("UP", "DOWN") else 1000)
        self._send("P %s %d" % (name, hold))

    def fault(self, key):
        if key == "1":
            self.occluded = not self.occluded
            self._send("F occlusion" if self.occluded else "F clear_occlusion")
        elif key == "2":
            self._send("E")
        elif key == "3":
            self.battery = (self.battery + 1) % len(BATTERY_STEPS_MV)
            self._send("F battery %d" % BATTERY_STEPS_MV[self.battery])
        elif key == "4":
            self.seated = not self.seated
            self._send("F seat" if self.seated else "F unseat")
        elif key == "5":
            self.motor_fault = not self.motor_fault
            self._send("F motor_fault" if self.motor_fault else "F clear_motor_fault")

    def faster(self, up):
        self.speed = next_speed(self.speed, up)
        self._send("S %d" % self.speed)

    def rows(self):
        rows = self.state.get("rows")
        return rows if rows and self.state.get("lit") else [""] * 8

    def frame(self, oled):
        return self.last_frame if self.state.get("lit") else bytes(1024)

    def link_send(self, line):
        self._send("L " + bytes(line).decode("ascii", "replace"))

    def close(self):
        self._send("Q")
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def status(self):
        st = self.state
        if not st:
            return ["the %s firmware is starting..." % self.board]
        beep = st["tones"] > self.tones
        self.tones = st["tones"]
        view = {
            "day": st.get("day", 0),
            "tod_ms": st.get("tod_ms", 0),
            "mode": st.get("mode", "?"),
            "note": "   (the %s firmware, screen %s)"
            % (self.board, "on" if st.get("lit") else "off: any key"),
            "reservoir_mu": st.get("reservoir_mu", 0),
            "plunger": st["plunger"],
            "delivered": st.get("delivered", [0, 0, 0]),
            "beep": beep,
            "buzzer": "sounding (%s)" % st["sounding"]
            if st.get("sounding")
            else ("tone" if st["tone"] else "quiet"),
            "mbar": st["mbar"],
            "occluded": self.occluded,
            "mv": st["mv"],
            "seated": self.seated,
            "motor_fault": self.motor_fault,
            "paired": st.get("paired"),
            "remote": st.get("remote"),
        }
        return status_lines(view, self.speed, self.link_path, self.log)


def next_speed(speed, up):
    i = SPEEDS.index(speed) + (1 if up else -1)
    return SPEEDS[min(max(i, 0), len(SPEEDS) - 1)]


def status_lines(v, speed, link_path, log):
    """The lines below the OLED: time, reservoir, deliveries, buzzer, faults, keys, link, log."""
    from pump.calendar import date_text

    res = v["reservoir_mu"]
    filled = min(20, res * 20 // 300000)
    s = v["tod_ms"] // 1000
    d = v["delivered"]
    return [
        "%s %02d:%02d:%02d   speed %dx   %s%s"
        % (date_text(v["day"]), s // 3600, s // 60 % 60, s % 60, speed, v["mode"], v["note"]),
        "Reservoir [%s%s] %s U   plunger %d steps"
        % ("#" * filled, "." * (20 - filled), _u(res), v["plunger"]),
        "Delivered: basal %s U, bolus %s U, prime %s U" % (_u(d[0]), _u(d[1]), _u(d[2])),
        "Buzzer: %s%s   line %d mbar" % ("BEEP! " if v["beep"] else "", v["buzzer"], v["mbar"]),
        "Faults: 1 occlusion %s  2 empty  3 battery %.1f V  4 plunger %s  5 motor %s"
        % (
            "ON" if v["occluded"] else "off",
            v["mv"] / 1000,
            "seated" if v["seated"] else "UNSEATED",
            "FAULT" if v["motor_fault"] else "ok",
        ),
        "Keys: arrows/w s  OK Enter/o  BACK b  held W S O B   +/- speed   q quit",
        "Link: %s  (%s, remote doses %s)"
        % (
            link_path or "none",
            "paired" if v["paired"] else "not paired: Settings > Pair link",
            "on" if v["remote"] else "off",
        ),
    ] + log


def _u(mu):
    return "%d.%02d" % (mu // 1000, mu % 1000 // 10)


def screen_text(oled_lines, rows, status):
    """The whole terminal picture: the OLED in a frame with its text beside it, then the rig."""
    width = len(oled_lines[0])
    per_row = len(oled_lines) // len(rows)
    out = ["+" + "-" * width + "+"]
    for i, line in enumerate(oled_lines):
        text = "  |%-16s|" % rows[i // per_row] if i % per_row == per_row // 2 else ""
        out.append("|" + line + "|" + text)
    out.append("+" + "-" * width + "+")
    return out + status


class Terminal:
    """Keys from stdin without waiting for Enter, and a screen redrawn in place."""

    def __init__(self):
        self.fd = sys.stdin.fileno()
        self.saved = None
        if os.isatty(self.fd):
            import termios
            import tty

            self.saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd)
        sys.stdout.write("\x1b[?25l\x1b[2J")  # cursor hidden, screen cleared

    def keys(self, timeout, other=None):
        """Keys typed, waiting at most timeout for one (or for data on the fd `other`)."""
        ready, _, _ = select.select([self.fd] + ([other] if other is not None else []), [], [], timeout)
        if self.fd not in ready:
            return []
        data = os.read(self.fd, 1024).decode("utf-8", "replace")
        if not data:
            raise EOFError
        return re.findall(r"\x1b\[[A-D]|.", data, re.S)

    def show(self, lines):
        sys.stdout.write("\x1b[H" + "".join(line + "\x1b[K\n" for line in lines) + "\x1b[J")
        sys.stdout.flush()

    def close(self):
        sys.stdout.write("\x1b[?25h\n")
        sys.stdout.flush()
        if self.saved is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)


class LinkPort:
    """The pump's serial link on a pseudo-terminal: its path is what `pumpctl --port` takes."""

    def __init__(self, sim):
        import tty

        from pump.link import Lines

        self.sim = sim
        self.master, self.slave = os.openpty()  # the slave stays open here: no EIO between hosts
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.lines = Lines()

    def poll(self):
        try:
            data = os.read(self.master, 4096)
        except (BlockingIOError, OSError):
            return
        for line in self.lines.feed(data):
            self.sim.link_send(line)

    def answer(self):
        while self.sim.replies:
            os.write(self.master, self.sim.replies.pop(0) + b"\n")

    def close(self):
        os.close(self.master)
        os.close(self.slave)


def run(sim, size="normal"):
    oled = Oled()
    port = LinkPort(sim)
    sim.link_path = port.path
    term = Terminal()
    last = None
    try:
        while True:
            t0 = time.monotonic()
            try:
                keys = term.keys(FRAME_S, port.master)
            except EOFError:
                break
            port.poll()
            for k in keys:
                if k == "q":
                    return 0
                if k in KEYS:
                    sim.press(*KEYS[k])
                elif k in "12345":
                    sim.fault(k)
                elif k in "+=":
                    sim.faster(True)
                elif k == "-":
                    sim.faster(False)
            sim.advance(time.monotonic() - t0)
            port.answer()
            rows = sim.rows()
            picture = screen_text(blocks(sim.frame(oled), size), rows, sim.status())
            if picture != last:
                term.show(picture)
                last = picture
    finally:
        term.close()
        oled.close()
        port.close()
        sim.close()
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--speed", type=int, choices=SPEEDS, default=60, help="simulated seconds a real second")
    ap.add_argument("--settings", help="therapy settings, JSON in the scenario format")
    ap.add_argument("--flash", help="keep the pump's flash in this directory (a second run is a restart)")
    ap.add_argument(
        "--firmware",
        choices=("pico", "esp32"),
        help="the board's whole firmware (its build, shell and drivers) in the MicroPython unix port",
    )
    ap.add_argument(
        "--size",
        choices=("normal", "big", "compact"),
        default="normal",
        help="the OLED in 64x32 characters (normal), 128x32 (big) or 64x16 (compact)",
    )
    args = ap.parse_args(argv)
    settings = DEMO_SETTINGS
    if args.settings:
        try:
            with open(args.settings) as f:
                settings = json.load(f)
        except (OSError, ValueError) as e:
            sys.exit("termsim: %s: %s" % (args.settings, e))
    tmp = None
    flash = args.flash
    if flash is None:
        tmp = flash = tempfile.mkdtemp(prefix="pump-flash-")
    try:
        from pump.errors import Refused
        from scenario import ScenarioError

        try:
            if args.firmware:
                sim = FirmwareSim(settings, flash, args.speed, args.firmware)
            else:
                sim = Simulator(settings, flash, args.speed)
        except (Refused, ScenarioError) as e:
            sys.exit("termsim: settings: %s" % e)
        return run(sim, args.size)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
