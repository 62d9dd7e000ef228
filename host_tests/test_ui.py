"""The on-pump interface (pump/ui.py), driven by button events as the buttons driver gives
them, checked on the screen text and on the motor's steps."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import Sim
from pump.ui import Ui

# 0.3 U/h: a 300 U reservoir lasts the 30 days, so the pump keeps running throughout
SLOW = {"basal_profiles": {"slow": [["00:00", 0.3]]}, "active_profile": "slow"}


class Person:
    """Presses buttons on a pump's interface, as hal/buttons.py reports them."""

    def __init__(self, sim):
        self.sim = sim
        self.ui = Ui(sim.pump)

    def event(self, name, kind):
        self.ui.key(name, kind, self.sim.clock.ticks_ms())

    def press(self, name, times=1):
        for _ in range(times):
            self.event(name, "down")
            self.event(name, "short")

    def hold(self, name, repeats):
        self.event(name, "down")
        self.event(name, "long")
        for _ in range(repeats):
            self.event(name, "repeat")

    def screen(self):
        return self.ui.lines(4000)

    def mash(self, name, how, n):
        """One action of the mashing tests: presses, DOWN n times then OK ("walk"), a hold with
        n repeats, or a key stuck since before this screen (no "down" seen)."""
        if how == "press":
            self.press(name, 1 + n % 4)
        elif how == "walk":
            self.press("DOWN", n)
            self.press("OK")
        elif how == "hold":
            self.hold(name, n)
        else:
            self.event(name, "long")
            self.event(name, "short")

    def check_boluses(self, started):
        """Every bolus the pump started after the first `started` was confirmed on a screen
        showing exactly its amount; returns how many have started."""
        events = [e for e in self.sim.events if e["code"] == "bolus_started"]
        for e in events[started:]:
            mu = e["programmed_mu"]
            assert self.ui.last_confirmed[1][1] == "  %d.%02d U" % (mu // 1000, mu % 1000 // 10)
        return len(events)


def test_a_bolus_is_entered_confirmed_on_a_screen_showing_it_and_delivered_exactly():
    sim = Sim()
    you = Person(sim)
    you.press("OK")  # home -> menu
    assert you.screen()[:2] == ["MENU", ">Bolus"]
    you.press("OK")  # -> the kinds of bolus
    assert you.screen()[:3] == ["BOLUS", ">Normal", " Calculator"]
    you.press("OK")  # -> the amount, from 0.05 U
    you.press("UP", 49)  # 50 steps of 0.05 U
    assert "2.50 U" in you.screen()[2]
    you.press("OK")
    assert you.screen()[:2] == ["Deliver bolus", "  2.50 U"] and "OK: confirm" in you.screen()
    you.press("OK")
    assert you.ui.last_confirmed == ("bolus", ["Deliver bolus", "  2.50 U"])
    assert you.screen()[0] == "Done:"
    sim.run_min(3)
    assert sim.bolus_mu == 2500 and sim.steps >= 500  # 200 steps a unit on this rig


def test_confirming_takes_a_fresh_press_made_on_the_confirm_screen():
    sim = Sim()
    you = Person(sim)
    you.press("OK", 3)
    you.press("UP", 19)  # 1.00 U
    you.event("OK", "down")
    you.event("OK", "short")  # opens the confirm screen
    you.event("OK", "short")  # a release with no press seen on this screen: a bounce, a stuck key
    you.event("OK", "long")
    assert you.ui.last_confirmed is None and sim.pump.current_bolus is None
    you.event("OK", "down")
    you.event("OK", "long")  # held: not a confirmation, and it disarms
    you.event("OK", "short")
    assert you.ui.last_confirmed is None and sim.pump.current_bolus is None
    you.press("DOWN")  # another key does not confirm either
    assert sim.pump.current_bolus is None
    you.press("OK")  # down and up, on this screen
    assert sim.pump.current_bolus is not None and sim.pump.current_bolus.programmed_mu == 1000


def test_holding_a_value_key_speeds_up_after_five_repeats():
    sim = Sim(
        settings={
            "basal_profiles": {"f": [["00:00", 1.0]]},
            "active_profile": "f",
            "max_bolus_u": 25,
            "max_hourly_u": 30,
            "max_daily_u": 100,
        }
    )
    you = Person(sim)
    you.press("OK", 3)  # 0.05 U
    you.hold("UP", 10)  # long: +1 step; repeats 1-5: +1 each; 6-10: +10 each
    assert "2.85 U" in you.screen()[2]  # 0.05 + (1 + 5 + 50) x 0.05
    you.press("UP")  # a new press starts slow again
    assert "2.90 U" in you.screen()[2]


def test_a_refused_command_shows_the_pumps_reason_and_changes_nothing():
    sim = Sim()
    you = Person(sim)
    you.press("OK")
    you.press("DOWN", 2)  # Suspend
    you.press("OK")
    you.press("OK")  # confirmed: suspended
    assert sim.pump.mode == "suspended"
    you.press("OK")  # the message -> home
    you.press("OK")  # menu
    you.press("OK")  # Bolus
    you.press("OK")  # Normal: 0.05 U
    you.press("OK")  # the confirm screen
    you.press("OK")  # confirmed
    assert you.screen()[0] == "REFUSED" and "suspended" in " ".join(you.screen())
    assert sim.pump.current_bolus is None


def test_after_a_minute_without_a_key_the_screen_goes_home():
    sim = Sim()
    you = Person(sim)
    you.press("OK", 3)
    assert you.screen()[0] == "BOLUS"
    sim.run_min(1.01)
    you.ui.tick(sim.clock.ticks_ms())
    assert you.screen()[1] == "RUNNING"  # the home screen


def test_ok_on_home_acknowledges_the_alarm_shown():
    sim = Sim(reservoir_u=21)
    you = Person(sim)
    sim.run_min(90)  # below 20 U: reservoir low
    assert sim.pump.alarms.top()[0] == "reservoir_low"
    assert you.screen()[-1] == "!LOW INSULIN"
    you.press("OK")
    assert sim.pump.alarms.top()[3] == "acked" and not you.ui.stack


KEYS = st.sampled_from(["UP", "DOWN", "OK", "BACK"])
ACTS = st.lists(
    st.tuples(KEYS, st.sampled_from(["press", "hold", "stuck", "wait"]), st.integers(0, 12)), max_size=120
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ACTS)
def test_button_mashing_never_raises_and_nothing_is_dosed_without_its_confirm_screen(acts):
    """Random presses, holds, stuck keys and waits: the interface never raises, every bolus
    the pump starts was confirmed on a screen showing exactly its amount, and the limits hold."""
    sim = Sim()
    you = Person(sim)
    started = []
    for name, how, n in acts:
        if how == "press":
            you.press(name, 1 + n % 3)
        elif how == "hold":
            you.hold(name, n)  # released after a long press: no further event
        elif how == "stuck":
            you.event(name, "long")  # no "down": a key held since before this screen
            you.event(name, "repeat")
            you.event(name, "short")
        else:
            sim.run_min(n)
            you.ui.tick(sim.clock.ticks_ms())
        for e in [e for e in sim.events if e["code"] == "bolus_started"][len(started) :]:
            command, shown = you.ui.last_confirmed
            mu = e["programmed_mu"]
            assert command == "bolus" and shown[1] == "  %d.%02d U" % (mu // 1000, mu % 1000 // 10)
            started.append(mu)
        rows = you.screen()
        assert len(rows) == 8 and all(len(r) <= 16 for r in rows)
    assert sim.bolus_mu <= sum(started)


def menu_to(you, label, open_menu=True):
    """From home (or, open_menu False, in a menu already), move to the item `label`."""
    if open_menu:
        you.press("OK")
    for _ in range(30):
        if ">" + label in you.screen():
            return
        you.press("DOWN")
    raise AssertionError("no menu item %r on %r" % (label, you.screen()))


def test_prime_and_a_new_reservoir_are_confirmed_with_their_amounts():
    sim = Sim()
    you = Person(sim)
    menu_to(you, "Prime")
    you.press("OK")  # 0.50 U
    you.press("OK")
    assert you.screen()[:3] == ["Prime", "  0.50 U", "(not therapy)"]
    you.press("OK")
    sim.run_min(1)
    assert sim.prime_mu == 500 and sim.bolus_mu == 0
    you.press("OK")  # the message -> home
    menu_to(you, "New reservoir")
    you.press("OK")  # 200 U
    you.press("DOWN", 5)  # 150 U
    you.press("OK")
    you.press("OK")
    assert you.screen()[0] == "REFUSED" and "suspend" in " ".join(you.screen()).lower()
    you.press("OK")
    menu_to(you, "Suspend")
    you.press("OK")
    you.press("OK")
    you.press("OK")
    menu_to(you, "New reservoir")
    you.press("OK")
    you.press("DOWN", 5)
    you.press("OK")
    assert you.screen()[:2] == ["New reservoir", "  150.00 U"]
    you.press("OK")
    assert sim.pump.reservoir_mu() == 150000


def test_locked_keys_open_nothing_but_alarms_can_still_be_handled():
    sim = Sim(reservoir_u=21)
    you = Person(sim)
    menu_to(you, "Lock keys")
    you.press("OK")
    you.press("OK")  # confirmed
    you.press("OK")  # the message -> home
    assert you.ui.locked
    you.press("OK")
    assert you.screen()[0] == "KEYS LOCKED"
    you.press("OK")  # home again
    sim.run_min(90)  # reservoir low
    you.press("OK")
    assert sim.pump.alarms.top()[3] == "acked"  # alarms are handled when locked
    you.hold("BACK", 0)  # no alarm unacknowledged shown: BACK held unlocks
    assert not you.ui.locked
    menu_to(you, "Alarms")
    you.press("OK")
    assert you.screen()[0] == "ALARMS (1)" and you.screen()[1] == "> LOW INSULIN"


STEPS = st.lists(
    st.tuples(
        st.sampled_from(["OK", "OK", "OK", "UP", "DOWN", "BACK"]),
        st.sampled_from(["press", "hold", "stuck"]),
        st.integers(0, 12),
        st.integers(0, 432),
    ),
    min_size=200,
    max_size=200,
)


@settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(STEPS)
def test_button_mashing_over_30_simulated_days_keeps_every_limit(steps):
    """200 random key actions spread over 30 simulated days (a wait of up to 7.2 hours after
    each): the interface never raises, no bolus starts without its confirm screen, and the
    therapy delivered in any rolling hour and any rolling 24 hours stays within the limits."""
    sim = Sim(settings=dict(SLOW, max_bolus_u=5, max_hourly_u=6, max_daily_u=40), reservoir_u=300)
    you = Person(sim)
    therapy = {}  # minute -> cumulative basal + bolus, mU
    record = lambda minute: therapy.__setitem__(minute, sim.basal_mu + sim.bolus_mu)  # noqa: E731
    started = 0
    for name, how, n, wait in steps:
        you.mash(name, how, n)
        started = you.check_boluses(started)
        sim.run_min(wait, record)
        you.ui.tick(sim.clock.ticks_ms())
    left = 30 * 1440 - sim.clock.elapsed_ms // 60000
    if left > 0:
        sim.run_min(left, record)
    minutes = sorted(therapy)
    assert minutes[-1] >= 30 * 1440
    step = 1000 // 200 + 1  # one motor step on this rig, rounded up
    for window, limit in ((60, 6000), (1440, 40000)):
        for m in minutes:
            if m - window in therapy:
                assert therapy[m] - therapy[m - window] <= limit + step, (m, window)
