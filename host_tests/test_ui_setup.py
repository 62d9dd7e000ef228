"""The interface's other flows (pump/ui.py, pump/ui_setup.py): the bolus calculator,
extended and dual boluses, basal profiles, history, settings, date and time, and the
confirmations a restart asks for; driven by button events, checked on the screen text, on
the motor's steps and on what is stored."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ui import Person, menu_to

from fakeflash import FakeFlash
from harness import Sim
from pump import settings_store
from pump.boot import start
from pump.settings_user import settings_to_record

TWO = {
    "basal_profiles": {"work": [["00:00", 1.0], ["12:00", 0.5]], "rest": [["00:00", 0.8]]},
    "active_profile": "work",
    "icr_g_per_u": [["00:00", 10]],
    "isf_mgdl_per_u": [["00:00", 50]],
    "target_mgdl": [["00:00", 100]],
    "auto_off_h": 0,
}


class Booted(Sim):
    """A pump started from its flash as a board starts it (pump/boot.py), with a history."""

    def __init__(self, settings=TWO, fs=None, tod_min=8 * 60, day=9500, **kw):
        super().__init__(settings=settings, tod_min=tod_min, **kw)
        self.fs = fs or FakeFlash()
        if fs is None:
            settings_store.save(self.fs, settings_to_record(self.settings))
        self.pump = start(
            self.fs, self.rig, self.hw, self._emit, self.clock.ticks_ms(), day, tod_min * 60000, 200000
        )
        self.saved = []

    def person(self):
        you = Person(self)
        you.ui.save = self.save
        return you

    def save(self, record):
        settings_store.save(self.fs, record)
        self.saved.append(record)


def bolus_kind(you, kind):
    """From home, to the first screen of a kind of bolus."""
    menu_to(you, "Bolus")
    you.press("OK")
    menu_to(you, kind, open_menu=False)
    you.press("OK")


def test_the_calculator_shows_its_breakdown_and_the_bolus_confirmed_is_the_one_delivered():
    sim = Booted()
    you = sim.person()
    bolus_kind(you, "Calculator")
    you.press("UP", 45)  # 45 g
    you.press("OK")
    you.press("UP", 200)  # BG 200 mg/dL
    you.press("OK")
    screen = you.screen()
    # 45 g / 10 g/U = 4.5 U; (200 - 100) / 50 = 2 U; nothing on board
    assert screen[:5] == ["CALCULATOR", "Carbs  4.50 U", "BG     2.00 U", "IOB  -0.00 U", "Suggest 6.50 U"]
    you.press("OK")  # the amount, starting at the suggestion
    assert "6.50 U" in you.screen()[2]
    you.press("DOWN", 10)  # the person takes 0.5 U less
    you.press("OK")
    assert you.screen()[:3] == ["Deliver bolus", "  6.00 U", "calc 6.50 U"]
    you.press("OK")
    sim.run_min(5)
    assert sim.bolus_mu == 6000 and sim.steps >= 6000 * 200 // 1000
    assert [e for e in sim.events if e["code"] == "calc"][0]["suggested_mu"] == 6500


def test_a_low_bg_in_the_calculator_suggests_nothing_and_says_why():
    sim = Booted()
    you = sim.person()
    menu_to(you, "Bolus")
    you.press("OK")
    you.press("DOWN")
    you.press("OK")  # Calculator
    you.press("UP", 30)
    you.press("OK")
    you.press("UP", 60)  # BG 60
    you.press("OK")
    text = " ".join(you.screen())
    assert you.screen()[0] == "NO BOLUS" and "Suggest 0.00 U" in text and "treat the low" in text
    you.press("OK")
    assert not you.ui.stack and sim.pump.current_bolus is None


def test_an_extended_and_a_dual_bolus_are_confirmed_with_their_parts_and_delivered_so():
    sim = Booted()
    you = sim.person()
    bolus_kind(you, "Dual wave")
    you.press("UP", 59)  # 3.00 U
    you.press("OK")
    you.press("DOWN", 2)  # 30 % now
    you.press("OK")
    you.press("DOWN", 4)  # the rest over 1:00 h
    you.press("OK")
    assert you.screen()[:5] == ["Dual bolus", "  3.00 U", "now  0.90 U", "then 2.10 U", "over 1:00 h"]
    you.press("OK")
    sim.run_min(2)
    assert 900 <= sim.bolus_mu < 1000  # the part now, and the first of the rest
    sim.run_min(60)
    assert sim.bolus_mu == 3000 and sim.doses[-1]["kind"] == "dual"
    you.ui.tick(sim.clock.ticks_ms())
    bolus_kind(you, "Extended")
    you.press("UP", 19)  # 1.00 U
    you.press("OK")
    you.press("UP", 2)  # over 2:30 h
    you.press("OK")
    assert you.screen()[:3] == ["Extended bolus", "  1.00 U", "over 2:30 h"]
    you.press("OK")
    sim.run_min(151)
    assert sim.bolus_mu == 4000 and sim.doses[-1]["kind"] == "extended"


def edit_profile(you, label):
    """From home, to the segment list of the profile listed as `label`."""
    menu_to(you, "Basal profiles")
    you.press("OK")
    menu_to(you, label, open_menu=False)
    you.press("OK")
    menu_to(you, "Edit", open_menu=False)
    you.press("OK")


def test_profiles_are_viewed_switched_and_edited_with_the_change_stored_first():
    sim = Booted()
    you = sim.person()
    menu_to(you, "Basal profiles")
    you.press("OK")
    assert you.screen()[1:3] == ["> rest", " *work"]
    menu_to(you, " rest", open_menu=False)
    you.press("OK")
    you.press("OK")  # View
    assert you.screen()[:3] == ["rest", "00:00 0.80 U/h", "day 19.20 U"]
    you.press("OK")
    menu_to(you, "Use this one", open_menu=False)
    you.press("OK")
    assert you.screen()[:3] == ["Basal profile", "  rest", "  19.20 U a day"]
    you.press("OK")
    assert sim.pump.settings.active_profile == "rest" and sim.pump.programmed_basal_mu_h() == 800
    sim.run_min(0.1)
    you.ui.home()
    # editing needs the pump suspended: refused first, with the reason
    edit_profile(you, " work")
    menu_to(you, "12:00 0.50 U/h", open_menu=False)
    you.press("OK")
    you.press("OK")  # Rate
    you.press("UP", 5)  # 0.55 U/h
    you.press("OK")
    assert you.screen()[:3] == ["Basal work", "from 12:00", "  0.55 U/h"]
    you.press("OK")
    assert you.screen()[0] == "REFUSED" and "suspend" in " ".join(you.screen())
    assert sim.saved == [] and sim.pump.settings.profiles["work"][3] == 500
    you.ui.home()
    menu_to(you, "Suspend")
    you.press("OK", 2)
    you.ui.home()
    edit_profile(you, " work")
    menu_to(you, "Add segment", open_menu=False)
    you.press("OK")
    you.press("UP", 11)  # 06:00
    you.press("OK")
    assert you.screen()[:4] == ["Basal work", "new segment", "  from 06:00", "  1.00 U/h"]
    you.press("OK")
    assert list(sim.pump.settings.profiles["work"]) == [0, 1000, 360, 1000, 720, 500]
    assert sim.saved and settings_store.load(sim.fs)["profiles"]["work"] == [0, 1000, 360, 1000, 720, 500]


def test_a_settings_change_out_of_its_rules_is_refused_and_nothing_is_stored():
    sim = Booted()
    you = sim.person()
    menu_to(you, "Suspend")
    you.press("OK", 2)
    you.ui.home()
    menu_to(you, "Settings")
    you.press("OK")
    you.press("OK")  # Max bolus, 10 U
    you.hold("UP", 30)  # to 25 U: above the hourly limit of 15 U
    you.press("OK")
    assert you.screen()[0] == "REFUSED" and "max_hourly_u" in " ".join(you.screen())
    assert sim.saved == [] and sim.pump.settings.max_bolus_mu == 10000
    you.ui.home()
    menu_to(you, "Settings")
    you.press("OK")
    you.press("OK")
    you.press("DOWN", 20)  # 9 U
    you.press("OK")
    assert you.screen()[:2] == ["MAX BOLUS", "  9.00 U"]
    you.press("OK")
    assert sim.pump.settings.max_bolus_mu == 9000 and settings_store.load(sim.fs)["max_bolus_mu"] == 9000


def test_history_lists_recent_events_and_daily_totals_from_the_flash():
    sim = Booted(tod_min=23 * 60)
    you = sim.person()
    menu_to(you, "Bolus")
    you.press("OK", 2)
    you.press("UP", 19)
    you.press("OK", 2)  # 1.00 U at 23:00
    sim.run_min(120)  # to 01:00 the next day
    you.ui.home()
    menu_to(you, "History")
    you.press("OK")
    you.press("OK")  # Recent events
    rows = you.screen()
    assert rows[0] == "EVENTS (7 days)" and " bolus 1.00 U" in rows
    you.press("OK")
    you.press("DOWN")
    you.press("OK")  # Daily totals
    rows = you.screen()
    # today: 00:00-01:00 at 1 U/h; yesterday: 23:00-24:00 at 0.5 U/h and the bolus
    assert rows[0] == "DAILY TOTALS" and rows[1] == "today 1.00 U" and rows[2] == " basal 1.00 U"
    assert rows[4].endswith("1.50 U") and rows[5] == " basal 0.50 U" and rows[6] == " bolus 1.00 U"


def test_after_a_long_power_cut_ok_on_the_alarm_asks_for_the_time_and_date():
    sim = Booted()
    sim.pump.clock_lost()
    you = sim.person()
    set_at = []
    you.ui.set_clock = lambda day, tod_ms: set_at.append((day, tod_ms))
    assert you.screen()[-1] == "!CONFIRM TIME"
    you.press("OK")
    assert you.screen()[0] == "HOUR"
    you.press("UP", 2)  # 10
    you.press("OK")
    you.press("UP", 15)  # 10:15
    you.press("OK")
    you.press("OK")  # the year as it is
    you.press("OK")
    you.press("OK")
    rows = you.screen()
    assert rows[0] == "Set date, time" and rows[2] == "  10:15"
    you.press("OK")
    assert sim.pump.tod_ms == (10 * 60 + 15) * 60000 and set_at == [(sim.pump.day, sim.pump.tod_ms)]
    assert not sim.pump.alarms.is_active("clock_lost")


def test_settings_the_pump_could_not_read_are_reviewed_and_confirmed_on_the_pump():
    fs = FakeFlash()
    sim = Booted(fs=fs)  # no settings file: the pump starts suspended on defaults
    you = sim.person()
    assert you.screen()[-1] == "!BAD SETTINGS"
    you.press("OK")
    # the four hard limits it would run under are shown before a person confirms them
    assert you.screen()[:6] == [
        "SETTINGS LOST",
        "bolus 10.00 U",
        "basal 3.00 U/h",
        "hour  15.00 U",
        "day   80.00 U",
        "none 0.00 U",
    ]
    you.press("OK")
    you.press("OK")
    assert not sim.pump.alarms.is_active("settings_invalid")
    assert settings_store.load(fs)["active_profile"] == "none"


def test_an_alarm_that_comes_up_while_in_the_menus_is_listed_and_silenced_there():
    sim = Sim(reservoir_u=21)
    you = Person(sim)
    sim.run_min(59)
    for _ in range(100):  # the person is in the menu when the reservoir runs low
        you.ui.home()
        menu_to(you, "Alarms")
        sim.run_min(0.25)
        if sim.pump.alarms.top():
            break
    you.press("OK")
    assert you.screen()[:2] == ["ALARMS (1)", ">*LOW INSULIN"]
    you.press("OK")
    assert you.screen()[:3] == ["LOW INSULIN", "priority low", "raised"]
    you.press("OK")  # back to the list
    menu_to(you, "Silence 30 min", open_menu=False)
    you.press("OK")
    assert sim.pump.alarms.top()[3] == "silenced" and not you.ui.stack
    sim.run_min(20)
    assert sim.pump.alarms.top()[3] == "silenced"


def test_every_alarm_text_fits_beside_the_home_screens_marker():
    from pump import alarms

    for code in range(len(alarms._NAMES)):
        assert 0 < len(alarms.text(code)) <= 15, alarms.text(code)


def test_civil_dates_round_trip():
    from pump.calendar import civil, day_number

    assert civil(0) == (2000, 1, 1) and day_number(2026, 3, 2) == 9557
    for day in range(0, 40000, 7):
        assert day_number(*civil(day)) == day


def test_a_temp_basal_and_a_bolus_are_set_and_cancelled_on_the_buttons():
    sim = Booted(settings=dict(TWO, max_basal_u_h=3))
    you = sim.person()
    menu_to(you, "Temp basal")
    you.press("OK")
    you.press("UP", 5)  # 150 %
    you.press("OK")
    you.press("UP", 1)  # 1:30 h
    you.press("OK")
    assert you.screen()[:3] == ["Temp basal", "  150 %", "  for 1:30 h"]
    you.press("OK")
    steps = sim.steps
    sim.run_min(60)
    assert 295 <= sim.steps - steps <= 301  # 1.5 U/h for an hour at 200 steps a unit
    you.ui.home()
    menu_to(you, "Cancel temp")
    you.press("OK")
    assert you.screen()[:2] == ["Cancel temp", "basal"]
    you.press("OK")
    assert sim.pump.temp is None and sim.doses[-1]["status"] == "cancelled"
    you.ui.home()
    menu_to(you, "Bolus")
    you.press("OK", 2)
    you.press("UP", 99)  # 5.00 U: two and a half minutes at 2 U a minute
    you.press("OK", 2)
    sim.run_min(1)
    you.ui.home()
    menu_to(you, "Cancel bolus")
    you.press("OK")
    rows = you.screen()
    assert rows[:2] == ["Cancel bolus", "  5.00 U"] and rows[2] in ("given 1.99 U", "given 2.00 U")
    you.press("OK")
    sim.run_min(5)
    d = sim.doses[-1]
    assert d["kind"] == "normal" and d["status"] == "cancelled" and 1900 <= d["delivered_mu"] <= 2100
    assert sim.bolus_mu == d["delivered_mu"]


# "walk": DOWN n times, then OK, so that random presses reach the deep menu items too (a
# seeded sample of 30 such runs reaches 37 different screens, and changes settings)
MASH = st.lists(
    st.tuples(
        st.sampled_from(["OK", "UP", "DOWN", "BACK"]),
        st.sampled_from(["press", "walk", "walk", "hold", "stuck"]),
        st.integers(0, 12),
        st.sampled_from([0, 0, 0, 1, 5, 30]),
    ),
    max_size=150,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MASH)
def test_mashing_every_menu_with_a_flash_never_raises_and_what_is_stored_is_what_runs(acts):
    """Random presses through every menu of a pump with its history and settings file: the
    interface never raises, every screen fits the panel, no bolus starts without its confirm
    screen showing its amount, and the settings the pump runs on are always the ones stored."""
    sim = Booted()
    you = sim.person()
    started = 0
    for name, how, n, wait in acts:
        you.mash(name, how, n)
        started = you.check_boluses(started)
        rows = you.screen()
        assert len(rows) == 8 and all(len(r) <= 16 for r in rows), rows
        assert settings_store.load(sim.fs) == settings_to_record(sim.pump.settings)
        sim.run_min(wait)
        you.ui.tick(sim.clock.ticks_ms())


def test_the_screens_daily_totals_are_the_history_s_daily_totals():
    from pump.history_query import daily_totals
    from pump.ui_history import totals_by_day

    sim = Booted(tod_min=22 * 60)
    you = sim.person()
    for _ in range(3):  # a bolus a day over three days and nights
        bolus_kind(you, "Normal")
        you.press("UP", 29)
        you.press("OK", 2)
        sim.run_min(1440)
        you.ui.home()
    h = sim.pump.history()
    first = sim.pump.day - 4
    totals = totals_by_day(h, first, 5)
    assert totals == [daily_totals(h, first + i) for i in range(5)]
    assert sum(t[2] for t in totals) == 4500 and all(t[0] == t[1] + t[2] for t in totals)


def test_a_screen_the_heap_cannot_take_says_busy_but_a_command_that_fails_is_not_hidden(monkeypatch):
    from pump import ui_dose

    sim = Booted()
    you = sim.person()

    def no_memory(ui):
        raise MemoryError

    monkeypatch.setattr(ui_dose, "bolus_menu", no_memory)
    menu_to(you, "Bolus")
    you.press("OK")
    assert you.screen()[0] == "BUSY" and sim.pump.current_bolus is None
    you.press("OK")  # back to the menu
    assert you.screen()[0] == "MENU"
    monkeypatch.undo()
    monkeypatch.setattr(sim.pump, "bolus", lambda *a, **k: no_memory(None))
    you.ui.home()
    bolus_kind(you, "Normal")
    you.press("OK")  # 0.05 U, the confirm screen
    you.event("OK", "down")
    with pytest.raises(MemoryError):  # the shell's last chance stops the motor and resets
        you.event("OK", "short")
