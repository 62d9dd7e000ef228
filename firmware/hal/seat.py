"""The plunger-seated switch (the supervisor's hw.seat): a microswitch to ground, read on a
pulled-up input, so low means seated. A reading must hold for `debounce` consecutive calls
before it counts, so one bounce never unseats a delivering pump."""


class Seat:
    def __init__(self, pin, active_low=True, debounce=2):
        self._pin = pin
        self._active = 0 if active_low else 1
        self._debounce = debounce
        self._state = pin.value() == self._active
        self._streak = 0

    def seated(self):
        now = self._pin.value() == self._active
        if now == self._state:
            self._streak = 0
        else:
            self._streak += 1
            if self._streak >= self._debounce:
                self._state = now
                self._streak = 0
        return self._state

    def deinit(self):
        """Nothing to release: an input pin holds no resource."""
