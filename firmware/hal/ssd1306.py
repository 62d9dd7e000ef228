"""The 128x64 OLED: an SSD1306 on I2C, showing a 1-bit frame buffer.

    oled = Ssd1306(machine.I2C(board.I2C_ID, sda=..., scl=..., freq=board.I2C_FREQ), board.OLED_ADDR)
    oled.show(buf)   # buf: 1024 bytes, framebuf.MONO_VLSB layout (8 rows a byte, 8 pages)

An I2C error is counted and reported (show() returns False, `errors` counts, `last_error`
holds the errno), never raised: a display that fails must not stop delivery. After a failure
the next show() sets the panel up again first, so a reseated cable recovers by itself.
"""

WIDTH = 128
HEIGHT = 64
BUFFER_BYTES = WIDTH * HEIGHT // 8

# Set-up, from the SSD1306 datasheet: display off; horizontal addressing; start line 0;
# segment remap and COM scan reversed (the module's usual orientation); 64 rows; offset 0;
# alternative COM pins; clock; pre-charge for the internal charge pump; VCOMH; contrast;
# display follows RAM; not inverted; charge pump on; display on.
_INIT = (
    b"\xae",
    b"\x20\x00",
    b"\x40",
    b"\xa1",
    b"\xa8\x3f",
    b"\xc8",
    b"\xd3\x00",
    b"\xda\x12",
    b"\xd5\x80",
    b"\xd9\xf1",
    b"\xdb\x30",
    b"\x81\xcf",
    b"\xa4",
    b"\xa6",
    b"\x8d\x14",
    b"\xaf",
)
_WINDOW = b"\x21\x00\x7f\x22\x00\x07"  # columns 0..127, pages 0..7: the whole screen


class Ssd1306:
    def __init__(self, i2c, addr=0x3C):
        self._i2c = i2c
        self._addr = addr
        self._cmd = bytearray(2)  # control byte 0x00 (commands follow), then one byte
        self._ready = False
        self.errors = 0
        self.last_error = 0
        self._setup()

    def _command(self, data):
        for b in data:
            self._cmd[1] = b
            self._i2c.writeto(self._addr, self._cmd)

    def _setup(self):
        try:
            for command in _INIT:
                self._command(command)
            self._ready = True
        except OSError as e:
            self._failed(e)

    def _failed(self, e):
        self._ready = False
        self.errors += 1
        self.last_error = e.errno or 0

    def show(self, buf):
        """Send a whole frame; False (and counted) if the I2C bus failed."""
        if not self._ready:
            self._setup()
            if not self._ready:
                return False
        try:
            self._command(_WINDOW)
            self._i2c.writevto(self._addr, (b"\x40", buf))  # 0x40: data follows
            return True
        except OSError as e:
            self._failed(e)
            return False

    def power(self, on):
        try:
            self._command(b"\xaf" if on else b"\xae")
        except OSError as e:
            self._failed(e)

    def contrast(self, level):
        try:
            self._command(bytes((0x81, level & 0xFF)))
        except OSError as e:
            self._failed(e)

    def deinit(self):
        self.power(False)
