"""Screens on the host (tools/screens.py): the frames come from MicroPython's own framebuf,
and the PNG shows exactly those pixels."""

import screens
from PIL import Image


def test_a_png_shows_exactly_the_frame_micropython_draws(tmp_path):
    rows = ["09:32   BAT 3.9V", "RUNNING", "", "", "", "", "", "!OCCLUSION"]
    (frame,) = screens.frames([rows])
    assert len(frame) == 1024
    # the alarm line is inverted: its top-left pixel is lit, the first line's is not
    assert screens.lit(frame, 127, 56) and not screens.lit(frame, 127, 0)
    on = sum(screens.lit(frame, x, y) for y in range(64) for x in range(128))
    assert 300 < on < 2000
    path = tmp_path / "s.png"
    screens.png(frame, str(path), scale=3)
    img = Image.open(path)
    assert img.size == (384, 192)
    for y in range(64):
        for x in range(128):
            assert (img.getpixel((x * 3 + 1, y * 3 + 1)) > 0) == screens.lit(frame, x, y)


def test_the_tour_shows_the_main_screens_in_order():
    shots = dict(screens.tour())
    assert shots["home"][1] == "RUNNING" and shots["home"][0].startswith("09:00")  # 30 minutes after 08:30
    assert shots["menu"][:2] == ["MENU", ">Bolus"]
    assert shots["bolus-confirm"][:2] == ["Deliver bolus", "  2.00 U"]
    assert shots["home-bolus-running"][5].startswith("Bolus ")
    assert shots["home-occlusion-alarm"][1] == "STOPPED" and shots["home-occlusion-alarm"][7] == "!OCCLUSION"


def test_screens_writes_a_png_per_screen(tmp_path):
    assert screens.main([str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names[0] == "01-home.png" and len(names) == 6
