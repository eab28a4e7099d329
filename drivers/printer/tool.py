"""Technician tool for receipt printers: decode a capture, probe, print a test page.

Records never hold printed text or QR payloads (a receipt from other software may carry PII):
text shows its length in characters, a QR store its length in bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from drivers.errors import FrameError
from drivers.printer.decoder import EscPosDecoder, PrinterEvent
from drivers.printer.device import ReceiptPrinter
from drivers.printer.document import (
    CutPaper,
    Heading,
    KeyValue,
    PaperWidth,
    Paragraph,
    Picture,
    Qr,
    Receipt,
    Rule,
)
from drivers.printer.frames import (
    Align,
    QrStore,
    RasterImage,
    StatusRequest,
    Text,
)

Record = dict[str, Any]
TEST_QR_PAYLOAD = "https://kiosk.example.org/printer-test"
TEST_PATTERN_DOTS = 64


def record(event: PrinterEvent) -> Record:
    """One JSON record per decoded command, without printed content."""
    if isinstance(event, FrameError):
        return {"error": event.reason, "offset": event.offset, "length": event.length}
    name = type(event).__name__
    if isinstance(event, Text):
        return {"command": name, "chars": len(event.data.decode("gb18030", errors="replace"))}
    if isinstance(event, QrStore):
        return {"command": name, "bytes": len(event.data)}
    if isinstance(event, RasterImage):
        return {"command": name, "width_dots": event.width_bytes * 8, "height": event.height}
    if isinstance(event, StatusRequest):
        return {"command": name, "kind": event.kind.name.lower()}
    fields = {key: getattr(value, "name", value) for key, value in vars(event).items()}
    return {
        "command": name,
        **{k: (v.lower() if isinstance(v, str) else v) for k, v in fields.items()},
    }


def decode_capture(data: bytes) -> Iterator[Record]:
    """Decode a raw capture of what a host sent to a printer."""
    decoder = EscPosDecoder()
    for event in decoder.feed(data) + decoder.finish():
        yield record(event)


def probe(url: str, timeout_s: float) -> Iterator[Record]:
    """Read the printer's status and run its self-test."""
    with ReceiptPrinter(url) as printer:
        status = printer.status(timeout_s)
        yield {"kind": "status", **status.summary()}
        yield {"kind": "self_test", **printer.self_test(timeout_s).as_dict()}


def checkerboard(size_dots: int = TEST_PATTERN_DOTS) -> RasterImage:
    """A checkerboard of 8-dot squares: shows burnt or missing dots across the head."""
    width_bytes = size_dots // 8
    rows = bytearray()
    for y in range(size_dots):
        rows += bytes(0xFF if (x + y // 8) % 2 == 0 else 0x00 for x in range(width_bytes))
    return RasterImage(width_bytes, size_dots, bytes(rows))


def printer_test_page(width: PaperWidth = PaperWidth.MM80) -> Receipt:
    """The test page: sizes, Chinese and Latin text, a rule, a raster pattern and a QR code."""
    return Receipt(
        (
            Heading("打印测试"),
            Paragraph("Print test", align=Align.CENTER),
            Rule(),
            KeyValue("纸宽 Paper", f"{int(width)} dots"),
            Paragraph("中文：政务自助一体机 GB 18030"),
            Paragraph("ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789", bold=True),
            Rule("="),
            Picture(checkerboard()),
            Qr(TEST_QR_PAYLOAD),
            CutPaper(),
        ),
        width,
    )


def print_test(url: str, timeout_s: float) -> Iterator[Record]:
    """Print the test page; DeviceFault (paper out, cover open) propagates to the CLI."""
    with ReceiptPrinter(url) as printer:
        printer.print_receipt(printer_test_page(), timeout_s=timeout_s)
        yield {"kind": "printed", "page": "test"}
