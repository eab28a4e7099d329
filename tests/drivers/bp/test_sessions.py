"""Measurement state machines, driven with simulated time (no I/O, no sleeping)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.bp import suntech
from drivers.bp.events import BpResult, CuffPressure, DecodedItem, DeviceAck, HostRequest
from drivers.bp.omron9030 import Omron9030Session
from drivers.bp.protocol import SessionOutput
from drivers.bp.suntech_session import (
    CUFF_POLL_INTERVAL_S,
    REPLY_TIMEOUT_S,
    TABLE,
    Input,
    State,
    SuntechSession,
    input_kind,
)
from drivers.errors import DeviceFault, DeviceTimeout, DriverError, ProtocolMisuse

OK = DeviceAck("O", "received")
DONE = DeviceAck("K", "completed")
BUSY = DeviceAck("B", "busy")
RESULT = BpResult(118, 76, 72, 90, 0, None, None)
EVENTS: list[DecodedItem] = [
    OK, DONE, BUSY, DeviceAck("A", "aborted"), DeviceAck("E", "error"), CuffPressure(120), RESULT,
]  # fmt: skip


def started(now: float = 0.0) -> SuntechSession:
    session = SuntechSession(timeout_s=60.0)
    assert session.begin(now).send == suntech.START_REQUEST
    return session


def tick_every(
    session: SuntechSession,
    step_s: float,
    *,
    start: float,
    count: int,
    sent: list[bytes] | None = None,
) -> None:
    """Tick `count` times `step_s` apart, collecting what the session sends."""
    for index in range(count):
        out = session.on_tick(start + index * step_s)
        if sent is not None:
            sent.append(out.send)


def test_happy_path() -> None:
    """Start, `O`, cuff polls, `K`, result request, result."""
    session = started()
    assert session.on_event(OK, 0.01) == SessionOutput()
    assert session.on_tick(0.01).send == suntech.CUFF_PRESSURE_REQUEST
    assert session.on_event(CuffPressure(150), 0.02).cuff == CuffPressure(150)
    assert session.on_tick(0.1) == SessionOutput()  # next poll not due yet
    assert session.on_tick(0.01 + CUFF_POLL_INTERVAL_S).send == suntech.CUFF_PRESSURE_REQUEST
    assert session.on_event(DONE, 0.5).send == suntech.RESULT_REQUEST
    assert session.on_event(CuffPressure(0), 0.51) == SessionOutput()  # late poll reply
    assert session.on_event(RESULT, 0.52).result == RESULT
    assert session.finished


def test_start_is_retried_then_times_out() -> None:
    """No `O`: the start request is sent once more, then DeviceTimeout."""
    session = started()
    assert session.on_tick(REPLY_TIMEOUT_S).send == suntech.START_REQUEST
    with pytest.raises(DeviceTimeout):
        session.on_tick(2 * REPLY_TIMEOUT_S)
    assert session.finished


def test_busy_meter_refuses() -> None:
    """`B` to the first start is a DeviceFault naming the busy code."""
    session = started()
    with pytest.raises(DeviceFault) as excinfo:
        session.on_event(BUSY, 0.01)
    assert excinfo.value.code == ord("B")


def test_busy_after_a_retried_start_means_our_measurement_runs() -> None:
    """`B` to a re-sent start means the first start was taken: carry on measuring."""
    session = started()
    session.on_tick(REPLY_TIMEOUT_S)
    session.on_event(BUSY, REPLY_TIMEOUT_S + 0.01)
    assert session.state is State.MEASURING


def test_unanswered_cuff_polls_time_out() -> None:
    """Three cuff polls in a row without a reply raise DeviceTimeout."""
    session = started()
    session.on_event(OK, 0.0)
    with pytest.raises(DeviceTimeout):
        tick_every(session, CUFF_POLL_INTERVAL_S, start=0.0, count=10)


def test_measurement_deadline() -> None:
    """A measurement that never completes times out at the session deadline."""
    session = SuntechSession(timeout_s=5.0)
    session.begin(0.0)
    session.on_event(OK, 0.0)
    with pytest.raises(DeviceTimeout):
        session.on_tick(5.0)


def test_result_request_retried_then_times_out() -> None:
    """The result request is sent three times before DeviceTimeout."""
    session = started()
    session.on_event(OK, 0.0)
    sent = [session.on_event(DONE, 1.0).send]
    with pytest.raises(DeviceTimeout):
        tick_every(session, REPLY_TIMEOUT_S, start=1.0 + REPLY_TIMEOUT_S, count=5, sent=sent)
    assert sent == [suntech.RESULT_REQUEST] * 3


def test_session_starts_once() -> None:
    """Beginning a session twice is a ProtocolMisuse."""
    session = started()
    with pytest.raises(ProtocolMisuse):
        session.begin(1.0)


@pytest.mark.parametrize(("state", "event"), list(itertools.product(list(State), EVENTS)))
def test_every_state_input_pair_transitions_or_is_ignored(state: State, event: DecodedItem) -> None:
    """Pairs in the table run their handler; all others leave the state alone."""
    session = SuntechSession()
    session.state = state
    try:
        out = session.on_event(event, 1.0)
    except DeviceFault:
        assert (state, input_kind(event)) in session.transitions
        return
    if (state, input_kind(event)) not in session.transitions:
        assert out == SessionOutput()
        assert session.state is state


@given(st.lists(st.one_of(st.sampled_from(EVENTS), st.floats(0.0, 2.0)), max_size=40))
def test_random_inputs_raise_only_typed_errors(inputs: list[object]) -> None:
    """Any sequence of events and time steps yields outputs or a typed driver error."""
    session = started()
    now = 0.0
    try:
        for item in inputs:
            if isinstance(item, float):
                now += item
                session.on_tick(now)
            else:
                assert isinstance(item, DeviceAck | CuffPressure | BpResult)
                session.on_event(item, now)
    except (DeviceTimeout, DeviceFault):
        assert session.finished


# One event per table input (TICK is time passing, not an event).
EVENT_OF_INPUT: dict[Input, DecodedItem] = {
    Input.STARTED: OK,
    Input.COMPLETED: DONE,
    Input.BUSY: BUSY,
    Input.ABORTED: DeviceAck("A", "aborted"),
    Input.REFUSED: DeviceAck("N", "undefined command"),
    Input.UNKNOWN_ACK: DeviceAck("0x01", "unknown reply"),
    Input.CUFF: CuffPressure(120),
    Input.RESULT: RESULT,
    Input.OTHER: HostRequest(b"\x20"),
}


def test_table_has_every_state_input_pair() -> None:
    """After h11: every (state, input) pair has an entry; the event kinds cover every input."""
    assert set(TABLE) == set(itertools.product(State, Input))
    assert {input_kind(e) for e in EVENT_OF_INPUT.values()} | {Input.TICK} == set(Input)


@pytest.mark.parametrize(("state", "kind"), list(TABLE))
@pytest.mark.parametrize("now", [0.0, 1000.0])
def test_every_pair_reaches_its_declared_state_or_raises_typed(
    state: State, kind: Input, now: float
) -> None:
    """Each pair ends in the table's next state, or (next None) anywhere; failures are typed
    driver errors that leave the session finished; `ignore` changes nothing."""
    session = SuntechSession(timeout_s=60.0)
    session.state = state
    transition = TABLE[(state, kind)]
    try:
        if kind is Input.TICK:
            out = session.on_tick(now)
        else:
            out = session.on_event(EVENT_OF_INPUT[kind], now)
    except DriverError:
        assert session.finished
        return
    if transition.action is SuntechSession._ignore:
        assert (out, session.state) == (SessionOutput(), state)
    elif transition.next is not None:
        assert session.state is transition.next


def test_omron_session_waits_for_the_pushed_line() -> None:
    """The Omron session sends nothing, returns the first result and times out without one."""
    session = Omron9030Session(timeout_s=10.0)
    assert session.begin(0.0) == SessionOutput()
    assert session.on_event(CuffPressure(10), 1.0) == SessionOutput()
    assert session.on_event(RESULT, 2.0).result == RESULT
    assert session.finished
    waiting = Omron9030Session(timeout_s=10.0)
    waiting.begin(0.0)
    waiting.on_tick(9.9)
    with pytest.raises(DeviceTimeout):
        waiting.on_tick(10.0)
