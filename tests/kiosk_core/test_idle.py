"""Idle policy: 60 s without a touch → 20 s countdown → wipe; measuring never times out."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core import inputs as i
from kiosk.core.machine import IDLE_STATES, Command, State
from kiosk.core.session import MEASUREMENT_STALL_S
from tests.kiosk_core.support import GOOD_READING, rig_in

IDLE_S = 60.0
COUNTDOWN_S = 20.0
idle_states = st.sampled_from(sorted(IDLE_STATES, key=lambda s: s.value))


@settings(deadline=None)
@given(state=idle_states, steps=st.lists(st.floats(0.01, 5.0), max_size=20))
def test_no_countdown_before_the_idle_timeout(state: State, steps: list[float]) -> None:
    """Ticks adding up to less than 60 s never leave the screen."""
    rig = rig_in(state)
    elapsed = 0.0
    for step in steps:
        if elapsed + step >= IDLE_S:
            break
        elapsed += step
        assert rig.tick(step) is state


@settings(deadline=None)
@given(state=idle_states, late_s=st.floats(0.0, 30.0))
def test_idle_timeout_shows_countdown_then_continue_resumes(state: State, late_s: float) -> None:
    """At 60 s idle the countdown appears; 继续办理 goes back to the same screen."""
    rig = rig_in(state)
    assert rig.tick(IDLE_S + late_s) is State.COUNTDOWN
    assert rig.session.views.countdown.remaining_s == int(COUNTDOWN_S)
    assert rig.send(i.Continue()) is state
    assert rig.tick(IDLE_S - 0.5) is state  # a full idle period again after continuing


@settings(deadline=None)
@given(state=idle_states, before_s=st.floats(0.0, COUNTDOWN_S - 0.01))
def test_countdown_expiry_wipes_to_attract(state: State, before_s: float) -> None:
    """The countdown wipes exactly when its 20 s are over, not a moment before."""
    rig = rig_in(state)
    rig.tick(IDLE_S)
    assert rig.tick(before_s) is State.COUNTDOWN
    assert rig.tick(COUNTDOWN_S - before_s + 1e-6) is State.ATTRACT
    ended = rig.sink.of_type("session.ended")
    if state not in (State.DIAGNOSTICS, State.DIAGNOSTICS_PIN):
        assert ended[-1]["reason"] == "idle_timeout"


@settings(deadline=None)
@given(touch_every_s=st.floats(1.0, IDLE_S - 1.0), touches=st.integers(1, 10))
def test_touches_keep_the_session_alive(touch_every_s: float, touches: int) -> None:
    """A resident who touches within every 60 s is never interrupted."""
    rig = rig_in(State.SERVICES)
    for _ in range(touches):
        rig.clock.advance(touch_every_s)
        rig.send(i.Search("医保"))
        assert rig.tick(0) is State.SERVICES


@settings(deadline=None)
@given(pressures=st.lists(st.floats(1.0, MEASUREMENT_STALL_S - 1.0), min_size=1, max_size=10))
def test_measurement_in_progress_never_times_out(pressures: list[float]) -> None:
    """While the meter reports, minutes without a touch do not interrupt; the result gets 60 s."""
    rig = rig_in(State.HEALTH_MEASURING)
    for gap in pressures:
        assert rig.tick(gap) is State.HEALTH_MEASURING
        rig.send(i.CuffPressure(150))
    rig.send(GOOD_READING)
    assert rig.session.state is State.HEALTH_RESULT
    assert rig.tick(IDLE_S - 0.5) is State.HEALTH_RESULT


def test_stuck_meter_ends_in_an_error_not_a_wipe() -> None:
    """A meter silent for the stall limit is aborted and explained; the resident stays."""
    rig = rig_in(State.HEALTH_MEASURING)
    step = rig.session.handle(i.Tick(rig.clock.advance(MEASUREMENT_STALL_S)))
    assert step.state is State.HEALTH_RESULT
    assert Command.ABORT_BP in step.commands
    result = rig.session.views.health.result
    assert result is not None
    assert result.error_key == "timeout"


def test_attract_screen_never_counts_down() -> None:
    """Nothing times out on the attract screen."""
    rig = rig_in(State.ATTRACT)
    assert rig.tick(10 * IDLE_S) is State.ATTRACT
