"""A bench tool (tools/selftest.py, tools/benchdemo.py) on the virtual rig, in the MicroPython
unix port (host_tests/test_firmware.py).

    python tools/mprom.py IMAGE 152K selfrun FLASH MODULE PRESSES

The rig is wired to the board as for the whole-firmware run (machine.py here). PRESSES is
what a person does meanwhile: NAME@MS,... presses button NAME for 200 ms at MS of simulated
time (empty: nothing). Exit status 0 when the tool's main() says all went well.
"""

import sys

sys.path.insert(1, "/rom/lib")

import time  # noqa: E402, F401  (the stand-in: the simulated clock)

import machine  # noqa: E402  (the stand-in: the rig)


def main(argv):
    import board

    board.FLASH_ROOT = argv[1]
    machine.setup({"ticks_start_ms": 0, "day": 9500, "tod_ms": 8 * 3600000}, board)
    for press in argv[3].split(",") if len(argv) > 3 and argv[3] else ():
        name, ms = press.split("@")
        pin = machine.net(getattr(board, "PIN_" + name))
        machine.at(int(ms), lambda pin=pin: pin.drive(0))
        machine.at(int(ms) + 200, lambda pin=pin: pin.drive(1))
    tool = __import__(argv[2])
    return 0 if tool.main() else 1
