"""Sans-I/O reader protocol: the read flow, polling interval, timeouts, retries and faults."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.errors import DeviceTimeout, DriverError, FrameError, ProtocolMisuse
from drivers.idcard import frames, status
from drivers.idcard.card import IdCard
from drivers.idcard.frames import Response, decode
from drivers.idcard.protocol import (
    FIND_POLL_INTERVAL_S,
    MAX_ATTEMPTS,
    Answer,
    Done,
    Phase,
    ReaderProtocol,
    Send,
    Step,
    Wait,
    answer_of,
)
from drivers.idcard.protocol import TABLE as ANSWER_TABLE
from drivers.idcard.samples import SAMPLE_CARDS
from drivers.idcard.simulator import read_response

FOUND = Response(0x9F, bytes(4))
NO_CARD = Response(0x80)
SELECTED = Response(0x90, bytes(8))
READ = read_response(SAMPLE_CARDS["resident"], with_fingerprint=False)


def expect_send(proto: ReaderProtocol, now: float, command: frames.Command) -> None:
    action = proto.poll(now)
    assert isinstance(action, Send), action
    assert action.command == command
    assert decode(action.data) == command


def test_full_read_flow() -> None:
    """find → select → read yields the card with its photo."""
    proto = ReaderProtocol()
    proto.start_read_card(0.0, timeout_s=5.0)
    expect_send(proto, 0.0, frames.FIND_CARD)
    proto.receive(FOUND, 0.01)
    expect_send(proto, 0.01, frames.SELECT_CARD)
    proto.receive(SELECTED, 0.02)
    expect_send(proto, 0.02, frames.READ_CARD)
    proto.receive(READ, 0.3)
    action = proto.poll(0.3)
    assert isinstance(action, Done)
    assert isinstance(action.result, IdCard)
    assert action.result.id_number == SAMPLE_CARDS["resident"].id_number
    assert action.result.photo == SAMPLE_CARDS["resident"].photo
    assert proto.phase is Phase.IDLE


def test_no_card_polls_every_300_ms_then_returns_none() -> None:
    """Without a card, finds are ≥300 ms apart and the result is None after the deadline."""
    proto = ReaderProtocol()
    proto.start_read_card(0.0, timeout_s=1.0)
    sent_at = []
    now = 0.0
    while True:
        action = proto.poll(now)
        if isinstance(action, Done):
            break
        if isinstance(action, Send):
            sent_at.append(now)
            proto.receive(NO_CARD, now + 0.01)
            now += 0.01
        else:
            assert isinstance(action, Wait)
            now = action.until_s
    assert action.result is None
    assert len(sent_at) == 4  # 0.0, 0.3, 0.6, 0.9
    gaps = [b - a for a, b in itertools.pairwise(sent_at)]
    assert all(gap >= FIND_POLL_INTERVAL_S - 1e-9 for gap in gaps)


def test_polling_faster_than_the_vendor_minimum_is_refused() -> None:
    """The 300 ms polling interval is a floor, not a default to undercut."""
    with pytest.raises(ValueError, match=r"0\.3"):
        ReaderProtocol(poll_interval_s=0.1)


def test_unanswered_request_is_retried_then_times_out() -> None:
    """A request without an answer is resent after its timeout, then DeviceTimeout is raised."""
    proto = ReaderProtocol(request_timeout_s=0.5)
    proto.start_request(frames.STATUS, 0.0)
    now = 0.0
    sends = 0
    for _ in range(MAX_ATTEMPTS):
        assert isinstance(proto.poll(now), Send)
        sends += 1
        wait = proto.poll(now)
        assert isinstance(wait, Wait)
        now = wait.until_s
    with pytest.raises(DeviceTimeout, match="after 3 attempts"):
        proto.poll(now)
    assert sends == MAX_ATTEMPTS
    assert proto.phase is Phase.IDLE


def test_corrupted_answer_is_retried_at_once() -> None:
    """A bad checksum on the read answer resends the read without waiting for the timeout."""
    proto = ReaderProtocol()
    proto.start_read_card(0.0, timeout_s=5.0)
    proto.poll(0.0)
    proto.receive(FOUND, 0.0)
    proto.poll(0.0)
    proto.receive(SELECTED, 0.0)
    expect_send(proto, 0.0, frames.READ_CARD)
    proto.receive(FrameError("bad checksum", offset=0, length=1295), 0.1)
    expect_send(proto, 0.1, frames.READ_CARD)
    proto.receive(READ, 0.2)
    assert isinstance(proto.poll(0.2), Done)


def test_garbage_does_not_count_as_a_lost_answer() -> None:
    """Line noise while waiting keeps waiting for the real answer."""
    proto = ReaderProtocol()
    proto.start_request(frames.STATUS, 0.0)
    proto.poll(0.0)
    proto.receive(FrameError("garbage", offset=0, length=3), 0.01)
    assert isinstance(proto.poll(0.01), Wait)
    proto.receive(Response(0x90), 0.02)
    assert isinstance(proto.poll(0.02), Done)


def test_select_failure_repolls_and_surfaces_if_it_persists() -> None:
    """A card moved away (0x81) restarts polling; at the deadline the fault is raised."""
    proto = ReaderProtocol()
    proto.start_read_card(0.0, timeout_s=0.2)
    proto.poll(0.0)
    proto.receive(FOUND, 0.0)
    proto.poll(0.0)
    proto.receive(Response(0x81), 0.01)
    with pytest.raises(status.CardSelectFailed):
        proto.poll(0.01)


def test_card_read_failure_then_success_within_the_deadline() -> None:
    """A failed read (0x41) is retried from find after the polling interval."""
    proto = ReaderProtocol()
    proto.start_read_card(0.0, timeout_s=2.0)
    for answer in (FOUND, SELECTED, Response(0x41)):
        proto.poll(0.0)
        proto.receive(answer, 0.0)
    wait = proto.poll(0.0)
    assert isinstance(wait, Wait)
    assert wait.until_s == pytest.approx(FIND_POLL_INTERVAL_S)
    for answer in (FOUND, SELECTED, READ):
        assert isinstance(proto.poll(0.3), Send)
        proto.receive(answer, 0.3)
    assert isinstance(proto.poll(0.3), Done)


@pytest.mark.parametrize("code", [0x60, 0x66, 0x31, 0x10])
def test_hard_faults_raise_their_class(code: int) -> None:
    """SAM faults during find are raised as their typed DeviceFault."""
    proto = ReaderProtocol()
    proto.start_read_card(0.0, timeout_s=1.0)
    proto.poll(0.0)
    proto.receive(Response(code), 0.0)
    with pytest.raises(status.SamFault) as caught:
        proto.poll(0.0)
    assert caught.value.code == code


def test_fingerprint_and_appended_address_flow() -> None:
    """With both options, the read uses 30 10 and is followed by the appended-address read."""
    proto = ReaderProtocol(fingerprint=True, appended_address=True)
    proto.start_read_card(0.0, timeout_s=1.0)
    card = SAMPLE_CARDS["fingerprint"]
    address = "新住址样例路1号".encode("utf-16-le").ljust(70, b"\x20\x00"[:1])
    answers = [
        (frames.FIND_CARD, FOUND),
        (frames.SELECT_CARD, SELECTED),
        (frames.READ_CARD_WITH_FINGERPRINT, read_response(card, with_fingerprint=True)),
        (frames.READ_APPENDED_ADDRESS, Response(0x90, address)),
    ]
    for command, answer in answers:
        expect_send(proto, 0.0, command)
        proto.receive(answer, 0.0)
    done = proto.poll(0.0)
    assert isinstance(done, Done)
    assert isinstance(done.result, IdCard)
    assert done.result.fingerprint == card.fingerprint
    assert done.result.appended_address is not None
    assert done.result.appended_address.startswith("新住址样例路1号")


def test_no_appended_address_keeps_the_card() -> None:
    """SW3 0x91 (no content) to the appended-address read still returns the card."""
    proto = ReaderProtocol(appended_address=True)
    proto.start_read_card(0.0, timeout_s=1.0)
    for answer in (FOUND, SELECTED, READ, Response(0x91)):
        proto.poll(0.0)
        proto.receive(answer, 0.0)
    done = proto.poll(0.0)
    assert isinstance(done, Done)
    assert isinstance(done.result, IdCard)
    assert done.result.appended_address is None


def test_misuse_is_reported() -> None:
    """Polling while idle or starting twice is a ProtocolMisuse."""
    proto = ReaderProtocol()
    with pytest.raises(ProtocolMisuse):
        proto.poll(0.0)
    proto.start_request(frames.STATUS, 0.0)
    with pytest.raises(ProtocolMisuse):
        proto.start_read_card(0.0, 1.0)


def test_answers_while_idle_are_ignored() -> None:
    """A stale answer arriving when nothing is pending changes nothing."""
    proto = ReaderProtocol()
    proto.receive(READ, 0.0)
    assert proto.phase is Phase.IDLE


inputs = st.one_of(
    st.sampled_from(
        [FOUND, NO_CARD, SELECTED, READ, Response(0x41), Response(0x81), frames.FIND_CARD]
    ),
    st.integers(min_value=0, max_value=255).map(Response),
    st.sampled_from(["bad checksum", "truncated", "garbage"]).map(
        lambda r: FrameError(r, offset=0, length=1)
    ),
    st.floats(min_value=0.0, max_value=2.0),
)


@settings(max_examples=300)
@given(st.booleans(), st.lists(inputs, max_size=40))
def test_any_input_sequence_ends_in_a_result_or_a_typed_error(
    single: bool, script: list[object]
) -> None:
    """Every (state, input) pair transitions or raises a DriverError; time always ends a flow."""
    proto = ReaderProtocol(fingerprint=True, appended_address=True)
    now = 0.0
    if single:
        proto.start_request(frames.READ_SAM_ID, now)
    else:
        proto.start_read_card(now, timeout_s=1.0)
    try:
        for item in script:
            action = proto.poll(now)
            if isinstance(action, Done):
                return
            if isinstance(item, float):
                now += item
            else:
                assert isinstance(item, Response | FrameError | frames.Command)
                proto.receive(item, now)
        for _ in range(100):
            action = proto.poll(now)
            if isinstance(action, Done):
                return
            if isinstance(action, Wait):
                now = max(now, action.until_s)
        pytest.fail("the flow did not end")
    except DriverError:
        assert proto.phase is Phase.IDLE


# -- the answer table (issue 11: the kiosk's table style) -------------------------------------

STATUS_OF_ANSWER = {
    Answer.SUCCESS: 0x90,
    Answer.CARD_FOUND: 0x9F,
    Answer.NO_CARD: 0x80,
    Answer.NO_CONTENT: 0x91,
    Answer.SELECT_FAILED: 0x81,
    Answer.READ_FAILED: 0x41,
    Answer.FAULT: 0x60,
}
COMMAND_OF_STEP = {
    Step.FIND: frames.FIND_CARD,
    Step.SELECT: frames.SELECT_CARD,
    Step.READ: frames.READ_CARD,
    Step.READ_ADDRESS: frames.READ_APPENDED_ADDRESS,
    Step.SINGLE: frames.STATUS,
}


def protocol_at(step: Step) -> ReaderProtocol:
    """A protocol whose request in flight is `step`'s (driven there through the flow)."""
    proto = ReaderProtocol(appended_address=True)
    if step is Step.SINGLE:
        proto.start_request(frames.STATUS, 0.0)
        expect_send(proto, 0.0, frames.STATUS)
        return proto
    proto.start_read_card(0.0, timeout_s=5.0)
    flow = [(Step.FIND, FOUND), (Step.SELECT, SELECTED), (Step.READ, READ)]
    for current, answer in flow:
        expect_send(proto, 0.0, COMMAND_OF_STEP[current])
        if current is step:
            return proto
        proto.receive(answer, 0.0)
    expect_send(proto, 0.0, frames.READ_APPENDED_ADDRESS)
    return proto


def test_answer_table_has_every_step_answer_pair() -> None:
    """Every (step, answer) pair has an entry, and each representative status has its answer."""
    assert set(ANSWER_TABLE) == set(itertools.product(Step, Answer))
    assert {answer_of(sw3) for sw3 in STATUS_OF_ANSWER.values()} == set(Answer)
    assert all(answer_of(sw3) is answer for answer, sw3 in STATUS_OF_ANSWER.items())


@pytest.mark.parametrize(("step", "answer"), list(ANSWER_TABLE))
def test_every_step_answer_pair_goes_where_the_table_says(step: Step, answer: Answer) -> None:
    """A pair with a next step sends that step's command; any other pair polls again, finishes,
    retries or raises a typed driver error, and leaves the machine usable."""
    proto = protocol_at(step)
    data = READ.data if (step, answer) == (Step.READ, Answer.SUCCESS) else b""
    proto.receive(Response(STATUS_OF_ANSWER[answer], data), 0.01)
    transition = ANSWER_TABLE[(step, answer)]
    try:
        action = proto.poll(0.01)
    except DriverError:
        assert proto.phase is Phase.IDLE
        return
    if transition.next is not None:
        assert isinstance(action, Send)
        assert action.command == COMMAND_OF_STEP[transition.next]
    else:
        assert isinstance(action, Send | Wait | Done)
