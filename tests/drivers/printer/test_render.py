"""The simulator's page drawn to PNG: readable Chinese, a scannable QR, the paper's width."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFont

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
    render,
)
from drivers.printer.frames import DOTS_58MM, DOTS_80MM, Align
from drivers.printer.page import Run
from drivers.printer.render import FONT_CANDIDATES, MARGIN_DOTS, _font, _glyph, render_png
from drivers.printer.simulator import SCENARIOS, make_simulator
from drivers.printer.status import is_status_byte

PAYLOAD = "https://kiosk.example.org/t/A-0042"
SAMPLE = Receipt(
    (
        Heading("社区服务中心"),
        Paragraph("诉求受理回执", align=Align.CENTER),
        Rule(),
        MaskedName.of("姓名", "张三"),
        KeyValue("受理编号", "A-0042"),
        KeyValue("类别", "维修报修"),
        Qr(PAYLOAD),
        Paragraph("扫码查看办理进度", align=Align.CENTER),
        CutPaper(),
    )
)


def _print(receipt: Receipt, width_dots: int = DOTS_80MM) -> bytes:
    sim = make_simulator("normal", width_dots=str(width_dots))
    sim.feed(render(receipt), 0.0)
    (page,) = sim.pages
    return render_png(page, width_dots=width_dots)


def _keep_for_people(png: bytes, name: str) -> None:
    """With KIOSK_PRINTER_PNG_DIR set, keep the PNG where a person can open it."""
    target = os.environ.get("KIOSK_PRINTER_PNG_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        (Path(target) / name).write_bytes(png)


def test_the_project_cjk_font_draws_the_text() -> None:
    """The simulator draws with the Noto Sans CJK SC face scripts/make_font.py writes."""
    assert any(path.exists() for path in FONT_CANDIDATES)
    font = _font(21)
    assert isinstance(font, ImageFont.FreeTypeFont)
    assert font.getname()[0] == "Noto Sans CJK SC"


def test_sample_receipt_png_shows_paper_width_and_a_scannable_qr(tmp_path: Path) -> None:
    """The sample receipt is a PNG 576 dots wide (+margins) whose QR decodes to the payload."""
    png = _print(SAMPLE)
    (tmp_path / "sample_receipt.png").write_bytes(png)
    _keep_for_people(png, "sample_receipt.png")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.width == DOTS_80MM + 2 * MARGIN_DOTS
    decoded = zxingcpp.read_barcodes(
        cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    )
    assert [r.text for r in decoded] == [PAYLOAD]


def test_heading_is_drawn_double_size_and_centred() -> None:
    """The heading's ink is about twice as tall as body text and centred on the paper."""
    gray = np.asarray(Image.open(io.BytesIO(_print(SAMPLE))))
    ink_rows = np.flatnonzero((gray < 128).any(axis=1))
    first_gap = np.flatnonzero(np.diff(ink_rows) > 1)[0]
    heading_rows = ink_rows[: first_gap + 1]
    assert heading_rows[-1] - heading_rows[0] >= 36  # 2 × 24-dot cells, glyph ascent inside
    band = gray[heading_rows[0] : heading_rows[-1] + 1]
    cols = np.flatnonzero((band < 128).any(axis=0))
    left = cols[0] - MARGIN_DOTS
    right = DOTS_80MM - (cols[-1] - MARGIN_DOTS)
    assert abs(left - right) <= 8


def test_58mm_paper_wraps_long_lines() -> None:
    """On 384-dot paper a long Chinese paragraph wraps instead of running off the edge."""
    receipt = Receipt(
        (Paragraph("请携带身份证原件、户口簿和近期一寸照片两张到窗口办理"),), PaperWidth.MM58
    )
    sim = make_simulator("normal", width_dots=str(DOTS_58MM))
    sim.feed(render(receipt) + b"\x1dVB\x00", 0.0)
    image = Image.open(io.BytesIO(render_png(sim.pages[0], width_dots=DOTS_58MM)))
    assert image.width == DOTS_58MM + 2 * MARGIN_DOTS
    gray = np.asarray(image)
    ink_rows = np.flatnonzero((gray < 128).any(axis=1))
    lines = 1 + int((np.diff(ink_rows) > 1).sum())
    assert lines == 2  # 26 wide characters at 16 per line


def test_simulator_writes_one_png_per_cut(tmp_path: Path) -> None:
    """With out_dir set, every cut page is written as receipt-NNN.png."""
    sim = make_simulator("normal", out_dir=str(tmp_path))
    sim.feed(render(SAMPLE) + render(SAMPLE), 0.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["receipt-001.png", "receipt-002.png"]
    shutil.rmtree(tmp_path)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=3000), st.sampled_from(sorted(SCENARIOS)))
def test_simulator_takes_any_bytes_and_still_answers_status(data: bytes, scenario: str) -> None:
    """Garbage never stops the simulator: a status request after it is still answered.

    The garbage holds no command prefix: ESC/POS has no framing, so a garbage header claiming a
    long raster rightly swallows whatever follows (as a real printer's would)."""
    sim = make_simulator(scenario)
    sim.feed(data, 0.0)  # any bytes at all: never raises
    render_png(sim.current_page)
    sim = make_simulator(scenario)
    sim.feed(data.translate(None, b"\x1b\x1c\x1d\x10"), 0.0)
    sim.poll(0.0)
    sim.feed(b"\n\x10\x04\x04", 0.0)
    assert is_status_byte(sim.poll(0.0).data[-1])


def test_wide_latin_glyphs_are_squeezed_into_their_cell_not_cut() -> None:
    """`m` keeps its three stems inside a 12-dot cell (a proportional glyph is not clipped)."""
    cell = np.asarray(_glyph("m", Run("m", bold=False, width=1, height=1)))
    assert cell.shape == (24, 12)
    middle = cell[14] < 128
    stems = int(middle[0]) + int((middle[1:] & ~middle[:-1]).sum())
    assert stems == 3
