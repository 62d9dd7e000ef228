"""The board module of a frozen pico image: boards/pico.py under the name the firmware imports."""

from pico import *  # noqa: F403
