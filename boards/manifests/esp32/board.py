"""The board module of a frozen esp32 image: boards/esp32.py under the name the firmware imports."""

from esp32 import *  # noqa: F403
