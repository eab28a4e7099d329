"""Streaming SAM frame decoder: bytes in, frames and discard reports out; bounded; resyncs.

Rules, applied in stream order so that the result never depends on how input is chunked:
- bytes before a preamble form one garbage run, reported once when the run ends;
- a preamble with an impossible LEN is discarded (5 bytes) and scanning resumes after it;
- a pending frame is declared truncated when a complete, valid frame that started inside it
  ends before it would (a reader that restarted mid-frame). A bare preamble inside is not
  enough: photo and fingerprint bytes are arbitrary and may contain one;
- a complete frame with a bad checksum is discarded up to the next preamble inside it.
Retained state is at most one pending frame (MAX_FRAME_BYTES); garbage is counted, not kept.
"""

from __future__ import annotations

from drivers.errors import FrameError
from drivers.idcard.frames import (
    HEADER_BYTES,
    MAX_DECLARED_LENGTH,
    MAX_FRAME_BYTES,
    MIN_DECLARED_LENGTH,
    PREAMBLE,
    REASON_BAD_CHECKSUM,
    REASON_BAD_LENGTH,
    REASON_GARBAGE,
    REASON_TRUNCATED,
    Frame,
    parse_payload,
    xor_checksum,
)

MAX_BUFFER_BYTES = MAX_FRAME_BYTES
_PREAMBLE_LEN = len(PREAMBLE)

Located = tuple[int, Frame | FrameError]
"""(stream offset of the frame's first byte, frame or discard report)."""


class FrameDecoder:
    """Feed bytes as they arrive; get back frames and `FrameError` values, never exceptions."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._base = 0  # stream offset of _buf[0]
        self._garbage_start = 0
        self._garbage_len = 0

    @property
    def buffered_bytes(self) -> int:
        """Bytes held for a frame not yet complete (bounded by MAX_BUFFER_BYTES)."""
        return len(self._buf)

    def reset(self) -> None:
        """Forget partial input (before a new request); stream offsets restart at 0."""
        self._buf.clear()
        self._base = 0
        self._garbage_len = 0

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        """Frames and discard reports completed by `data`, in stream order."""
        return [item for _, item in self.feed_located(data)]

    def feed_located(self, data: bytes) -> list[Located]:
        """Like `feed`, with the stream offset of each item."""
        self._buf += data
        out: list[Located] = []
        buf = self._buf
        pos = 0
        while True:
            start = buf.find(PREAMBLE, pos)
            if start < 0:
                keep = _partial_preamble_len(buf, pos)
                self._add_garbage(pos, len(buf) - keep)
                pos = len(buf) - keep
                break
            self._add_garbage(pos, start)
            self._flush_garbage(out)
            if len(buf) - start < HEADER_BYTES:
                pos = start
                break
            declared = int.from_bytes(buf[start + _PREAMBLE_LEN : start + HEADER_BYTES], "big")
            if not MIN_DECLARED_LENGTH <= declared <= MAX_DECLARED_LENGTH:
                out.append(self._error(REASON_BAD_LENGTH, start, _PREAMBLE_LEN))
                pos = start + _PREAMBLE_LEN
                continue
            end = start + HEADER_BYTES + declared
            restart = _earliest_inner_frame(buf, start, end)
            if restart is not None:
                out.append(self._error(REASON_TRUNCATED, start, restart - start))
                pos = restart
                continue
            if end > len(buf):
                pos = start
                break
            if xor_checksum(buf[start + _PREAMBLE_LEN : end - 1]) != buf[end - 1]:
                inner = buf.find(PREAMBLE, start + 1, end)
                stop = inner if inner >= 0 else end
                out.append(self._error(REASON_BAD_CHECKSUM, start, stop - start))
                pos = stop
                continue
            try:
                frame = parse_payload(bytes(buf[start + HEADER_BYTES : end - 1]))
            except FrameError as exc:
                out.append(self._error(exc.reason, start, end - start))
            else:
                out.append((self._base + start, frame))
            pos = end
        del buf[:pos]
        self._base += pos
        return out

    def flush(self) -> list[FrameError]:
        """End of input (a capture file): report whatever is still pending as discarded."""
        out: list[Located] = []
        if self._buf:
            reason = REASON_TRUNCATED if self._buf.startswith(PREAMBLE) else REASON_GARBAGE
            if reason == REASON_GARBAGE:
                self._add_garbage(0, len(self._buf))
            else:
                self._flush_garbage(out)
                out.append(self._error(reason, 0, len(self._buf)))
            self._base += len(self._buf)
            self._buf.clear()
        self._flush_garbage(out)
        return [item for _, item in out if isinstance(item, FrameError)]

    def _add_garbage(self, begin: int, end: int) -> None:
        if end <= begin:
            return
        if self._garbage_len == 0:
            self._garbage_start = self._base + begin
        self._garbage_len += end - begin

    def _flush_garbage(self, out: list[Located]) -> None:
        if self._garbage_len:
            error = FrameError(REASON_GARBAGE, offset=self._garbage_start, length=self._garbage_len)
            out.append((self._garbage_start, error))
            self._garbage_len = 0

    def _error(self, reason: str, start: int, length: int) -> Located:
        offset = self._base + start
        return offset, FrameError(reason, offset=offset, length=length)


def _partial_preamble_len(buf: bytearray, pos: int) -> int:
    """Length of the longest buffer suffix (after `pos`) that could begin a preamble."""
    for size in range(_PREAMBLE_LEN - 1, 0, -1):
        if len(buf) - size >= pos and buf.endswith(PREAMBLE[:size]):
            return size
    return 0


def _earliest_inner_frame(buf: bytearray, start: int, end: int) -> int | None:
    """Start of the valid frame beginning inside [start, end) that completes first before `end`."""
    best_end = end
    best_start: int | None = None
    limit = min(end, len(buf))
    probe = buf.find(PREAMBLE, start + 1, limit)
    while probe >= 0:
        inner_end = _valid_frame_end(buf, probe)
        if inner_end is not None and inner_end < best_end:
            best_end, best_start = inner_end, probe
        probe = buf.find(PREAMBLE, probe + 1, limit)
    return best_start


def _valid_frame_end(buf: bytearray, start: int) -> int | None:
    """End of a complete, checksummed, parseable frame at `start`, or None."""
    if len(buf) - start < HEADER_BYTES:
        return None
    declared = int.from_bytes(buf[start + _PREAMBLE_LEN : start + HEADER_BYTES], "big")
    end = start + HEADER_BYTES + declared
    if not MIN_DECLARED_LENGTH <= declared <= MAX_DECLARED_LENGTH or end > len(buf):
        return None
    if xor_checksum(buf[start + _PREAMBLE_LEN : end - 1]) != buf[end - 1]:
        return None
    try:
        parse_payload(bytes(buf[start + HEADER_BYTES : end - 1]))
    except FrameError:
        return None
    return end
