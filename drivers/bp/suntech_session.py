"""The SunTech measurement as a sans-I/O state machine: start, poll cuff pressure, fetch result.

After h11 and the kiosk's own machine: `TABLE[(state, input)] = Transition(action, next)` has an
entry for every pair. Inputs a serial line delivers out of turn (late cuff replies, stray acks)
map to `ignore`, a documented no-op; time passing is the input TICK. `next` is None where the
action decides. Deadlines raise DeviceTimeout and a refusal to start raises DeviceFault.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import NamedTuple

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


class Input(enum.Enum):
    """What the session reacts to: a decoded event's kind, or time passing."""

    STARTED = "O"  # command received
    COMPLETED = "K"  # measurement completed (or a command finished)
    BUSY = "B"
    ABORTED = "A"  # the module stopped itself; its return code says why
    REFUSED = "refused"  # E, N, D, S, T: refusals a start never gets from a working module
    UNKNOWN_ACK = "unknown ack"
    CUFF = "cuff"
    RESULT = "result"
    OTHER = "other"  # host requests echoed on a two-way line
    TICK = "tick"


_ACK_INPUTS = {i.value: i for i in (Input.STARTED, Input.COMPLETED, Input.BUSY, Input.ABORTED)}
_REFUSALS = frozenset("ENDST")


def input_kind(event: DecodedItem) -> Input:
    """The table input of a decoded event."""
    if isinstance(event, DeviceAck):
        if event.code in _REFUSALS:
            return Input.REFUSED
        return _ACK_INPUTS.get(event.code, Input.UNKNOWN_ACK)
    if isinstance(event, CuffPressure):
        return Input.CUFF
    if isinstance(event, BpResult):
        return Input.RESULT
    return Input.OTHER


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

    @property
    def transitions(self) -> Mapping[tuple[State, Input], Transition]:
        """The transition table (the same for every session)."""
        return TABLE

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
        """React to one decoded event as the table says (out-of-turn events are ignored)."""
        return self._step(input_kind(event), event, now_s)

    def on_tick(self, now_s: float) -> SessionOutput:
        """Polls, retries and deadlines."""
        return self._step(Input.TICK, None, now_s)

    def _step(self, kind: Input, event: DecodedItem | None, now_s: float) -> SessionOutput:
        transition = TABLE[(self.state, kind)]
        out = transition.action(self, event, now_s)
        if transition.next is not None:
            self.state = transition.next
        return out

    # -- actions (called through TABLE) ------------------------------------------------------

    def _ignore(self, _event: DecodedItem | None, _now_s: float) -> SessionOutput:
        return SessionOutput()

    def _on_start_tick(self, _event: DecodedItem | None, now_s: float) -> SessionOutput:
        if now_s >= self._deadline_s:
            return self._retry(START_REQUEST, START_ATTEMPTS, "start", now_s)
        return SessionOutput()

    def _on_measuring_tick(self, _event: DecodedItem | None, now_s: float) -> SessionOutput:
        if now_s >= self._measure_deadline_s:
            self._fail()
            raise DeviceTimeout("the measurement did not finish in time")
        if now_s >= self._next_poll_s:
            return self._poll(now_s)
        return SessionOutput()

    def _on_fetch_tick(self, _event: DecodedItem | None, now_s: float) -> SessionOutput:
        if now_s >= self._deadline_s:
            return self._retry(RESULT_REQUEST, FETCH_ATTEMPTS, "result", now_s)
        return SessionOutput()

    def _on_started(self, _event: DecodedItem | None, now_s: float) -> SessionOutput:
        self.state = State.MEASURING
        self._deadline_s = math.inf
        self._next_poll_s = now_s  # first poll at once: the gauge should move immediately
        return SessionOutput()

    def _on_busy(self, event: DecodedItem | None, now_s: float) -> SessionOutput:
        if self._attempts > 1:
            # Our first start was taken and its `O` lost: the module is measuring for us.
            return self._on_started(event, now_s)
        self._fail()
        raise DeviceFault(ord("B"), "the meter is busy with another measurement")

    def _on_cuff(self, event: DecodedItem | None, _now_s: float) -> SessionOutput:
        self._poll_outstanding = False
        self._missed_polls = 0
        return SessionOutput(cuff=event if isinstance(event, CuffPressure) else None)

    def _on_measured(self, _event: DecodedItem | None, now_s: float) -> SessionOutput:
        self._attempts = 0
        return self._request(RESULT_REQUEST, now_s)

    def _on_result(self, event: DecodedItem | None, _now_s: float) -> SessionOutput:
        self._deadline_s = math.inf
        return SessionOutput(result=event if isinstance(event, BpResult) else None)

    # -- helpers ------------------------------------------------------------------------------

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


Action = Callable[[SuntechSession, DecodedItem | None, float], SessionOutput]


class Transition(NamedTuple):
    """One table entry: the action to run and the state after it (None: the action decides)."""

    action: Action
    next: State | None


_SPECIFIC: Mapping[tuple[State, Input], Transition] = {
    (State.STARTING, Input.STARTED): Transition(SuntechSession._on_started, State.MEASURING),
    (State.STARTING, Input.BUSY): Transition(SuntechSession._on_busy, None),
    (State.STARTING, Input.TICK): Transition(SuntechSession._on_start_tick, None),
    (State.MEASURING, Input.CUFF): Transition(SuntechSession._on_cuff, State.MEASURING),
    (State.MEASURING, Input.COMPLETED): Transition(SuntechSession._on_measured, State.FETCHING),
    # The module stopped itself (e.g. a leak): fetch the result, whose code says why.
    (State.MEASURING, Input.ABORTED): Transition(SuntechSession._on_measured, State.FETCHING),
    (State.MEASURING, Input.TICK): Transition(SuntechSession._on_measuring_tick, None),
    (State.FETCHING, Input.RESULT): Transition(SuntechSession._on_result, State.DONE),
    (State.FETCHING, Input.TICK): Transition(SuntechSession._on_fetch_tick, None),
}


def _build_table() -> Mapping[tuple[State, Input], Transition]:
    table = {
        (state, kind): Transition(SuntechSession._ignore, None)
        for state, kind in itertools.product(State, Input)
    }
    table.update(_SPECIFIC)
    return MappingProxyType(table)


TABLE = _build_table()
