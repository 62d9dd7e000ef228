"""The serial link's transport on a board (pump/link.py is the protocol): loaded the first time
a host talks or the pairing screen opens, so a pump nobody connects to never holds it.

The display task looks at the USB port once a second and wakes the link task (shell/app.py);
serve() then reads the port in bounded steps every 20 ms, answers each frame, and after 2 s
without a byte waits to be woken again.
"""

from asyncio import sleep_ms

from pump.compat import const
from pump.link import Lines, Link, LinkStore

_STEP_MS = const(20)
_QUIET_STEPS = const(100)  # 2 s without a byte: back to sleep
_STEP_BYTES = const(2100)  # at most this many bytes a step: a frame and its newline
_TASK = const(6)  # shell/app.py's LINK


def load(app):
    """The app's Link, made on first use."""
    if app.link is None:
        from os import urandom

        hw = app.hw
        app.link = Link(
            app.pump,
            LinkStore(hw.flash),
            urandom,
            app._save_settings,
            lambda t: announce(app, t),
            hw.clock.set,
        )
    return app.link


def announce(app, text):
    """A dose over the link: shown on the screen, and a short beep."""
    ui = app.ui
    if ui is None:
        from pump.ui import Ui

        ui = app.ui = Ui(app.pump, app._save_settings, app.hw.clock.set, app._link)
    ui.show(["FROM THE LINK:", "", text], app._ticks_ms())
    app._screen_left_ms = 30000
    app.hw.buzzer.play(b"\x0a\x0a\x0a")


async def serve(app):
    lines = Lines()
    while True:
        poller, read, write = app.link_io
        try:
            link = load(app)
        except MemoryError:  # the heap cannot take the link just now: the host will retry
            await sleep_ms(1000)
            continue
        quiet = 0
        while quiet < _QUIET_STEPS:
            t0 = app._ticks_us()
            got = 0
            while got < _STEP_BYTES and poller.poll(0):
                data = read(1)
                if not data:  # the port has closed: no link until a restart
                    app.link_io = None
                    return
                got += 1
                for line in lines.feed(data):
                    write(link.frame(line, app._ticks_ms()) + b"\n")
            quiet = 0 if got else quiet + 1
            app._end(_TASK, t0)
            await sleep_ms(_STEP_MS)
        await app._data.wait()
        app._data.clear()
