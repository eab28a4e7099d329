"""Sans-I/O reader state machine: find → select → read (→ appended address), time passed in.

The caller loops: `poll(now)` says what to do (`Send` bytes, `Wait` until a time, or `Done`);
decoded frames and discard reports go to `receive(item, now)`. Every request has a timeout and
is retried when its answer is lost or corrupted. A failed outcome is raised by `poll` as a typed
error (DeviceTimeout, a SamFault subclass), after which the machine is idle again.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum

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
        sw3 = response.sw3
        step = self._step
        if step is Step.SINGLE:
            if sw3 == SW3_SUCCESS:
                self._finish(response)
            else:
                self._fail(self._fault(sw3))
        elif step is Step.FIND:
            if sw3 == SW3_CARD_FOUND:
                self._begin(Step.SELECT, now_s)
            elif sw3 == SW3_NO_CARD:
                self._poll_again(now_s)
            else:
                self._fail(self._fault(sw3))
        elif step is Step.SELECT:
            self._on_select(sw3, now_s)
        elif step is Step.READ:
            self._on_read(response, now_s)
        else:
            self._on_appended_address(response)

    def _on_select(self, sw3: int, now_s: float) -> None:
        if sw3 == SW3_SUCCESS:
            self._begin(Step.READ, now_s)
            return
        fault = self._fault(sw3)
        if isinstance(fault, CardSelectFailed):
            self._last_transient = fault
            self._poll_again(now_s)
        else:
            self._fail(fault)

    def _on_read(self, response: Response, now_s: float) -> None:
        if response.sw3 != SW3_SUCCESS:
            fault = self._fault(response.sw3)
            if isinstance(fault, CardReadFailed):  # usually the card was lifted mid-read
                self._last_transient = fault
                self._poll_again(now_s)
            else:
                self._fail(fault)
            return
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

    def _on_appended_address(self, response: Response) -> None:
        card = self._card
        assert card is not None
        if response.sw3 == SW3_SUCCESS:
            card = dataclasses.replace(card, appended_address=decode_ucs2(response.data))
        elif response.sw3 != SW3_NO_CONTENT:
            # the appended address is optional: keep the card already read
            card = dataclasses.replace(card, appended_address=None)
        self._finish(card)
