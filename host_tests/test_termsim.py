"""The interactive simulator (tools/termsim.py, `make sim`) driven through a pseudo-terminal,
as a person at a terminal drives it: keys in, the drawn screen out."""

import os
import pty
import re
import select
import subprocess
import sys
import time

import pumpsim

ROOT = pumpsim.ROOT
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
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

    def read(self, timeout=0.2):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    self.seen += ANSI.sub("", os.read(self.master, 65536).decode("utf-8", "replace"))
                except OSError:
                    break
        return self.seen

    def wait_for(self, text, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.read(0.2):
                return self.last_screen()
        raise AssertionError("%r never appeared; last screen:\n%s" % (text, self.last_screen()))

    def last_screen(self):
        """The text beside the OLED and the status lines of the last picture drawn."""
        parts = self.seen.split("+" + "-" * 64 + "+")  # the OLED's frame: above it and below it
        return parts[-2] + parts[-1] if len(parts) > 2 else self.seen

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


def test_a_bolus_on_the_keys_is_confirmed_delivered_and_shown():
    t = Terminal("--speed", "60")
    try:
        t.wait_for("|RUNNING         |")
        t.keys("\r\r\r")  # menu, bolus kinds, normal
        t.wait_for("|BOLUS           |")
        t.keys("w" * 19)  # 1.00 U
        t.wait_for("|   1.00 U       |")
        t.keys("\r")
        t.wait_for("|Deliver bolus   |")
        t.keys("\r")
        t.wait_for("|Done:           |")
        t.wait_for("bolus 1.00 U,", timeout=60)  # 2 U a minute at 60x: a second
        assert "|Last 1.00U" in t.wait_for("|Last 1.00U", timeout=60)
        t.keys("q")
        assert t.proc.wait(10) == 0
    finally:
        t.close()


def test_an_occlusion_injected_from_the_keys_alarms_sounds_and_is_acknowledged():
    t = Terminal("--speed", "600")
    try:
        t.wait_for("|RUNNING         |")
        t.keys("1")  # the line blocked
        t.wait_for("occlusion ON")
        t.wait_for("|!OCCLUSION      |", timeout=90)
        screen = t.wait_for("sounding (high)", timeout=30)
        assert "|STOPPED         |" in screen and "|!OCCLUSION      |" in screen
        t.keys("1")  # cleared
        t.keys("\r")  # OK: acknowledged, and with its cause gone, cleared
        t.wait_for("alarm occlusion cleared", timeout=30)
    finally:
        t.close()
