"""The core's slips (kiosk/core/slips.py) laid out as receipts for drivers/printer (pure).

Lines are wrapped here rather than by the printer: the printer breaks wherever the paper ends,
which cuts English words in two and can start a Chinese line with a comma. Here Latin words
stay whole and closing punctuation never starts a line (the rule kiosk/ui/linebreak.py applies
on screen).
"""

from __future__ import annotations

import re

from drivers.printer.document import (
    MAX_BLOCKS,
    Block,
    CutPaper,
    Heading,
    KeyValue,
    MaskedName,
    PaperWidth,
    Paragraph,
    Qr,
    Receipt,
    Rule,
    display_columns,
)
from drivers.printer.frames import Align
from kiosk.core.slips import PrintJob, SlipLine

HEADING_SCALE = 2  # Heading prints at double width
QR_MODULE_DOTS = 6
# printable ASCII runs (words, numbers, URLs), whitespace, or any single other character
_TOKEN = re.compile(r"[!-~]+|\s+|.")
NO_LINE_START = frozenset("，。、；：？！）》」』】〕,.;:?!)]}%")


def paper_width(options: dict[str, object]) -> PaperWidth:
    """`devices.printer.options.paper_mm`: 80 (the default) or 58."""
    return PaperWidth.MM58 if str(options.get("paper_mm", "80")) == "58" else PaperWidth.MM80


def _hard_split(token: str, columns: int) -> list[str]:
    parts, current = [], ""
    for ch in token:
        if display_columns(current + ch) > columns:
            parts.append(current)
            current = ""
        current += ch
    return [*parts, current]


def wrap(text: str, columns: int) -> list[str]:
    """`text` as lines of at most `columns` font-A columns (wide characters count two)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for token in _TOKEN.findall(paragraph):
            if token.isspace():
                line += " " if line else ""
                continue
            if display_columns(line + token) <= columns:
                line += token
                continue
            carry = ""
            if token in NO_LINE_START and len(line.rstrip()) > 1:
                # take the last character along: a line never starts with closing punctuation
                line, carry = line.rstrip()[:-1], line.rstrip()[-1]
            if line.strip():
                lines.append(line.rstrip())
            pieces = _hard_split(carry + token, columns)
            lines.extend(pieces[:-1])
            line = pieces[-1]
        lines.append(line.rstrip())
    return lines


def _paragraphs(
    text: str, columns: int, *, bold: bool = False, align: Align = Align.LEFT
) -> list[Block]:
    return [Paragraph(line, bold=bold, align=align) for line in wrap(text, columns)]


def _blocks(line: SlipLine, width: PaperWidth) -> list[Block]:  # noqa: PLR0911 - one per kind
    columns = width.columns
    match line.kind:
        case "heading":
            return [Heading(part) for part in wrap(line.text, columns // HEADING_SCALE)]
        case "big":
            return [Heading(part) for part in wrap(line.text, columns // HEADING_SCALE)]
        case "strong":
            return _paragraphs(line.text, columns, bold=True)
        case "centre":
            return _paragraphs(line.text, columns, align=Align.CENTER)
        case "title":
            return [Paragraph(""), *_paragraphs(line.text, columns, bold=True)]
        case "section":
            return [Paragraph(""), *_paragraphs(line.text, columns, bold=True)]
        case "text":
            return _paragraphs(line.text, columns)
        case "field" | "name":
            if display_columns(line.text) + display_columns(line.value) + 2 > columns:
                return [
                    *_paragraphs(line.text, columns, bold=True),
                    *_paragraphs(line.value, columns),
                ]
            if line.kind == "name":
                return [MaskedName(line.text, line.value)]
            return [KeyValue(line.text, line.value)]
        case "qr":
            return [
                Qr(line.text, module_dots=QR_MODULE_DOTS),
                *_paragraphs(line.value, columns, align=Align.CENTER),
            ]
        case "rule":
            return [Rule()]
    raise ValueError(f"unknown slip line kind {line.kind!r}")


def receipt_of(job: PrintJob, width: PaperWidth = PaperWidth.MM80) -> Receipt:
    """The receipt for `job`, cut at the end."""
    blocks: list[Block] = []
    for line in job.lines:
        blocks += _blocks(line, width)
    return Receipt((*blocks[: MAX_BLOCKS - 1], CutPaper()), width)
