"""The plug-in interface every BP protocol module implements, and the registry of protocols.

A protocol module is sans-I/O: it encodes host requests, decodes device bytes with a bounded
streaming decoder that resyncs after garbage, and runs a measurement state machine that is
given the time rather than reading a clock. Adding a protocol is one module that defines
`PROTOCOL = BpProtocol(...)` plus one line in `PROTOCOL_MODULES`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from drivers.bp.events import BpResult, CuffPressure, DecodedItem
from drivers.errors import FrameError

# config name -> module that defines PROTOCOL
PROTOCOL_MODULES: Mapping[str, str] = MappingProxyType(
    {
        "suntech": "drivers.bp.suntech",
        "omron9030": "drivers.bp.omron9030",
    }
)

MAX_DISCARD_RUN_BYTES = 4096


class BpDecoder(Protocol):
    """Streaming decoder: bytes in, events and FrameError values out; never raises on input."""

    def feed(self, data: bytes) -> list[DecodedItem]:
        """Take more bytes; return every complete frame and discarded run found so far."""
        ...

    def expire_partial(self) -> list[DecodedItem]:
        """The line went quiet mid-frame: drop the stalled frame head and rescan what follows."""
        ...

    def flush(self) -> list[DecodedItem]:
        """End of stream: report anything still buffered as discarded."""
        ...

    @property
    def pending(self) -> bool:
        """True while part of a frame is buffered."""
        ...


@dataclass(frozen=True)
class SessionOutput:
    """What the state machine wants done: bytes to write, a cuff reading or the final result."""

    send: bytes = b""
    cuff: CuffPressure | None = None
    result: BpResult | None = None


class MeasurementSession(Protocol):
    """One measurement's state machine; `now_s` is monotonic seconds supplied by the caller.

    `on_tick` raises DeviceTimeout when a request deadline passes and DeviceFault when the
    meter refuses; everything else is reported through SessionOutput.
    """

    def begin(self, now_s: float) -> SessionOutput:
        """Start the measurement (the request to write, if the protocol has one)."""
        ...

    def on_event(self, event: DecodedItem, now_s: float) -> SessionOutput:
        """React to one decoded device event; unsolicited or stale events are ignored."""
        ...

    def on_tick(self, now_s: float) -> SessionOutput:
        """React to time passing: polls, retries and deadlines."""
        ...

    @property
    def wake_at_s(self) -> float:
        """When `on_tick` next needs calling."""
        ...

    @property
    def finished(self) -> bool:
        """True once a result was produced (or the session failed)."""
        ...


@dataclass(frozen=True)
class BpProtocol:
    """Everything the device layer, simulator and tools need to know about one protocol."""

    name: str
    baudrate: int
    push_only: bool
    new_decoder: Callable[[], BpDecoder]
    new_session: Callable[[float], MeasurementSession]
    abort_request: bytes
    result_fields: tuple[str, ...]
    # A request the idle meter answers without measuring (self-test); empty for push-only meters.
    status_request: bytes = b""


def get_protocol(name: str) -> BpProtocol:
    """The protocol registered under a config name; ValueError naming the known ones otherwise."""
    try:
        module_name = PROTOCOL_MODULES[name]
    except KeyError:
        known = ", ".join(sorted(PROTOCOL_MODULES))
        raise ValueError(f"unknown BP protocol {name!r}; known: {known}") from None
    protocol: BpProtocol = importlib.import_module(module_name).PROTOCOL
    return protocol


class DiscardLog:
    """Coalesces adjacent discarded bytes into one FrameError, independent of chunking."""

    def __init__(self) -> None:
        self._reason = ""
        self._offset = 0
        self._length = 0

    def discard(self, reason: str, offset: int, length: int, out: list[DecodedItem]) -> None:
        """Record `length` bytes dropped at stream `offset`; emits finished runs into `out`."""
        if not (self._length and self._offset + self._length == offset):
            self.close(out)
            self._reason, self._offset = reason, offset
        self._length += length
        # Split at a fixed size so that the output never depends on how the input was chunked.
        while self._length >= MAX_DISCARD_RUN_BYTES:
            out.append(FrameError(self._reason, offset=self._offset, length=MAX_DISCARD_RUN_BYTES))
            self._offset += MAX_DISCARD_RUN_BYTES
            self._length -= MAX_DISCARD_RUN_BYTES

    def close(self, out: list[DecodedItem]) -> None:
        """Emit the run in progress, if any."""
        if self._length:
            out.append(FrameError(self._reason, offset=self._offset, length=self._length))
            self._length = 0


class BufferedDecoder:
    """Shared state of the streaming decoders: bytes not yet decoded, their stream offset, and
    the run of discarded bytes being coalesced."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._offset = 0  # stream offset of self._buf[0]
        self._discards = DiscardLog()

    @property
    def pending(self) -> bool:
        """True while part of a frame or line is buffered."""
        return bool(self._buf)

    def _consume(self, count: int) -> None:
        del self._buf[:count]
        self._offset += count

    def _drop(self, count: int, reason: str, out: list[DecodedItem]) -> None:
        self._discards.discard(reason, self._offset, count, out)
        self._consume(count)
