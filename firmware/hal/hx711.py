"""Plunger force from a load cell through an HX711 bridge ADC (the supervisor's hw.line).

    line = Hx711(Pin(board.PIN_HX711_DATA, Pin.IN), Pin(board.PIN_HX711_CLOCK, Pin.OUT),
                 board.HX711_COUNTS_PER_N)
    line.tare()        # with nothing pressing on the cell
    line.force_mn()    # the newest reading in millinewtons; never waits

The HX711 pulls DATA low when a conversion is ready (10 a second). A read clocks out 24 bits,
most significant first, two's complement, then one more pulse to keep channel A at gain 128.
CLOCK held high longer than 60 us powers the chip down, so a read must not be interrupted for
that long: on a board the shell runs it with interrupts off (`irq_off`/`irq_on`, handed in:
machine.disable_irq / enable_irq). force_mn() reads only when a conversion is ready and
otherwise returns the last one, so it costs nothing while the chip converts.
"""


class Hx711:
    def __init__(self, data, clock, counts_per_n, irq_off=None, irq_on=None):
        self._data = data
        self._clock = clock
        self._counts_per_mn = counts_per_n // 1000  # divides without a long-integer product
        self._irq_off = irq_off
        self._irq_on = irq_on
        self._offset = 0
        self._last_mn = 0
        clock.value(0)  # powered up

    def ready(self):
        return self._data.value() == 0

    def read_raw(self):
        """One conversion's signed 24-bit count (call when ready())."""
        data = self._data
        clock = self._clock
        state = self._irq_off() if self._irq_off else None
        value = 0
        for _ in range(24):
            clock.value(1)
            clock.value(0)
            value = (value << 1) | data.value()
        clock.value(1)  # the 25th pulse: channel A, gain 128 next time
        clock.value(0)
        if self._irq_on:
            self._irq_on(state)
        if value & 0x800000:
            value -= 0x1000000
        return value

    def tare(self, samples=8, wait=None):
        """Take the mean of `samples` conversions as zero force. wait() is called while the
        chip converts (the shell passes a short sleep)."""
        total = 0
        for _ in range(samples):
            while not self.ready():
                if wait:
                    wait()
            total += self.read_raw()
        self._offset = total // samples

    def force_mn(self):
        if self.ready():
            self._last_mn = (self.read_raw() - self._offset) // self._counts_per_mn
        return self._last_mn

    def deinit(self):
        self._clock.value(1)  # held high: the chip powers down
