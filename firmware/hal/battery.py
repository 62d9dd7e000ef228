"""Battery voltage on an ADC pin through a resistor divider (the supervisor's hw.battery).

    battery = Battery(machine.ADC(board.PIN_BATTERY), board.BATTERY_DIVIDER_X1000)
    battery.mv()   # the cell's voltage in mV, the mean of `samples` readings

read_u16() spans 0..65535 for 0..3.3 V on both chips (the ESP32 with its default 11 dB
attenuation reads up to about 3.1 V; the divider keeps a 4.2 V cell at 2.1 V). Integers only.
"""

_VREF_MV = 3300
_FULL = 65535


class Battery:
    def __init__(self, adc, divider_x1000, samples=8):
        self._adc = adc
        self._divider = divider_x1000
        self._samples = samples

    def mv(self):
        total = 0
        for _ in range(self._samples):
            total += self._adc.read_u16()
        pin_mv = total * _VREF_MV // (_FULL * self._samples)
        return pin_mv * self._divider // 1000

    def deinit(self):
        """Nothing to release: an ADC channel holds no resource between reads."""
