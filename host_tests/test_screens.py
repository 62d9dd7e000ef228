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


def test_pumpsim_writes_a_png_and_the_text_of_every_snapshot_in_a_scenario(tmp_path):
    import pumpsim

    assert (
        pumpsim.main([pumpsim.ROOT + "/scenarios/buttons.json", "--quiet", "--screens", str(tmp_path)]) == 0
    )
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names[0] == "01-home.png" and "04-bolus-amount.png" in names and names[-1] == "screens.txt"
    assert len(names) == 16
    text = (tmp_path / "screens.txt").read_text()
    assert "|Deliver bolus   |\n  |  2.00 U        |" in text
    assert "|!OCCLUSION      |" in text and "|CALCULATOR      |" in text
    # each picture is the frame of its text: the confirm screen's pixels, checked
    shots = text.split("\n\n")
    confirm = [s for s in shots if s.startswith("05-bolus-confirm.png")][0]
    rows = [line[3:19] for line in confirm.splitlines()[1:]]
    (frame,) = screens.frames([rows])
    img = Image.open(tmp_path / "05-bolus-confirm.png")
    for y in range(64):
        for x in range(128):
            assert (img.getpixel((x * 4 + 2, y * 4 + 2)) > 0) == screens.lit(frame, x, y)
