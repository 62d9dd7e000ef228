"""Hardware interfaces the core is handed, and the MicroPython drivers behind them.

The core only ever calls these methods, so a fake is any object that has them (the virtual
rig's are in host_tests/rig.py). Every driver is handed its pins or buses (boards/<board>.py
names them) and has deinit(). A driver named *_rp2.py or *_esp32.py is that chip's alone:
`make build` and `make check` give it to that board only.

motor    move(steps), steps_done(), stop(), retract(steps), steps_back(), fault_active()
                                                                hal/stepper_rp2.py (PIO)
                                                                hal/stepper_esp32.py (RMT + PCNT)
buzzer   play(pattern), stop(), self_test()                     hal/buzzer.py (PWM)
line     force_mn(): plunger force in mN                        hal/hx711.py (load cell)
battery  mv(): battery voltage                                  hal/battery.py (ADC)
seat     seated(): plunger-seated switch                        hal/seat.py
and, for the shell: buttons, poll(now_ms) -> [(name, "short"|"long"|"repeat")]
                                                                hal/buttons.py
                    display, show(frame) -> False on an I2C error   hal/ssd1306.py
                    flash, open/rename/remove/listdir/size          hal/storage.py (LittleFS)
                    clock, now() -> (day, tod_ms), set(day, tod_ms)  hal/clock.py (RTC)
                    watchdog, alive(task), feed()                    hal/watchdog.py (WDT)
"""
