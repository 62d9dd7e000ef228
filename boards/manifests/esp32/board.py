"""The board module of a frozen esp32 image: boards/esp32_devkit.py under the name the firmware imports."""

from esp32_devkit import *  # noqa: F403
