"""Receipt model, status bytes and a recorded capture of a real-looking request ticket."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.errors import FrameError
from drivers.printer import frames as f
from drivers.printer.decoder import decode_all
from drivers.printer.document import (
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
    render,
)
from drivers.printer.page import PageBuilder, QrItem
from drivers.printer.status import (
    FAULT_COVER_OPEN,
    FAULT_PAPER_OUT,
    PrinterStatus,
    encode_status,
    parse_status,
)

CAPTURES = Path(__file__).parent / "captures"


def _page(data: bytes) -> PageBuilder:
    builder = PageBuilder()
    for event in decode_all(data):
        if not isinstance(event, FrameError):
            builder.apply(event)
    return builder


def test_recorded_request_ticket_decodes_to_its_lines_and_qr() -> None:
    """A ticket as another POS program sends it (spacing, code system, GS L) reads back whole."""
    data = (CAPTURES / "request_ticket.bin").read_bytes()
    events = decode_all(data)
    errors = [e for e in events if isinstance(e, FrameError)]
    # GS L is unknown: its two bytes are skipped, its two NUL parameters are stray controls.
    assert [e.reason for e in errors] == ["unknown_command"] * 3
    page = _page(data)
    lines = [line for line in page.text_lines() if line]  # feeds print empty lines
    assert lines[0] == "朝阳门街道便民服务中心"
    assert lines[1] == "诉求受理回执"
    assert any(line.startswith("姓名") and line.endswith("王*") for line in lines)
    assert lines[-1] == "扫码查看办理进度"
    (qr,) = [item for item in page.items if isinstance(item, QrItem)]
    assert qr.payload == b"https://kiosk.example.org/t/B-0107"
    assert qr.module_dots == 6


def test_receipt_renders_in_chinese_mode_after_initialise() -> None:
    """Every receipt starts ESC @, ESC t 0, FS & and carries its text as GB 18030."""
    data = render(Receipt((Heading("社区服务"), CutPaper())))
    assert data.startswith(b"\x1b@\x1bt\x00\x1c&")
    assert "社区服务".encode("gb18030") in data
    assert data.endswith(b"\x1bd\x04\x1dVB\x00")


def test_masked_name_takes_only_masked_values() -> None:
    """MaskedName.of masks with common.pii; a clear name given directly is refused."""
    assert MaskedName.of("姓名", "张三").masked == "张*"
    with pytest.raises(ValueError, match="masked"):
        MaskedName("姓名", "张三")


@pytest.mark.parametrize(
    "block",
    [
        Paragraph("身份证 110105199001010123"),
        KeyValue("电话", "13812348000"),
        Qr("tel:13812348000"),
    ],
)
def test_clear_id_or_phone_numbers_never_reach_paper(block: Paragraph | KeyValue | Qr) -> None:
    """render refuses text holding a clear ID or mobile number, whatever block carries it."""
    with pytest.raises(ValueError, match="mask"):
        render(Receipt((block,)))


def test_masked_numbers_are_allowed() -> None:
    """Masked forms of the same numbers print."""
    render(Receipt((KeyValue("电话", "138****8000"), Paragraph("110105********0123"))))


@pytest.mark.parametrize("width", list(PaperWidth))
def test_key_value_fills_the_line_counting_wide_characters(width: PaperWidth) -> None:
    """Key and value span exactly one line: Chinese characters count as two columns."""
    page = _page(render(Receipt((KeyValue("业务", "居住证 A1"),), width)))
    (line,) = page.text_lines()
    assert display_columns(line) == width.columns
    assert line.endswith("居住证 A1")


def test_rule_spans_the_paper() -> None:
    """A rule is as wide as the paper in font A columns (48 at 80 mm, 32 at 58 mm)."""
    assert _page(render(Receipt((Rule(),)))).text_lines() == ["-" * 48]
    assert _page(render(Receipt((Rule("="),), PaperWidth.MM58))).text_lines() == ["=" * 32]


def test_status_bytes_read_as_typed_conditions() -> None:
    """Recorded DLE EOT answers: paper out, near end, cover open, cutter error."""
    status = parse_status(
        {
            f.StatusKind.PRINTER: 0x1A,
            f.StatusKind.OFFLINE_CAUSE: 0x36,
            f.StatusKind.ERROR_CAUSE: 0x1A,
            f.StatusKind.PAPER_SENSOR: 0x7E,
        }
    )
    assert status.offline
    assert status.cover_open
    assert status.paper_out
    assert status.paper_near_end
    assert status.cutter_error
    assert not status.can_print
    codes = [fault.code for fault in status.faults()]
    assert codes[:2] == [FAULT_PAPER_OUT, FAULT_COVER_OPEN]
    assert parse_status(dict.fromkeys(f.StatusKind, 0x12)) == PrinterStatus()


def test_status_byte_without_fixed_bits_is_refused() -> None:
    """A byte that is not a DLE EOT answer is a ValueError, not a guess."""
    with pytest.raises(ValueError, match="fixed bits"):
        parse_status({f.StatusKind.PAPER_SENSOR: 0x60})


@given(st.builds(PrinterStatus, *[st.booleans()] * 7))
def test_status_encode_parse_round_trip(status: PrinterStatus) -> None:
    """What the simulator answers reads back as the same conditions (offline follows them)."""
    replies = {kind: encode_status(status, kind) for kind in f.StatusKind}
    parsed = parse_status(replies)
    assert parsed.cover_open == status.cover_open
    assert parsed.paper_out == status.paper_out
    assert parsed.paper_near_end == status.paper_near_end
    assert parsed.cutter_error == status.cutter_error
    assert parsed.can_print == status.can_print
