"""Hardware interfaces the core is handed, and the MicroPython drivers behind them.

The core only ever calls these methods, so a fake is any object that has them.

Stepper (plunger motor):
    move(steps)    start moving `steps` forward (non-blocking; pulses come from hardware)
    steps_done()   cumulative count of pulses actually made since start (monotonic)
    stop()         halt at once; steps_done() then tells how far it got
"""
