"""The session state machine as a table: every (state, input) pair transitions or raises."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core import inputs as i
from kiosk.core.machine import (
    TABLE,
    InvalidInput,
    InvalidTransition,
    State,
    offered,
    transition_for,
)
from kiosk.core.session import ACTIONS, Session
from tests.kiosk_core.support import inputs, rig_in

# Actions that may refuse a value the screen offers (e.g. an unknown item id, no rating level).
VALIDATING_ACTIONS = frozenset(
    {
        "select_category",
        "open_item",
        "select_level",
        "toggle_reason",
        "submit_rating",
        "print_guide",
        "print_bp_slip",
        "sign_up",
        "cancel_signup",
        "print_signup_slip",
        "choose_reward",
        "confirm_redeem",
        "points_retry",
        "print_voucher",
        "start_requests",
        "request_go",
        "request_category",
        "request_location",
        "request_phrase",
        "request_text",
        "request_phone_key",
        "submit_request",
        "print_request_ticket",
    }
)


def test_every_action_in_the_table_is_implemented() -> None:
    """Each action name the table uses has a session method."""
    for transition in TABLE.values():
        assert callable(getattr(Session, f"_do_{transition.action}", None)), transition.action


def test_device_and_system_inputs_are_never_invalid() -> None:
    """Hardware and system inputs have an entry in every state (handled or documented no-op)."""
    for state in State:
        for input_type in (*i.DEVICE_TYPES, *i.SYSTEM_TYPES):
            assert (state, input_type) in TABLE, (state, input_type)


def test_countdown_offers_only_continue_among_touches() -> None:
    """The countdown screen has one button: 继续办理."""
    touches = offered(State.COUNTDOWN) & set(i.TOUCH_TYPES)
    assert touches == {i.Continue}


def test_missing_pair_raises_typed_error() -> None:
    """A touch the screen does not offer is an InvalidTransition naming state and type only."""
    with pytest.raises(InvalidTransition) as caught:
        transition_for(State.ATTRACT, i.SubmitRating)
    assert caught.value.state is State.ATTRACT
    assert "SubmitRating" in str(caught.value)


@settings(max_examples=300, deadline=None)
@given(
    state=st.sampled_from(list(State)),
    event=st.one_of(
        inputs(),
        st.builds(i.Tick, st.floats(900.0, 1400.0)),  # the rig's clock starts at 1000 s
        st.builds(i.Wipe, st.sampled_from(("kiosk_restart", "error"))),
    ),
)
def test_every_pair_transitions_per_table_or_raises(state: State, event: i.Input) -> None:
    """Handling any input in any state follows the table entry, or raises and changes nothing."""
    rig = rig_in(state)
    before_views = rig.session.views
    before_events = len(rig.sink.events)
    entry = TABLE.get((state, type(event)))
    if entry is None:
        with pytest.raises(InvalidTransition):
            rig.session.handle(event)
        assert rig.session.state is state
        assert rig.session.views == before_views
        assert len(rig.sink.events) == before_events
        return
    try:
        step = rig.session.handle(event)
    except InvalidInput:
        assert entry.action in VALIDATING_ACTIONS
        assert rig.session.state is state
        assert len(rig.sink.events) == before_events
        return
    assert step.action == entry.action
    assert step.previous is state
    if entry.next is not None:
        assert step.state is entry.next
    assert rig.session.state is step.state


@given(state=st.sampled_from(list(State)))
def test_wipe_from_any_state_returns_to_attract(state: State) -> None:
    """Wipe is valid everywhere and always lands on the attract screen."""
    rig = rig_in(state)
    assert rig.send(i.Wipe()) is State.ATTRACT


def test_the_session_carries_out_exactly_the_tables_actions() -> None:
    """Session ACTIONS holds a callable for every action name the table uses, and no other."""
    assert set(ACTIONS) == {transition.action for transition in TABLE.values()}
    assert all(callable(action) for action in ACTIONS.values())
