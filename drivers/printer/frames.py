"""ESC/POS commands as frozen dataclasses and their bytes (pure; no I/O, no clock).

The subset a kiosk receipt needs, from the ESC/POS command reference (Epson's "ESC/POS Command
Reference for TM printers", the same codes the Chinese 80 mm / 58 mm kiosk modules implement):
ESC @ initialise; FS & / FS . Chinese character mode on/off (text is then GB 18030); ESC t code
page; ESC E bold; GS ! character size; ESC a alignment; LF / ESC d feed; GS V cut; GS ( k cn=49
QR code functions 65/67/69/80/81; GS v 0 raster bit image; DLE EOT n real-time status
(docs/design.md §2.6).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

ESC, GS, FS, DLE, EOT, LF = 0x1B, 0x1D, 0x1C, 0x10, 0x04, 0x0A

# Paper: thermal heads are 8 dots/mm; 80 mm paper prints 72 mm = 576 dots, 58 mm prints 48 mm.
DOTS_80MM = 576
DOTS_58MM = 384
MAX_WIDTH_BYTES = DOTS_80MM // 8
# A raster taller than this is a bug or an attack, never a receipt graphic (a logo is ~200 dots).
MAX_RASTER_HEIGHT_DOTS = 1024
MAX_RASTER_BYTES = MAX_WIDTH_BYTES * MAX_RASTER_HEIGHT_DOTS
# QR payloads on receipts are URLs and ticket numbers; model 2 at level H holds 1,273 bytes at
# version 40, so every payload up to this bound prints at every error-correction level.
MAX_QR_PAYLOAD_BYTES = 1024
MAX_FEED_LINES = 255
MAX_SIZE_MULTIPLIER = 8
MAX_QR_MODULE_DOTS = 16

QR_CN = 49  # GS ( k function class: QR code
QR_FN_MODEL, QR_FN_SIZE, QR_FN_ERROR, QR_FN_STORE, QR_FN_PRINT = 65, 67, 69, 80, 81
QR_MODEL_2 = 50


class Align(enum.IntEnum):
    """ESC a n justification."""

    LEFT = 0
    CENTER = 1
    RIGHT = 2


class QrErrorLevel(enum.IntEnum):
    """GS ( k fn 69 error-correction level (n = 48..51)."""

    L = 48
    M = 49
    Q = 50
    H = 51


class StatusKind(enum.IntEnum):
    """DLE EOT n: which real-time status byte is asked for."""

    PRINTER = 1
    OFFLINE_CAUSE = 2
    ERROR_CAUSE = 3
    PAPER_SENSOR = 4


@dataclass(frozen=True)
class Initialize:
    """ESC @: clear the buffer and reset every mode to its power-on value."""


@dataclass(frozen=True)
class ChineseMode:
    """FS & (on) / FS . (off): two-byte GB 18030 characters instead of the code page."""

    on: bool


@dataclass(frozen=True)
class CodePage:
    """ESC t n: single-byte character table (0 = PC437) used outside Chinese mode."""

    table: int


@dataclass(frozen=True)
class Bold:
    """ESC E n: emphasised printing."""

    on: bool


@dataclass(frozen=True)
class CharacterSize:
    """GS ! n: width and height multipliers, 1..8 each."""

    width: int = 1
    height: int = 1


@dataclass(frozen=True)
class Justify:
    """ESC a n: alignment of the lines that follow."""

    align: Align


@dataclass(frozen=True)
class LineFeed:
    """LF: print the line buffer and feed one line."""


@dataclass(frozen=True)
class FeedLines:
    """ESC d n: print the buffer and feed n lines."""

    lines: int


@dataclass(frozen=True)
class Cut:
    """GS V 65/66 n: feed `feed_dots` to the cutter, then a full or partial cut."""

    partial: bool = True
    feed_dots: int = 0


@dataclass(frozen=True)
class Text:
    """Printable text bytes (GB 18030 in Chinese mode); never a control byte."""

    data: bytes


@dataclass(frozen=True)
class QrModel:
    """GS ( k fn 65: QR model (50 = model 2)."""

    model: int = QR_MODEL_2


@dataclass(frozen=True)
class QrModuleSize:
    """GS ( k fn 67: module size in dots (1..16)."""

    dots: int


@dataclass(frozen=True)
class QrErrorCorrection:
    """GS ( k fn 69: error-correction level."""

    level: QrErrorLevel


@dataclass(frozen=True)
class QrStore:
    """GS ( k fn 80: store the symbol data."""

    data: bytes


@dataclass(frozen=True)
class QrPrint:
    """GS ( k fn 81: print the stored symbol."""


@dataclass(frozen=True)
class RasterImage:
    """GS v 0 m: a 1-bit image, `width_bytes` × 8 dots wide, MSB first, 1 = black."""

    width_bytes: int
    height: int
    data: bytes
    mode: int = 0


@dataclass(frozen=True)
class StatusRequest:
    """DLE EOT n: ask for one real-time status byte (answered even while offline)."""

    kind: StatusKind


Command = (
    Initialize
    | ChineseMode
    | CodePage
    | Bold
    | CharacterSize
    | Justify
    | LineFeed
    | FeedLines
    | Cut
    | Text
    | QrModel
    | QrModuleSize
    | QrErrorCorrection
    | QrStore
    | QrPrint
    | RasterImage
    | StatusRequest
)


def text(value: str) -> Text:
    """A Text command for `value` in GB 18030; ValueError on control characters (no injection)."""
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError("receipt text may not hold control characters; use LineFeed for lines")
    return Text(value.encode("gb18030"))


def qr_commands(
    payload: bytes, *, module_dots: int = 6, level: QrErrorLevel = QrErrorLevel.M
) -> tuple[Command, ...]:
    """The five GS ( k functions that print one QR code, in the order printers expect."""
    return (
        QrModel(),
        QrModuleSize(module_dots),
        QrErrorCorrection(level),
        QrStore(payload),
        QrPrint(),
    )


def _gs_k(fn: int, params: bytes) -> bytes:
    size = len(params) + 2  # cn and fn count in pL pH
    return bytes([GS, ord("("), ord("k"), size & 0xFF, size >> 8, QR_CN, fn]) + params


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def encode(command: Command) -> bytes:  # noqa: PLR0911, PLR0912 - one branch per command, flat on purpose
    """The bytes of one command; ValueError for values the printer cannot take."""
    match command:
        case Initialize():
            return bytes([ESC, ord("@")])
        case ChineseMode(on=True):
            return bytes([FS, ord("&")])
        case ChineseMode(on=False):
            return bytes([FS, ord(".")])
        case CodePage(table=table):
            _check(0 <= table <= 255, "code page 0..255")
            return bytes([ESC, ord("t"), table])
        case Bold(on=on):
            return bytes([ESC, ord("E"), int(on)])
        case CharacterSize(width=w, height=h):
            _check(1 <= w <= MAX_SIZE_MULTIPLIER and 1 <= h <= MAX_SIZE_MULTIPLIER, "size 1..8")
            return bytes([GS, ord("!"), ((w - 1) << 4) | (h - 1)])
        case Justify(align=align):
            return bytes([ESC, ord("a"), int(align)])
        case LineFeed():
            return bytes([LF])
        case FeedLines(lines=lines):
            _check(0 <= lines <= MAX_FEED_LINES, "feed 0..255 lines")
            return bytes([ESC, ord("d"), lines])
        case Cut(partial=partial, feed_dots=feed):
            _check(0 <= feed <= 255, "cut feed 0..255 dots")
            return bytes([GS, ord("V"), 66 if partial else 65, feed])
        case Text(data=data):
            _check(all(b >= 0x20 for b in data), "text bytes may not hold control codes")
            return data
        case QrModel(model=model):
            return _gs_k(QR_FN_MODEL, bytes([model, 0]))
        case QrModuleSize(dots=dots):
            _check(1 <= dots <= MAX_QR_MODULE_DOTS, "QR module 1..16 dots")
            return _gs_k(QR_FN_SIZE, bytes([dots]))
        case QrErrorCorrection(level=level):
            return _gs_k(QR_FN_ERROR, bytes([int(level)]))
        case QrStore(data=data):
            _check(0 < len(data) <= MAX_QR_PAYLOAD_BYTES, "QR payload 1..1024 bytes")
            return _gs_k(QR_FN_STORE, b"0" + data)
        case QrPrint():
            return _gs_k(QR_FN_PRINT, b"0")
        case RasterImage(width_bytes=wb, height=h, data=data, mode=mode):
            _check(1 <= wb <= MAX_WIDTH_BYTES, "raster 1..72 bytes wide")
            _check(1 <= h <= MAX_RASTER_HEIGHT_DOTS, "raster 1..1024 dots high")
            _check(len(data) == wb * h, "raster data must be width_bytes × height bytes")
            _check(0 <= mode <= 3, "raster mode 0..3")
            header = bytes([GS, ord("v"), ord("0"), mode, wb & 0xFF, wb >> 8, h & 0xFF, h >> 8])
            return header + data
        case StatusRequest(kind=kind):
            return bytes([DLE, EOT, int(kind)])
    raise TypeError(f"not an ESC/POS command: {type(command).__name__}")


def encode_all(commands: tuple[Command, ...] | list[Command]) -> bytes:
    """The bytes of a command sequence."""
    return b"".join(encode(c) for c in commands)
