"""The interactive simulator (tools/termsim.py, `make sim`) driven through a pseudo-terminal,
as a person at a terminal drives it: keys in, the drawn screen out."""

import os
import pty
import re
import subprocess
import sys
import threading
import time

import pumpsim
import pytest

ROOT = pumpsim.ROOT
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """The simulator on a pseudo-terminal, its output drained all the time by a thread (as a
    terminal does: a simulator whose screen output is not read would block)."""

    def __init__(self, *args):
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tools", "termsim.py"), *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            close_fds=True,
        )
        os.close(slave)
        self.seen = ""
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self):
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self.seen = (self.seen + ANSI.sub("", data.decode("utf-8", "replace")))[-300000:]

    def read(self, timeout=0.2):
        time.sleep(timeout)
        with self._lock:
            return self.seen

    def wait_for(self, text, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.read(0.2):
                return self.last_screen()
        raise AssertionError("%r never appeared; last screen:\n%s" % (text, self.last_screen()))

    def wait_until(self, check, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.read(0.2)
            if check(self.last_screen()):
                return self.last_screen()
        raise AssertionError("never so; last screen:\n%s" % self.last_screen())

    def last_screen(self):
        """The text beside the OLED and the status lines of the last picture drawn."""
        with self._lock:
            seen = self.seen
        parts = seen.split("+" + "-" * 64 + "+")  # the OLED's frame: above it and below it
        return parts[-2] + parts[-1] if len(parts) > 2 else seen

    def keys(self, text):
        for ch in text:
            os.write(self.master, ch.encode())
            self.read(0.08)  # one key a frame, as fingers press them

    def close(self):
        if self.proc.poll() is None:
            os.write(self.master, b"q")
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        os.close(self.master)


MODES = {"core": (), "firmware": ("--firmware", "pico")}


@pytest.mark.parametrize("mode", MODES)
def test_a_bolus_on_the_keys_is_confirmed_delivered_and_shown(mode):
    """make sim, in its two modes: the core on the CPython rig, and the Pico build's whole
    firmware in the MicroPython unix port (keys pressed on its button pins)."""
    t = Terminal("--speed", "60", *MODES[mode])
    try:
        t.wait_for("|RUNNING         |", timeout=90)
        t.keys("\r\r\r")  # menu, bolus kinds, normal
        t.wait_for("|BOLUS           |")
        t.keys("w" * 19)  # 1.00 U
        t.wait_for("|   1.00 U       |")
        t.keys("\r")
        t.wait_for("|Deliver bolus   |")
        t.keys("\r")
        t.wait_for("bolus 1.00 U,", timeout=60)  # 2 U a minute at 60x: a second
        t.keys("b")  # BACK on the home screen does nothing but wake it, should it be dark
        assert "|Last 1.00U" in t.wait_for("|Last 1.00U", timeout=60)
        t.keys("q")
        assert t.proc.wait(10) == 0
    finally:
        t.close()


@pytest.mark.parametrize("mode", MODES)
def test_an_occlusion_injected_from_the_keys_alarms_sounds_and_is_acknowledged(mode):
    t = Terminal("--speed", "600", *MODES[mode])
    try:
        t.wait_for("speed 600x   running", timeout=90)  # at 600x the screen may be dark already
        t.keys("1")  # the line blocked
        t.wait_for("occlusion ON")
        t.wait_for("|!OCCLUSION      |", timeout=90)
        screen = t.wait_for("sounding (high)", timeout=30)
        assert "|STOPPED         |" in screen and "|!OCCLUSION      |" in screen
        t.keys("1")  # cleared
        t.keys("\r")  # OK: acknowledged, and with its cause gone, cleared
        t.wait_until(lambda screen: "Buzzer: quiet" in screen and "OCCLUSION" not in screen, timeout=30)
    finally:
        t.close()
