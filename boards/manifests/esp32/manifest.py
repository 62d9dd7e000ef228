# Freeze the pump firmware into a custom MicroPython image for the esp32 rig, so its code
# objects and interned names live in flash instead of the heap (docs/hardware.md):
#
#   cd micropython/ports/esp32
#   make BOARD=ESP32_GENERIC FROZEN_MANIFEST=$PWD/<this repository>/boards/manifests/esp32/manifest.py
#
# Paths are relative to this file. The firmware imports its board as `board`; the frozen
# image gets boards/esp32_devkit.py as `esp32_devkit` and the one-line board.py beside this file.
include("$(PORT_DIR)/boards/manifest.py")
package("pump", base_path="../../../firmware")
package("hal", base_path="../../../firmware")
package("shell", base_path="../../../firmware")
module("esp32_devkit.py", base_path="../..")
module("board.py")
