"""The home screen: what the pump is doing, as 8 lines of at most 16 characters.

    rows = lines(pump, battery_mv)
    draw(canvas, rows)   # canvas: any framebuf.FrameBuffer-like 128x64 one-bit surface

The text is computed here, from the pump alone, so it is tested on the host like the rest of
the core; draw() only puts it on a canvas with fill() and text() (the 8x8 font of
MicroPython's framebuf: 16 characters a line, 8 lines). The active alarm owns the bottom
line, marked with "!" and shown inverted so it stands out.
"""

from pump.therapy import RUNNING

_WIDTH = 128
_LINE = 8


def _u(mu, decimals=2):
    """Milliunits as a number of units: 1250 -> '1.25' (decimals 2) or '1.3' (decimals 1)."""
    if decimals == 1:
        mu = (mu + 50) // 100 * 100
        return "%d.%d" % (mu // 1000, mu % 1000 // 100)
    mu = (mu + 5) // 10 * 10
    return "%d.%02d" % (mu // 1000, mu % 1000 // 10)


def _hhmm(ms):
    m = ms // 60000
    return "%02d:%02d" % (m // 60, m % 60)


def lines(pump, battery_mv):
    """The home screen's 8 lines for `pump` (pump/core.py) and the battery's voltage."""
    mv = (battery_mv + 50) // 100
    rows = [_hhmm(pump.tod_ms) + "   BAT %d.%dV" % (mv // 10, mv % 10)]
    t = pump.temp
    if pump.mode != RUNNING:
        rows.append(pump.mode.upper())
    elif t is not None:
        left = (t.left_ms + 59999) // 60000
        what = "%d%%" % t.percent if t.percent is not None else "ABS"
        rows.append("TEMP %s %d:%02d" % (what, left // 60, left % 60))
    elif pump.limit_hold:
        rows.append("HELD: " + pump.limit_hold.upper())
    else:
        rows.append("RUNNING")
    rows.append("Basal %s U/h" % _u(pump.programmed_basal_mu_h() if pump.mode == RUNNING else 0))
    rows.append("IOB   %s U" % _u(pump.iob_mu()))
    rows.append("Res   %s U" % _u(pump.reservoir_mu(), 1))
    b = pump.current_bolus
    if b is not None:
        rows.append("Bolus %s/%s" % (_u(pump.rig.mu_for(b.delivered_steps), 1), _u(b.programmed_mu, 1)))
    elif pump.prime_dose is not None:
        rows.append("Priming...")
    elif pump.last_bolus is not None:
        mu = pump.last_bolus[0]
        rows.append("Last %sU %s" % (_u(mu, 1 if mu >= 10000 else 2), _hhmm(pump.last_bolus[1])))
    else:
        rows.append("")
    rows.append("")
    top = pump.alarms.top()
    rows.append(("!" + top[2]) if top else "")
    return rows


def draw(canvas, rows):
    """Put the lines on the canvas: black background, white text, the alarm line inverted."""
    canvas.fill(0)
    last = len(rows) - 1
    for i in range(len(rows)):
        text = rows[i][:16]
        if i == last and text[:1] == "!":
            canvas.fill_rect(0, i * _LINE, _WIDTH, _LINE, 1)
            canvas.text(text, 0, i * _LINE, 0)
        else:
            canvas.text(text, 0, i * _LINE, 1)
