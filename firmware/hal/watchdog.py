"""The hardware watchdog: if the shell stops feeding it, the board resets, and the pump comes
up suspended with the unexpected-restart alarm (S19, pump/boot.py).

    dog = Watchdog(machine.WDT(timeout=board.WDT_MS))
    dog.feed()    # the watchdog task, when every other task has shown it is alive

Every task that must stay alive checks in (alive(name)); feed() feeds the hardware only when
all of them have checked in since the last feed, so one stuck task resets the board even while
the others run. A hardware watchdog cannot be stopped once started: deinit() only stops
feeding it.
"""


class Watchdog:
    def __init__(self, wdt, tasks=()):
        self._wdt = wdt
        self._tasks = list(tasks)
        self._seen = bytearray(len(self._tasks))
        self.feeds = 0

    def alive(self, name):
        self._seen[self._tasks.index(name)] = 1

    def feed(self):
        """Feed the hardware if every task checked in since the last feed; True if fed."""
        for seen in self._seen:
            if not seen:
                return False
        for i in range(len(self._seen)):
            self._seen[i] = 0
        self._wdt.feed()
        self.feeds += 1
        return True

    def deinit(self):
        self._tasks = []
        self._seen = bytearray(0)
