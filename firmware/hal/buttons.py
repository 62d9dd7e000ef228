"""The four buttons, polled and debounced, with short and long presses and a repeat while
held (for fast value entry).

    buttons = Buttons({"UP": Pin(board.PIN_UP, Pin.IN, Pin.PULL_UP), ...})
    for name, kind in buttons.poll(time.ticks_ms()):   # every 10-20 ms
        ...   # kind: "down" (the press has begun), "short" (released before long_ms),
              # "long" (held long_ms, once), "repeat" (every repeat_ms after that, while held)

A button is pressed when its pin reads low (to ground, pulled up). A change counts only once
the pin has read the same for debounce_ms, so contact bounce never makes two presses, and a
press shorter than that is ignored. A button already down when polling starts gives
nothing at all until it is released and pressed again: only a press that begins while the
pump watches counts, so a key stuck since power-on can never confirm a dose. Integers only;
poll() allocates only the events it returns.
"""

from pump.compat import ticks_diff


class Buttons:
    def __init__(self, pins, debounce_ms=20, long_ms=800, repeat_ms=150):
        self._names = sorted(pins)
        self._pins = [pins[name] for name in self._names]
        n = len(self._names)
        self._debounce = debounce_ms
        self._long = long_ms
        self._repeat = repeat_ms
        self._down = bytearray(n)  # debounced state: 1 pressed
        self._raw = bytearray(n)  # last raw reading
        self._raw_since = [0] * n  # when the raw reading last changed
        self._down_since = [0] * n  # when the debounced press began
        self._next = [0] * n  # 0 before the long press; then when the next repeat is due
        self._fresh = bytearray(n)  # 1: this press began while polling (it gave "down")
        self._started = False

    def poll(self, now_ms):
        events = []
        for i in range(len(self._pins)):
            raw = 1 if self._pins[i].value() == 0 else 0
            if not self._started or raw != self._raw[i]:
                self._raw[i] = raw
                self._raw_since[i] = now_ms
                if not self._started:
                    self._down[i] = raw  # a button held at start-up counts from now
                    self._down_since[i] = now_ms
                continue
            if raw != self._down[i] and ticks_diff(now_ms, self._raw_since[i]) >= self._debounce:
                self._down[i] = raw
                if raw:
                    self._down_since[i] = self._raw_since[i]
                    self._next[i] = 0
                    self._fresh[i] = 1
                    events.append((self._names[i], "down"))
                else:
                    if not self._next[i] and self._fresh[i]:
                        events.append((self._names[i], "short"))
                    self._fresh[i] = 0
            if self._down[i] and self._fresh[i]:
                held = ticks_diff(now_ms, self._down_since[i])
                if not self._next[i]:
                    if held >= self._long:
                        events.append((self._names[i], "long"))
                        self._next[i] = self._long + self._repeat
                elif held >= self._next[i]:
                    events.append((self._names[i], "repeat"))
                    self._next[i] += self._repeat
        self._started = True
        return events

    def idle(self):
        """True once every button is up and has read up for the debounce time: nothing more
        can come until the next press (the shell then stops polling until a pin interrupt)."""
        for i in range(len(self._pins)):
            if self._down[i] or self._raw[i]:
                return False
        return self._started

    def pressed(self, name):
        """True while the button is (debounced) down."""
        return bool(self._down[self._names.index(name)])

    def deinit(self):
        self._pins = []
