"""Sans-I/O reader state machine: find → select → read (→ appended address), time passed in.

The caller loops: `poll(now)` says what to do (`Send` bytes, `Wait` until a time, or `Done`);
decoded frames and discard reports go to `receive(item, now)`. Every request has a timeout and
is retried when its answer is lost or corrupted. A failed outcome is raised by `poll` as a typed
error (DeviceTimeout, a SamFault subclass), after which the machine is idle again.

Answers follow the kiosk's table style (kiosk/core/machine.py, after h11):
`TABLE[(step, answer)] = Transition(action, next step)` has an entry for every pair, where the
answer is what the reply's SW3 means to the flow; `next` None means the action decides.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import NamedTuple

from drivers.errors import DeviceTimeout, DriverError, FrameError, ProtocolMisuse
from drivers.idcard.card import IdCard, decode_text_block, decode_ucs2, with_media
from drivers.idcard.frames import (
    FIND_CARD,
    READ_APPENDED_ADDRESS,
    READ_CARD,
    READ_CARD_WITH_FINGERPRINT,
    REASON_BAD_CHECKSUM,
    REASON_TRUNCATED,
    SELECT_CARD,
    Command,
    Frame,
    Response,
    encode,
    parse_read_data,
)
from drivers.idcard.status import (
    SW3_CARD_FOUND,
    SW3_NO_CARD,
    SW3_NO_CONTENT,
    SW3_SUCCESS,
    CardReadFailed,
    CardSelectFailed,
    SamFault,
    fault_answering,
    fault_for,
)

# Vendors require at least 300 ms between find-card commands; polling faster starves the SAM.
FIND_POLL_INTERVAL_S = 0.3
FIND_TIMEOUT_S = 1.0
SELECT_TIMEOUT_S = 1.0
# A read moves ~1.3 KB (2.3 KB with fingerprints) at 115200 baud after the card's own RF read.
READ_TIMEOUT_S = 3.0
SINGLE_REQUEST_TIMEOUT_S = 2.0
MAX_ATTEMPTS = 3
# Discards that mean "the answer we wait for was lost"; plain garbage is not one.
LOSS_REASONS = frozenset({REASON_BAD_CHECKSUM, REASON_TRUNCATED})


class Phase(Enum):
    """Where the machine is."""

    IDLE = "idle"
    READY_TO_SEND = "ready to send"
    AWAITING = "awaiting response"
    POLL_WAIT = "waiting to poll for a card"
    FINISHED = "finished"
    FAILED = "failed"


class Step(Enum):
    """Which request of the flow is current."""

    FIND = "find card"
    SELECT = "select card"
    READ = "read card"
    READ_ADDRESS = "read appended address"
    SINGLE = "single request"


class Answer(Enum):
    """What a reply's SW3 means to the flow."""

    SUCCESS = "success"  # 0x90
    CARD_FOUND = "card found"  # 0x9F
    NO_CARD = "no card"  # 0x80: a result, never an exception
    NO_CONTENT = "no content"  # 0x91
    SELECT_FAILED = "select failed"  # the card moved away: poll again
    READ_FAILED = "read failed"  # lifted mid-read, unknown type, bad length: poll again
    FAULT = "fault"  # every other status


_ANSWER_OF_STATUS: Mapping[int, Answer] = {
    SW3_SUCCESS: Answer.SUCCESS,
    SW3_CARD_FOUND: Answer.CARD_FOUND,
    SW3_NO_CARD: Answer.NO_CARD,
    SW3_NO_CONTENT: Answer.NO_CONTENT,
}


def answer_of(sw3: int) -> Answer:
    """The table answer of a status code (faults by their SamFault class)."""
    answer = _ANSWER_OF_STATUS.get(sw3)
    if answer is not None:
        return answer
    fault = fault_for(sw3)
    if isinstance(fault, CardSelectFailed):
        return Answer.SELECT_FAILED
    if isinstance(fault, CardReadFailed):
        return Answer.READ_FAILED
    return Answer.FAULT


_STEP_TIMEOUTS_S = {
    Step.FIND: FIND_TIMEOUT_S,
    Step.SELECT: SELECT_TIMEOUT_S,
    Step.READ: READ_TIMEOUT_S,
    Step.READ_ADDRESS: SINGLE_REQUEST_TIMEOUT_S,
    Step.SINGLE: SINGLE_REQUEST_TIMEOUT_S,
}


@dataclass(frozen=True)
class Send:
    """Write `data` (the encoded `command`) to the reader now."""

    data: bytes
    command: Command


@dataclass(frozen=True)
class Wait:
    """Read input until `until_s` (or until something arrives), then poll again."""

    until_s: float


@dataclass(frozen=True)
class Done:
    """The outcome: an IdCard or None (no card) for a read, the Response for a single request."""

    result: IdCard | Response | None


Action = Send | Wait | Done


class ReaderProtocol:
    """One request flow at a time; see the module docstring for the loop."""

    def __init__(
        self,
        *,
        fingerprint: bool = False,
        appended_address: bool = False,
        poll_interval_s: float = FIND_POLL_INTERVAL_S,
        request_timeout_s: float | None = None,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        if poll_interval_s < FIND_POLL_INTERVAL_S:
            raise ValueError(f"find-card polling must be ≥ {FIND_POLL_INTERVAL_S} s apart")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.fingerprint = fingerprint
        self.appended_address = appended_address
        self._poll_interval_s = poll_interval_s
        self._request_timeout_s = request_timeout_s
        self._max_attempts = max_attempts
        self._phase = Phase.IDLE
        self._step = Step.FIND
        self._single: Command | None = None
        self._attempt = 0
        self._deadline_s = 0.0
        self._send_at_s = 0.0
        self._sent_at_s = 0.0
        self._response_deadline_s = 0.0
        self._card: IdCard | None = None
        self._last_transient: SamFault | None = None
        self._result: IdCard | Response | None = None
        self._error: DriverError | None = None

    @property
    def phase(self) -> Phase:
        """The current phase."""
        return self._phase

    @property
    def step(self) -> Step | None:
        """The current request of the flow (None when idle)."""
        return None if self._phase is Phase.IDLE else self._step

    def start_read_card(self, now_s: float, timeout_s: float) -> None:
        """Begin polling for a card until `now_s + timeout_s`, then select and read it."""
        self._require_idle()
        self._deadline_s = now_s + max(0.0, timeout_s)
        self._begin(Step.FIND, now_s)

    def start_request(self, command: Command, now_s: float) -> None:
        """Begin one request (status, SAM id, reset) answered by a single response."""
        self._require_idle()
        self._single = command
        self._begin(Step.SINGLE, now_s)

    def abort(self) -> None:
        """Drop the current flow (the port was lost); the machine is idle afterwards."""
        self._reset()

    def poll(self, now_s: float) -> Action:
        """What to do now; raises the typed error of a failed flow (once)."""
        if self._phase is Phase.IDLE:
            raise ProtocolMisuse("poll() without a request in progress")
        if self._phase is Phase.FAILED:
            error = self._error
            self._reset()
            assert error is not None
            raise error
        if self._phase is Phase.FINISHED:
            result = self._result
            self._reset()
            return Done(result)
        if self._phase is Phase.POLL_WAIT:
            if now_s < self._send_at_s:
                return Wait(self._send_at_s)
            self._phase = Phase.READY_TO_SEND
        if self._phase is Phase.READY_TO_SEND:
            return self._send(now_s)
        if now_s >= self._response_deadline_s:
            self._lost(f"no answer within {self._timeout_s():g} s")
            return self.poll(now_s)
        return Wait(self._response_deadline_s)

    def receive(self, item: Frame | FrameError, now_s: float) -> None:
        """Take one decoded item; never raises (stale answers and host commands are ignored)."""
        if self._phase is not Phase.AWAITING:
            return
        if isinstance(item, FrameError):
            if item.reason in LOSS_REASONS:
                self._lost("answer corrupted")
            return
        if isinstance(item, Response):
            self._on_response(item, now_s)

    # -- internals ------------------------------------------------------------------------

    def _reset(self) -> None:
        self._phase = Phase.IDLE
        self._step = Step.FIND
        self._single = None
        self._attempt = 0
        self._deadline_s = 0.0
        self._send_at_s = 0.0
        self._sent_at_s = 0.0
        self._response_deadline_s = 0.0
        self._card = None
        self._last_transient = None
        self._result = None
        self._error = None

    def _require_idle(self) -> None:
        if self._phase is not Phase.IDLE:
            raise ProtocolMisuse(f"a request is already in progress ({self._phase.value})")

    def _begin(self, step: Step, now_s: float) -> None:
        self._step = step
        self._attempt = 0
        self._send_at_s = now_s
        self._phase = Phase.READY_TO_SEND

    def _timeout_s(self) -> float:
        return self._request_timeout_s or _STEP_TIMEOUTS_S[self._step]

    def _command(self) -> Command:
        if self._step is Step.SINGLE:
            assert self._single is not None
            return self._single
        if self._step is Step.READ:
            return READ_CARD_WITH_FINGERPRINT if self.fingerprint else READ_CARD
        return {
            Step.FIND: FIND_CARD,
            Step.SELECT: SELECT_CARD,
            Step.READ_ADDRESS: READ_APPENDED_ADDRESS,
        }[self._step]

    def _send(self, now_s: float) -> Send:
        command = self._command()
        self._attempt += 1
        self._sent_at_s = now_s
        self._response_deadline_s = now_s + self._timeout_s()
        self._phase = Phase.AWAITING
        return Send(encode(command), command)

    def _lost(self, why: str) -> None:
        if self._attempt < self._max_attempts:
            self._phase = Phase.READY_TO_SEND
            return
        self._fail(DeviceTimeout(f"{self._step.value}: {why} after {self._attempt} attempts"))

    def _fault(self, sw3: int) -> SamFault:
        return fault_answering(self._step.value, sw3)

    def _fail(self, error: DriverError) -> None:
        self._phase = Phase.FAILED
        self._error = error

    def _finish(self, result: IdCard | Response | None) -> None:
        self._phase = Phase.FINISHED
        self._result = result

    def _poll_again(self, now_s: float) -> None:
        """No card (or it moved away): poll again after the vendor interval, within the deadline."""
        next_find_s = max(self._sent_at_s + self._poll_interval_s, now_s)
        if next_find_s > self._deadline_s:
            if self._last_transient is not None:
                self._fail(self._last_transient)
            else:
                self._finish(None)
            return
        self._step = Step.FIND
        self._attempt = 0
        self._send_at_s = next_find_s
        self._phase = Phase.POLL_WAIT

    def _on_response(self, response: Response, now_s: float) -> None:
        transition = TABLE[(self._step, answer_of(response.sw3))]
        transition.action(self, response, now_s)
        if transition.next is not None:
            self._begin(transition.next, now_s)

    # -- actions (called through TABLE) ------------------------------------------------------

    def _proceed(self, _response: Response, _now_s: float) -> None:
        """Nothing to keep: the table's next step follows."""

    def _fail_with_fault(self, response: Response, _now_s: float) -> None:
        self._fail(self._fault(response.sw3))

    def _poll_again_now(self, _response: Response, now_s: float) -> None:
        self._poll_again(now_s)

    def _poll_again_after_transient(self, response: Response, now_s: float) -> None:
        """Usually the card moved or was lifted: remember why, in case the deadline comes."""
        self._last_transient = self._fault(response.sw3)
        self._poll_again(now_s)

    def _finish_with_response(self, response: Response, _now_s: float) -> None:
        self._finish(response)

    def _take_read_data(self, response: Response, now_s: float) -> None:
        try:
            read = parse_read_data(response.data)
            card = with_media(decode_text_block(read.text), read.photo, read.fingerprint)
        except FrameError:
            self._lost("malformed read data")
            return
        if self.appended_address:
            self._card = card
            self._begin(Step.READ_ADDRESS, now_s)
        else:
            self._finish(card)

    def _attach_address(self, response: Response, _now_s: float) -> None:
        assert self._card is not None
        self._finish(dataclasses.replace(self._card, appended_address=decode_ucs2(response.data)))

    def _finish_without_address(self, _response: Response, _now_s: float) -> None:
        """The appended address is optional: keep the card already read."""
        assert self._card is not None
        self._finish(dataclasses.replace(self._card, appended_address=None))


AnswerAction = Callable[[ReaderProtocol, Response, float], None]


class Transition(NamedTuple):
    """One table entry: the action to run and the step after it (None: the action decides)."""

    action: AnswerAction
    next: Step | None


_SPECIFIC: Mapping[tuple[Step, Answer], Transition] = {
    (Step.FIND, Answer.CARD_FOUND): Transition(ReaderProtocol._proceed, Step.SELECT),
    (Step.FIND, Answer.NO_CARD): Transition(ReaderProtocol._poll_again_now, None),
    (Step.SELECT, Answer.SUCCESS): Transition(ReaderProtocol._proceed, Step.READ),
    (Step.SELECT, Answer.SELECT_FAILED): Transition(
        ReaderProtocol._poll_again_after_transient, None
    ),
    (Step.READ, Answer.SUCCESS): Transition(ReaderProtocol._take_read_data, None),
    (Step.READ, Answer.READ_FAILED): Transition(ReaderProtocol._poll_again_after_transient, None),
    (Step.READ_ADDRESS, Answer.SUCCESS): Transition(ReaderProtocol._attach_address, None),
    (Step.SINGLE, Answer.SUCCESS): Transition(ReaderProtocol._finish_with_response, None),
}


def _build_table() -> Mapping[tuple[Step, Answer], Transition]:
    table = {
        (step, answer): Transition(ReaderProtocol._fail_with_fault, None)
        for step, answer in itertools.product(Step, Answer)
    }
    for answer in Answer:  # whatever else the SAM says, the card is already read
        table[(Step.READ_ADDRESS, answer)] = Transition(
            ReaderProtocol._finish_without_address, None
        )
    table.update(_SPECIFIC)
    return MappingProxyType(table)


TABLE = _build_table()
