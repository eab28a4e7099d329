"""Streaming decoder for serial scanner output: bytes in, QrScanned / MenuReply / FrameError out.

Bounded: the buffer never holds more than one maximal line; a longer run is discarded while
counting (not storing) its bytes until the next suffix, where it is reported as one FrameError.
A line holding any non-printable byte is discarded whole and decoding resumes after its suffix.
Never raises on input bytes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from drivers.errors import FrameError
from drivers.qrscan.frames import (
    MAX_PAYLOAD_CHARS,
    REASON_NON_PRINTABLE,
    REASON_OVERSIZE,
    REASON_TRUNCATED,
    MenuReply,
    Suffix,
    first_non_printable,
    parse_menu_reply,
)
from drivers.qrscan.token import KindRule, QrScanned

ScannerEvent = QrScanned | MenuReply | FrameError

# The longest terminator we look for (CRLF, or a status byte + storage mark): how far back a
# search must restart when more bytes arrive.
_MAX_TERMINATOR_BYTES = 2
_MENU_END = re.compile(rb"[\x05\x06\x15][.!]")


class LineDecoder:
    """Feed bytes, get events in stream order; `finish()` reports an unterminated tail."""

    def __init__(
        self,
        *,
        suffix: bytes | str | Suffix = Suffix.CR,
        max_payload: int = MAX_PAYLOAD_CHARS,
        kind_rules: Sequence[KindRule] = (),
    ) -> None:
        if max_payload < 1:
            raise ValueError("max_payload must be at least 1")
        self.suffix = Suffix.parse(suffix)
        self.max_payload = max_payload
        self._rules = tuple(kind_rules)
        self._buffer = bytearray()
        self._position = 0  # stream offset of self._buffer[0]
        self._searched = 0  # buffer prefix known to hold no terminator
        self._skipping_since: int | None = None  # stream offset where an oversize run began
        self._skipped = 0

    @property
    def buffered(self) -> int:
        """Bytes held waiting for a terminator (never more than max_payload + 2)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[ScannerEvent]:
        """Decode what `data` completes; keeps the unterminated rest."""
        events: list[ScannerEvent] = []
        self._buffer += data
        while self._buffer:
            if self._skipping_since is not None:
                if not self._skip(events):
                    break
                continue
            if not self._take_unit(events):
                break
        return events

    def finish(self) -> list[ScannerEvent]:
        """End of stream: report buffered or skipped bytes that never saw a terminator."""
        events: list[ScannerEvent] = []
        if self._skipping_since is not None:
            total = self._skipped + len(self._buffer)
            events.append(FrameError(REASON_OVERSIZE, offset=self._skipping_since, length=total))
        elif self._buffer:
            events.append(
                FrameError(REASON_TRUNCATED, offset=self._position, length=len(self._buffer))
            )
        self._consume(len(self._buffer))
        self._skipping_since = None
        self._skipped = 0
        return events

    def _consume(self, count: int) -> None:
        del self._buffer[:count]
        self._position += count
        self._searched = 0

    def _skip(self, events: list[ScannerEvent]) -> bool:
        """Discard an oversize run up to and including the next suffix; False if none yet."""
        assert self._skipping_since is not None
        end = self._buffer.find(self.suffix.value)
        if end < 0:
            keep = len(self.suffix.value) - 1  # a CR that may start a CRLF
            drop = max(0, len(self._buffer) - keep)
            self._skipped += drop
            self._consume(drop)
            return False
        length = self._skipped + end + len(self.suffix.value)
        events.append(FrameError(REASON_OVERSIZE, offset=self._skipping_since, length=length))
        self._consume(end + len(self.suffix.value))
        self._skipping_since = None
        self._skipped = 0
        return True

    def _take_unit(self, events: list[ScannerEvent]) -> bool:
        """Decode the first complete line or menu reply; False if more bytes are needed."""
        start = max(0, self._searched - (_MAX_TERMINATOR_BYTES - 1))
        suffix_at = self._buffer.find(self.suffix.value, start)
        stop = len(self._buffer) if suffix_at < 0 else suffix_at + 1
        menu = _MENU_END.search(self._buffer, start, stop + 1)
        menu_at = (
            menu.start() if menu is not None and (suffix_at < 0 or menu.start() < suffix_at) else -1
        )
        first = menu_at if menu_at >= 0 else suffix_at
        if first < 0:
            self._searched = len(self._buffer)
            if len(self._buffer) > self.max_payload + _MAX_TERMINATOR_BYTES:
                self._skipping_since = self._position
                return True
            return False
        if first > self.max_payload:
            # The same verdict a byte-by-byte feed reaches when the buffer cap trips first.
            self._skipping_since = self._position
            return True
        if menu_at >= 0:
            end = menu_at + 2
            events.append(parse_menu_reply(bytes(self._buffer[:end]), offset=self._position))
            self._consume(end)
            return True
        self._emit_line(events, suffix_at)
        return True

    def _emit_line(self, events: list[ScannerEvent], end: int) -> None:
        line = bytes(self._buffer[:end])
        unit_length = end + len(self.suffix.value)
        if line:
            if first_non_printable(line) >= 0:
                events.append(
                    FrameError(REASON_NON_PRINTABLE, offset=self._position, length=unit_length)
                )
            else:
                events.append(QrScanned.of(line.decode("ascii"), rules=self._rules))
        # An empty line (a bare suffix) carries nothing and is not an error.
        self._consume(unit_length)


def decode_all(
    data: bytes,
    *,
    suffix: bytes | str | Suffix = Suffix.CR,
    max_payload: int = MAX_PAYLOAD_CHARS,
    kind_rules: Sequence[KindRule] = (),
) -> list[ScannerEvent]:
    """Decode a whole capture, including the report of an unterminated tail."""
    decoder = LineDecoder(suffix=suffix, max_payload=max_payload, kind_rules=kind_rules)
    return decoder.feed(data) + decoder.finish()
