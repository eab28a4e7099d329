"""Streaming ESC/POS decoder (the printer's side): bytes in, commands and FrameError values out.

Bounded: the buffer holds at most one command (`MAX_COMMAND_BYTES`) or one text run
(`MAX_TEXT_RUN_BYTES`, split at a GB 18030 character boundary); a larger QR store or raster is
skipped by counting, never stored. An unknown command is reported and skipped (the
length-prefixed `GS (` family by its length, others by their two bytes) and decoding carries on:
a printer never gives up on its stream. Never raises on input bytes.
"""

from __future__ import annotations

import re

from drivers.errors import FrameError
from drivers.printer.frames import (
    DLE,
    EOT,
    ESC,
    FS,
    GS,
    LF,
    MAX_QR_PAYLOAD_BYTES,
    MAX_RASTER_BYTES,
    MAX_RASTER_HEIGHT_DOTS,
    MAX_WIDTH_BYTES,
    QR_CN,
    QR_FN_ERROR,
    QR_FN_MODEL,
    QR_FN_PRINT,
    QR_FN_SIZE,
    QR_FN_STORE,
    Align,
    Bold,
    CharacterSize,
    ChineseMode,
    CodePage,
    Command,
    Cut,
    FeedLines,
    Initialize,
    Justify,
    LineFeed,
    QrErrorCorrection,
    QrErrorLevel,
    QrModel,
    QrModuleSize,
    QrPrint,
    QrStore,
    RasterImage,
    StatusKind,
    StatusRequest,
    Text,
)

PrinterEvent = Command | FrameError

MAX_TEXT_RUN_BYTES = 4096
RASTER_HEADER_BYTES = 8
MAX_COMMAND_BYTES = RASTER_HEADER_BYTES + MAX_RASTER_BYTES

REASON_UNKNOWN_COMMAND = "unknown_command"
REASON_BAD_PARAMETER = "bad_parameter"
REASON_OVERSIZE = "oversize"
REASON_TRUNCATED = "truncated"

# Commands we accept but that change nothing on a simulated page: prefix -> parameter bytes.
_IGNORED = {
    (ESC, ord("!")): 1,  # print mode (font, emphasis)
    (ESC, ord("-")): 1,  # underline
    (ESC, ord("2")): 0,  # default line spacing
    (ESC, ord("3")): 1,  # line spacing
    (ESC, ord("J")): 1,  # feed n dots
    (ESC, ord("M")): 1,  # character font
    (GS, ord("B")): 1,  # reverse
    (FS, ord("!")): 1,  # Chinese character print mode
    (FS, ord("C")): 1,  # Chinese code system
}
_NEED_MORE = None
_CONTROL_BYTE = re.compile(rb"[\x00-\x1f]")


def _text_boundary(data: bytes | bytearray, limit: int) -> int:
    """The largest GB 18030 character boundary at or below `limit` in `data`."""
    index = 0
    while index < limit:
        b = data[index]
        if b < 0x81 or b == 0xFF:
            step = 1
        elif index + 1 < len(data) and 0x30 <= data[index + 1] <= 0x39:
            step = 4
        else:
            step = 2
        if index + step > limit:
            break
        index += step
    return index or limit


class EscPosDecoder:
    """Feed bytes, get commands in stream order; `finish()` flushes a trailing text run."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._position = 0
        self._skip_remaining = 0
        self._text_scanned = 0

    @property
    def buffered(self) -> int:
        """Bytes held (never more than MAX_COMMAND_BYTES)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[PrinterEvent]:
        """Decode what `data` completes; text stays buffered until a command ends its run."""
        events: list[PrinterEvent] = []
        if self._skip_remaining:
            dropped = min(self._skip_remaining, len(data))
            self._skip_remaining -= dropped
            self._position += dropped
            data = data[dropped:]
        self._buffer += data
        while self._buffer and not self._skip_remaining:
            if not self._take(events):
                break
        if self._skip_remaining and self._buffer:
            dropped = min(self._skip_remaining, len(self._buffer))
            self._skip_remaining -= dropped
            self._consume(dropped)
        return events

    def finish(self) -> list[PrinterEvent]:
        """End of stream: the pending text run, or a FrameError for a cut-off command."""
        events: list[PrinterEvent] = []
        if self._buffer:
            if self._buffer[0] >= 0x20:
                events.append(Text(bytes(self._buffer)))
            else:
                events.append(self._error(REASON_TRUNCATED, len(self._buffer)))
            self._consume(len(self._buffer))
        self._skip_remaining = 0
        return events

    def _consume(self, count: int) -> None:
        del self._buffer[:count]
        self._position += count
        self._text_scanned = 0

    def _error(self, reason: str, length: int) -> FrameError:
        return FrameError(reason, offset=self._position, length=length)

    def _emit(self, events: list[PrinterEvent], event: PrinterEvent, length: int) -> bool:
        events.append(event)
        self._consume(length)
        return True

    def _take(self, events: list[PrinterEvent]) -> bool:
        """Decode one unit at the buffer start; False if it needs more bytes."""
        first = self._buffer[0]
        if first >= 0x20:
            return self._take_text(events)
        if first == LF:
            return self._emit(events, LineFeed(), 1)
        if first == 0x0D:  # CR: most printers ignore it when LF follows
            self._consume(1)
            return True
        if first in (ESC, GS, FS, DLE):
            if len(self._buffer) < 2:
                return False
            result = self._take_command(events)
            return result is not _NEED_MORE and result
        events.append(self._error(REASON_UNKNOWN_COMMAND, 1))
        self._consume(1)
        return True

    def _take_text(self, events: list[PrinterEvent]) -> bool:
        # Text bytes already scanned hold no control byte: resume there (linear in bytes fed).
        control = _CONTROL_BYTE.search(self._buffer, self._text_scanned)
        end = control.start() if control is not None else -1
        if end < 0:
            if len(self._buffer) <= MAX_TEXT_RUN_BYTES:
                self._text_scanned = len(self._buffer)
                return False
            end = _text_boundary(self._buffer, MAX_TEXT_RUN_BYTES)
        return self._emit(events, Text(bytes(self._buffer[:end])), end)

    def _take_command(self, events: list[PrinterEvent]) -> bool | None:  # noqa: PLR0911 - one exit per command family
        prefix, letter = self._buffer[0], self._buffer[1]
        if (prefix, letter) == (DLE, EOT):
            return self._take_status(events)
        if prefix == GS and letter == ord("("):
            return self._take_gs_paren(events)
        if prefix == GS and letter == ord("v"):
            return self._take_raster(events)
        if prefix == GS and letter == ord("V"):
            return self._take_cut(events)
        simple = self._simple(prefix, letter)
        if simple is not None:
            command, length = simple
            if len(self._buffer) < length:
                return _NEED_MORE
            return self._finish_simple(events, command, length)
        ignored = _IGNORED.get((prefix, letter))
        if ignored is not None:
            if len(self._buffer) < 2 + ignored:
                return _NEED_MORE
            self._consume(2 + ignored)
            return True
        events.append(self._error(REASON_UNKNOWN_COMMAND, 2))
        self._consume(2)
        return True

    @staticmethod
    def _simple(prefix: int, letter: int) -> tuple[str, int] | None:
        table = {
            (ESC, ord("@")): ("init", 2),
            (FS, ord("&")): ("cn_on", 2),
            (FS, ord(".")): ("cn_off", 2),
            (ESC, ord("t")): ("codepage", 3),
            (ESC, ord("E")): ("bold", 3),
            (GS, ord("!")): ("size", 3),
            (ESC, ord("a")): ("align", 3),
            (ESC, ord("d")): ("feed", 3),
        }
        return table.get((prefix, letter))

    def _finish_simple(self, events: list[PrinterEvent], name: str, length: int) -> bool:
        n = self._buffer[2] if length > 2 else 0
        command: Command
        if name == "init":
            command = Initialize()
        elif name in ("cn_on", "cn_off"):
            command = ChineseMode(on=name == "cn_on")
        elif name == "codepage":
            command = CodePage(n)
        elif name == "bold":
            command = Bold(bool(n & 1))
        elif name == "size":
            command = CharacterSize(width=(n >> 4 & 0x07) + 1, height=(n & 0x07) + 1)
        elif name == "align":
            if n not in (0, 1, 2, 48, 49, 50):
                return self._emit(events, self._error(REASON_BAD_PARAMETER, length), length)
            command = Justify(Align(n % 48))
        else:
            command = FeedLines(n)
        return self._emit(events, command, length)

    def _take_status(self, events: list[PrinterEvent]) -> bool | None:
        if len(self._buffer) < 3:
            return _NEED_MORE
        n = self._buffer[2]
        if n not in (1, 2, 3, 4):
            return self._emit(events, self._error(REASON_BAD_PARAMETER, 3), 3)
        return self._emit(events, StatusRequest(StatusKind(n)), 3)

    def _take_cut(self, events: list[PrinterEvent]) -> bool | None:
        if len(self._buffer) < 3:
            return _NEED_MORE
        m = self._buffer[2]
        if m in (0, 1, 48, 49):
            return self._emit(events, Cut(partial=m % 48 == 1, feed_dots=0), 3)
        if m in (65, 66):
            if len(self._buffer) < 4:
                return _NEED_MORE
            return self._emit(events, Cut(partial=m == 66, feed_dots=self._buffer[3]), 4)
        return self._emit(events, self._error(REASON_BAD_PARAMETER, 3), 3)

    def _take_gs_paren(self, events: list[PrinterEvent]) -> bool | None:
        if len(self._buffer) < 5:
            return _NEED_MORE
        size = self._buffer[3] | self._buffer[4] << 8
        total = 5 + size
        is_qr = self._buffer[2] == ord("k") and size >= 2
        if total > 5 + MAX_QR_PAYLOAD_BYTES + 3:
            events.append(self._error(REASON_OVERSIZE, total))
            return self._skip(total)
        if len(self._buffer) < total:
            return _NEED_MORE
        if not is_qr or self._buffer[5] != QR_CN:
            return self._emit(events, self._error(REASON_UNKNOWN_COMMAND, total), total)
        return self._emit(events, self._qr_function(bytes(self._buffer[6:total]), total), total)

    def _qr_function(self, body: bytes, total: int) -> PrinterEvent:
        fn, params = body[0], body[1:]
        if fn == QR_FN_MODEL and len(params) == 2:
            return QrModel(params[0])
        if fn == QR_FN_SIZE and len(params) == 1 and 1 <= params[0] <= 16:
            return QrModuleSize(params[0])
        if fn == QR_FN_ERROR and len(params) == 1 and 48 <= params[0] <= 51:
            return QrErrorCorrection(QrErrorLevel(params[0]))
        if fn == QR_FN_STORE and len(params) >= 2 and params[0] == ord("0"):
            return QrStore(params[1:])
        if fn == QR_FN_PRINT and len(params) == 1:
            return QrPrint()
        return self._error(REASON_BAD_PARAMETER, total)

    def _take_raster(self, events: list[PrinterEvent]) -> bool | None:
        if len(self._buffer) < RASTER_HEADER_BYTES:
            return _NEED_MORE
        if self._buffer[2] != ord("0"):
            return self._emit(events, self._error(REASON_UNKNOWN_COMMAND, 3), 3)
        mode = self._buffer[3]
        width = self._buffer[4] | self._buffer[5] << 8
        height = self._buffer[6] | self._buffer[7] << 8
        total = RASTER_HEADER_BYTES + width * height
        if width > MAX_WIDTH_BYTES or height > MAX_RASTER_HEIGHT_DOTS:
            events.append(self._error(REASON_OVERSIZE, total))
            return self._skip(total)
        if mode > 3 or width == 0 or height == 0:
            return self._emit(events, self._error(REASON_BAD_PARAMETER, total), total)
        if len(self._buffer) < total:
            return _NEED_MORE
        data = bytes(self._buffer[RASTER_HEADER_BYTES:total])
        return self._emit(events, RasterImage(width, height, data, mode), total)

    def _skip(self, total: int) -> bool:
        held = min(total, len(self._buffer))
        self._consume(held)
        self._skip_remaining = total - held
        return True


def decode_all(data: bytes) -> list[PrinterEvent]:
    """Decode a whole capture, including the trailing text run."""
    decoder = EscPosDecoder()
    return decoder.feed(data) + decoder.finish()
