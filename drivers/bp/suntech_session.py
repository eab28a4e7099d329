"""The SunTech measurement as a sans-I/O state machine: start, poll cuff pressure, fetch result.

Transitions are a table `{(state, input): handler}`; inputs not in the table (late cuff
replies, stray acks) are ignored on purpose, as a serial line delivers stale replies. Time is
passed in; deadlines raise DeviceTimeout and a refusal to start raises DeviceFault.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable

from drivers.bp.events import BpResult, CuffPressure, DecodedItem, DeviceAck
from drivers.bp.protocol import SessionOutput
from drivers.bp.suntech import CUFF_PRESSURE_REQUEST, RESULT_REQUEST, START_REQUEST
from drivers.errors import DeviceFault, DeviceTimeout, ProtocolMisuse

# A reply takes < 30 ms at 9600 baud; the rest is slack for USB-serial adapters.
REPLY_TIMEOUT_S = 0.5
# Host software for this module polls every 200 ms: smooth enough for a live gauge.
CUFF_POLL_INTERVAL_S = 0.2
MAX_MISSED_POLLS = 3
START_ATTEMPTS = 2
FETCH_ATTEMPTS = 3
# An adult measurement with re-inflation stays well under the module's own safety timeout.
MEASUREMENT_TIMEOUT_S = 150.0


class State(enum.Enum):
    """Where one measurement is."""

    IDLE = "idle"  # nothing sent yet
    STARTING = "starting"  # start sent, waiting for `O`
    MEASURING = "measuring"  # module measuring, cuff pressure polled, waiting for `K`
    FETCHING = "fetching"  # result requested
    DONE = "done"  # result produced or the session failed


Handler = Callable[[DecodedItem, float], SessionOutput]


def input_kind(event: DecodedItem) -> str:
    """The table key of an event: the ack character, `cuff`, `result` or `other`."""
    if isinstance(event, DeviceAck):
        return event.code
    if isinstance(event, CuffPressure):
        return "cuff"
    if isinstance(event, BpResult):
        return "result"
    return "other"


class SuntechSession:
    """One measurement; feed it decoded events and ticks, write what it returns."""

    def __init__(self, *, timeout_s: float = MEASUREMENT_TIMEOUT_S) -> None:
        self.state = State.IDLE
        self._timeout_s = timeout_s
        self._deadline_s = math.inf
        self._measure_deadline_s = math.inf
        self._next_poll_s = math.inf
        self._attempts = 0
        self._poll_outstanding = False
        self._missed_polls = 0
        self.transitions: dict[tuple[State, str], Handler] = {
            (State.STARTING, "O"): self._on_started,
            (State.STARTING, "B"): self._on_busy,
            (State.MEASURING, "cuff"): self._on_cuff,
            (State.MEASURING, "K"): self._on_measured,
            (State.MEASURING, "A"): self._on_measured,  # module stopped itself: fetch its code
            (State.FETCHING, "result"): self._on_result,
        }

    @property
    def wake_at_s(self) -> float:
        """When `on_tick` next needs calling."""
        if self.state is State.MEASURING:
            return min(self._next_poll_s, self._measure_deadline_s)
        return self._deadline_s

    @property
    def finished(self) -> bool:
        """True once a result was produced or the session failed."""
        return self.state is State.DONE

    def begin(self, now_s: float) -> SessionOutput:
        """Send the start request."""
        if self.state is not State.IDLE:
            raise ProtocolMisuse("a SunTech session can only be started once")
        self.state = State.STARTING
        self._measure_deadline_s = now_s + self._timeout_s
        return self._request(START_REQUEST, now_s)

    def on_event(self, event: DecodedItem, now_s: float) -> SessionOutput:
        """React to one decoded event; pairs not in the transition table are ignored."""
        handler = self.transitions.get((self.state, input_kind(event)))
        return handler(event, now_s) if handler is not None else SessionOutput()

    def on_tick(self, now_s: float) -> SessionOutput:
        """Polls, retries and deadlines."""
        if self.state is State.STARTING and now_s >= self._deadline_s:
            return self._retry(START_REQUEST, START_ATTEMPTS, "start", now_s)
        if self.state is State.MEASURING:
            if now_s >= self._measure_deadline_s:
                self._fail()
                raise DeviceTimeout("the measurement did not finish in time")
            if now_s >= self._next_poll_s:
                return self._poll(now_s)
        if self.state is State.FETCHING and now_s >= self._deadline_s:
            return self._retry(RESULT_REQUEST, FETCH_ATTEMPTS, "result", now_s)
        return SessionOutput()

    def _request(self, frame: bytes, now_s: float) -> SessionOutput:
        self._attempts += 1
        self._deadline_s = now_s + REPLY_TIMEOUT_S
        return SessionOutput(send=frame)

    def _retry(self, frame: bytes, attempts: int, what: str, now_s: float) -> SessionOutput:
        if self._attempts >= attempts:
            self._fail()
            raise DeviceTimeout(f"no reply to the {what} request")
        return self._request(frame, now_s)

    def _poll(self, now_s: float) -> SessionOutput:
        if self._poll_outstanding:
            self._missed_polls += 1
            if self._missed_polls >= MAX_MISSED_POLLS:
                self._fail()
                raise DeviceTimeout("the meter stopped answering cuff pressure requests")
        self._poll_outstanding = True
        self._next_poll_s = now_s + CUFF_POLL_INTERVAL_S
        return SessionOutput(send=CUFF_PRESSURE_REQUEST)

    def _fail(self) -> None:
        self.state = State.DONE
        self._deadline_s = math.inf

    def _on_started(self, _event: DecodedItem, now_s: float) -> SessionOutput:
        self.state = State.MEASURING
        self._deadline_s = math.inf
        self._next_poll_s = now_s  # first poll at once: the gauge should move immediately
        return SessionOutput()

    def _on_busy(self, event: DecodedItem, now_s: float) -> SessionOutput:
        if self._attempts > 1:
            # Our first start was taken and its `O` lost: the module is measuring for us.
            return self._on_started(event, now_s)
        self._fail()
        raise DeviceFault(ord("B"), "the meter is busy with another measurement")

    def _on_cuff(self, event: DecodedItem, _now_s: float) -> SessionOutput:
        self._poll_outstanding = False
        self._missed_polls = 0
        return SessionOutput(cuff=event if isinstance(event, CuffPressure) else None)

    def _on_measured(self, _event: DecodedItem, now_s: float) -> SessionOutput:
        self.state = State.FETCHING
        self._attempts = 0
        return self._request(RESULT_REQUEST, now_s)

    def _on_result(self, event: DecodedItem, _now_s: float) -> SessionOutput:
        self.state = State.DONE
        self._deadline_s = math.inf
        return SessionOutput(result=event if isinstance(event, BpResult) else None)
