# Freeze the pump firmware into a custom MicroPython image for the pico rig, so its code
# objects and interned names live in flash instead of the heap (docs/hardware.md):
#
#   cd micropython/ports/rp2
#   make BOARD=RPI_PICO FROZEN_MANIFEST=$PWD/<this repository>/boards/manifests/pico/manifest.py
#
# Paths are relative to this file. The firmware imports its board as `board`; the frozen
# image gets boards/pico.py as `pico` and the one-line board.py beside this file.
include("$(PORT_DIR)/boards/manifest.py")
package("pump", base_path="../../../firmware")
package("hal", base_path="../../../firmware")
package("shell", base_path="../../../firmware")
module("pico.py", base_path="../..")
module("board.py")
