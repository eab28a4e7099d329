"""A receipt as typed blocks, rendered to ESC/POS commands (pure).

PIPL: the only personal datum a receipt may carry is a masked name (`MaskedName`, built with
`common.pii.mask_name`); `render` refuses any text that still looks like a clear ID number or
mobile number, so a caller's mistake stops at the printer instead of going home on paper.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass

from common.pii import MASK, mask_name
from drivers.printer.frames import (
    DOTS_58MM,
    DOTS_80MM,
    MAX_QR_PAYLOAD_BYTES,
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
    QrErrorLevel,
    RasterImage,
    encode_all,
    qr_commands,
    text,
)

FONT_A_DOTS = 12  # font A is 12 × 24 dots; a Chinese character takes two columns (24 × 24)
MAX_BLOCKS = 200
MAX_BLOCK_CHARS = 512

# A clear 18-digit resident ID (last may be X) or an 11-digit mainland mobile number.
_CLEAR_ID = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
_CLEAR_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


class PaperWidth(enum.IntEnum):
    """Printable dots per line."""

    MM80 = DOTS_80MM
    MM58 = DOTS_58MM

    @property
    def columns(self) -> int:
        """Font A half-width columns per line."""
        return int(self) // FONT_A_DOTS


@dataclass(frozen=True)
class Heading:
    """Bold, double-size, centred line (the office or service name)."""

    text: str


@dataclass(frozen=True)
class Paragraph:
    """Plain text, wrapped by the printer."""

    text: str
    bold: bool = False
    align: Align = Align.LEFT


@dataclass(frozen=True)
class KeyValue:
    """`key: value` on one line, the value pushed to the right edge (non-personal data only)."""

    key: str
    value: str


@dataclass(frozen=True)
class MaskedName:
    """A resident's name, already masked (`张*`); build it with `MaskedName.of(name)`."""

    label: str
    masked: str

    def __post_init__(self) -> None:
        if len(self.masked) > 1 and MASK not in self.masked:
            raise ValueError("MaskedName takes a masked name (use MaskedName.of)")

    @classmethod
    def of(cls, label: str, name: str) -> MaskedName:
        """Mask `name` with the project's masking rule (`张三` → `张*`)."""
        return cls(label, mask_name(name))


@dataclass(frozen=True)
class Qr:
    """A QR code, centred."""

    payload: str
    module_dots: int = 6
    level: QrErrorLevel = QrErrorLevel.M


@dataclass(frozen=True)
class Rule:
    """A full-width line of one character."""

    char: str = "-"


@dataclass(frozen=True)
class Picture:
    """A raster graphic (a logo, a chart) for what text cannot do."""

    image: RasterImage


@dataclass(frozen=True)
class CutPaper:
    """Feed past the tear bar and cut."""

    partial: bool = True


Block = Heading | Paragraph | KeyValue | MaskedName | Qr | Rule | Picture | CutPaper


@dataclass(frozen=True)
class Receipt:
    """Blocks printed top to bottom."""

    blocks: tuple[Block, ...]
    width: PaperWidth = PaperWidth.MM80


def display_columns(value: str) -> int:
    """Font A columns `value` takes: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in value)


def _guard(value: str) -> str:
    if len(value) > MAX_BLOCK_CHARS:
        raise ValueError(f"receipt text longer than {MAX_BLOCK_CHARS} characters")
    if _CLEAR_ID.search(value) or _CLEAR_MOBILE.search(value):
        raise ValueError("receipt text holds a clear ID or phone number; mask it first")
    return value


def _line(value: str) -> list[Command]:
    return [text(_guard(value)), LineFeed()] if value else [LineFeed()]


def _block_commands(block: Block, width: PaperWidth) -> list[Command]:  # noqa: PLR0911 - one return per block type
    match block:
        case Heading(text=value):
            return [
                Justify(Align.CENTER),
                Bold(True),
                CharacterSize(2, 2),
                *_line(value),
                CharacterSize(1, 1),
                Bold(False),
                Justify(Align.LEFT),
            ]
        case Paragraph(text=value, bold=bold, align=align):
            return [Justify(align), Bold(bold), *_line(value), Bold(False), Justify(Align.LEFT)]
        case KeyValue(key=key, value=value) | MaskedName(label=key, masked=value):
            gap = width.columns - display_columns(key) - display_columns(value)
            joined = f"{key}{' ' * max(1, gap)}{value}" if gap >= 1 else f"{key} {value}"
            return _line(joined)
        case Qr(payload=payload, module_dots=dots, level=level):
            data = _guard(payload).encode("utf-8")
            if len(data) > MAX_QR_PAYLOAD_BYTES:
                raise ValueError(f"QR payload longer than {MAX_QR_PAYLOAD_BYTES} bytes")
            return [
                LineFeed(),  # a blank line so the symbol's quiet zone is not the text above
                Justify(Align.CENTER),
                *qr_commands(data, module_dots=dots, level=level),
                LineFeed(),
                Justify(Align.LEFT),
            ]
        case Rule(char=char):
            return _line(char * (width.columns // max(1, display_columns(char))))
        case Picture(image=image):
            return [Justify(Align.CENTER), image, Justify(Align.LEFT)]
        case CutPaper(partial=partial):
            return [FeedLines(4), Cut(partial=partial)]
    raise TypeError(f"not a receipt block: {type(block).__name__}")


def render_commands(receipt: Receipt) -> list[Command]:
    """The command sequence for `receipt`: initialise, Chinese mode, then each block."""
    if len(receipt.blocks) > MAX_BLOCKS:
        raise ValueError(f"a receipt holds at most {MAX_BLOCKS} blocks")
    commands: list[Command] = [Initialize(), CodePage(0), ChineseMode(on=True)]
    for block in receipt.blocks:
        commands.extend(_block_commands(block, receipt.width))
    return commands


def render(receipt: Receipt) -> bytes:
    """The ESC/POS bytes for `receipt`; ValueError if a block holds clear PII or bad values."""
    return encode_all(render_commands(receipt))
