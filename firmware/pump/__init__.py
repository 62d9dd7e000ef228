"""The hardware-free pump core: therapy, delivery, limits, insulin on board.

Nothing in this package reads a clock, sleeps or touches a pin; it runs unchanged on
CPython and on MicroPython.
"""
