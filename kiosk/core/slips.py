"""What the kiosk prints, as plain lines (pure): a catalogue item's guide and a BP result slip.

The core decides the content; kiosk/runtime/receipts.py lays the lines out as ESC/POS blocks for
drivers/printer. PIPL (docs/design.md, issue 14): the only personal datum a slip may carry is
the masked name (common/pii.py); no ID number, no pseudonym, no phone number ever reaches a
slip, and the driver refuses text that still looks like one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from kiosk.core.i18n import Strings
from kiosk.core.ports import ItemDetail

PrintKind = Literal["guide", "bp", "signup", "voucher", "request"]
LineKind = Literal[
    "heading", "big", "centre", "title", "section", "strong", "text", "field", "name", "qr", "rule"
]
MAX_SLIP_LINES = 120  # the driver's block limit is 200; a guide has a title, a few sections
MAX_MATERIALS = 30


@dataclass(frozen=True)
class SlipLine:
    """One line of a slip: `text` (a field's key), `value` (a field's value, a QR's caption)."""

    kind: LineKind
    text: str = ""
    value: str = ""


@dataclass(frozen=True)
class PrintJob:
    """One slip to print; `job_id` comes back in the PrintFinished input."""

    job_id: str
    kind: PrintKind
    lines: tuple[SlipLine, ...]


@dataclass(frozen=True)
class BpSlipReading:
    """What a BP slip shows of a reading: values, guideline class in words, when it was taken."""

    systolic: int
    diastolic: int
    pulse: int | None
    category_text: str
    advice_text: str
    taken_at: datetime


def when_text(strings: Strings, moment: datetime) -> str:
    """Date and time in words, e.g. `2026年12月3日 星期四 14:30`."""
    day = strings.text(
        "datetime.date",
        year=moment.year,
        month=moment.month,
        day=moment.day,
        weekday=strings.text(f"weekday.{moment.weekday()}"),
        month_name=strings.text(f"month.{moment.month}"),
    )
    return f"{day} {strings.text('datetime.time', hour=moment.hour, minute=moment.minute)}"


def _header(strings: Strings, title_key: str, centre_name: str) -> list[SlipLine]:
    lines = [SlipLine("heading", strings.text(title_key))]
    if centre_name:
        lines.append(SlipLine("centre", centre_name))
    lines.append(SlipLine("rule"))
    return lines


def guide_slip(
    strings: Strings, detail: ItemDetail, handling_text: str, centre_name: str, now: datetime
) -> tuple[SlipLine, ...]:
    """办事指南: the item's name, how and where to apply, hours, the materials to bring, and a QR
    code to the item's online address when the catalogue has one."""
    lines = _header(strings, "slip.guide.title", centre_name)
    lines.append(SlipLine("title", detail.title))
    if detail.summary:
        lines.append(SlipLine("text", detail.summary))
    for key, text in (
        ("catalogue.handling", handling_text),
        ("catalogue.where", detail.where),
        ("catalogue.hours", detail.opening_hours),
    ):
        if text:
            lines += [SlipLine("section", strings.text(key)), SlipLine("text", text)]
    if detail.materials:
        lines.append(SlipLine("section", strings.text("catalogue.materials")))
        for number, material in enumerate(detail.materials[:MAX_MATERIALS], start=1):
            line = strings.text("catalogue.material_line", number=number, text=material)
            lines.append(SlipLine("text", line))
    if detail.online_url:
        lines.append(SlipLine("qr", detail.online_url, strings.text("catalogue.online_qr")))
    lines += [
        SlipLine("rule"),
        SlipLine("field", strings.text("slip.printed_at"), when_text(strings, now)),
        SlipLine("text", strings.text("slip.guide.note")),
    ]
    return tuple(lines[:MAX_SLIP_LINES])


def bp_slip(
    strings: Strings, masked_name: str, reading: BpSlipReading, centre_name: str
) -> tuple[SlipLine, ...]:
    """血压测量结果: masked name, reading, guideline class, date; never an ID or a pseudonym."""
    lines = _header(strings, "slip.bp.title", centre_name)
    if masked_name:
        lines.append(SlipLine("name", strings.text("slip.bp.name"), masked_name))
    lines += [
        SlipLine("field", strings.text("slip.bp.taken_at"), when_text(strings, reading.taken_at)),
        SlipLine("section", strings.text("slip.bp.reading")),
        SlipLine(
            "big",  # the numbers a resident shows the doctor: large, like on the screen
            strings.text(
                "slip.bp.reading_value", systolic=reading.systolic, diastolic=reading.diastolic
            ),
        ),
    ]
    if reading.pulse is not None:
        pulse = strings.text("slip.bp.pulse_value", pulse=reading.pulse)
        lines.append(SlipLine("field", strings.text("slip.bp.pulse"), pulse))
    lines += [
        SlipLine("section", strings.text("slip.bp.category")),
        SlipLine("strong", reading.category_text),
    ]
    if reading.advice_text:
        lines.append(SlipLine("text", reading.advice_text))
    lines += [SlipLine("rule"), SlipLine("text", strings.text("bp.disclaimer"))]
    return tuple(lines)
