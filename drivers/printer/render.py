"""Draw a simulated page to a PNG a person can look at (Pillow, the project's CJK font, segno).

Dots map to pixels 1:1 (8 dots/mm). Characters sit in printer cells: 12 × 24 dots half-width,
24 × 24 full-width, scaled by the GS ! multipliers; lines wrap at the paper edge.
"""

from __future__ import annotations

import io
import math
import unicodedata
from functools import cache
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

from drivers.printer.frames import DOTS_80MM, Align, QrErrorLevel
from drivers.printer.page import CutMark, PageItem, QrItem, RasterItem, Run, TextLine

FONT_FILE = "NotoSansCJKsc-Regular.otf"
# Where scripts/make_font.py writes the single-face font, then where the installer puts it.
FONT_CANDIDATES = (
    Path(__file__).resolve().parents[2] / "build" / "fonts" / FONT_FILE,
    Path("/usr/share/civic-kiosk/fonts") / FONT_FILE,
)
CELL_DOTS = 12
LINE_DOTS = 24
# Em size and baseline inside the 24-dot cell: CJK ascent and Latin descenders both fit.
GLYPH_DOTS = 21
BASELINE_DOTS = 19
LINE_SPACING_DOTS = 30  # ESC 2 default line spacing, about 1/6 inch at 203 dpi
MARGIN_DOTS = 16
CUT_MARK_DOTS = 24
MAX_PAGE_HEIGHT_DOTS = 20_000

_SEGNO_LEVEL = {
    QrErrorLevel.L: "l",
    QrErrorLevel.M: "m",
    QrErrorLevel.Q: "q",
    QrErrorLevel.H: "h",
}

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@cache
def _font(size: int) -> Font:
    for candidate in FONT_CANDIDATES:
        if candidate.exists():
            return ImageFont.truetype(str(candidate), size)
    # No CJK font (make setup not run): Latin still readable, Chinese shows as boxes.
    return ImageFont.load_default(size)


def _cells(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def _wrap(line: TextLine, width_dots: int) -> list[list[tuple[str, Run]]]:
    rows: list[list[tuple[str, Run]]] = [[]]
    used = 0
    for run in line.runs:
        for ch in run.text:
            step = _cells(ch) * CELL_DOTS * run.width
            if used + step > width_dots and rows[-1]:
                rows.append([])
                used = 0
            rows[-1].append((ch, run))
            used += step
    return rows


def _row_width(row: list[tuple[str, Run]]) -> int:
    return sum(_cells(ch) * CELL_DOTS * run.width for ch, run in row)


def _x_for(align: Align, content: int, width_dots: int) -> int:
    if align is Align.CENTER:
        return max(0, (width_dots - content) // 2)
    if align is Align.RIGHT:
        return max(0, width_dots - content)
    return 0


def _glyph(ch: str, run: Run) -> Image.Image:
    """One character in its cell, at 1× then stretched by the size multipliers.

    A proportional glyph wider than its cell (`m`, `W` in a 12-dot cell) is drawn on a wider
    canvas and squeezed in, as a printer's monospaced font A would show it, never overlapping.
    """
    cell_w = _cells(ch) * CELL_DOTS
    font = _font(GLYPH_DOTS)
    canvas_w = max(cell_w, math.ceil(font.getlength(ch)) + 2)
    canvas = Image.new("L", (canvas_w, LINE_DOTS), 255)
    draw = ImageDraw.Draw(canvas)
    # Emphasis as a printer does it: the same dots struck again one dot to the right.
    for offset in (0, 1) if run.bold else (0,):
        draw.text((canvas_w / 2 + offset, BASELINE_DOTS), ch, font=font, fill=0, anchor="ms")
    size = (cell_w * run.width, LINE_DOTS * run.height)
    if canvas.size == size:
        return canvas
    return canvas.resize(size, Image.Resampling.BILINEAR)


def _qr_image(item: QrItem) -> Image.Image:
    symbol = segno.make_qr(item.payload, error=_SEGNO_LEVEL[item.level], boost_error=False)
    rows = [list(row) for row in symbol.matrix_iter(scale=item.module_dots, border=0)]
    image = Image.new("L", (len(rows[0]), len(rows)), 255)
    image.putdata([0 if dark else 255 for row in rows for dark in row])
    return image


def _raster_image(item: RasterItem) -> Image.Image:
    raster = item.image
    bits = Image.frombytes("1", (raster.width_bytes * 8, raster.height), raster.data)
    # In mode "1" a set bit is white; on paper a set bit is a burnt (black) dot.
    return Image.eval(bits.convert("L"), lambda v: 255 - v)


def _draw_items(items: list[PageItem], width_dots: int) -> list[tuple[int, Image.Image]]:
    """Each item as (x, strip image), top to bottom."""
    strips: list[tuple[int, Image.Image]] = []
    for item in items:
        if isinstance(item, TextLine):
            for row in _wrap(item, width_dots):
                height = max((run.height for _, run in row), default=1) * LINE_DOTS
                strip = Image.new("L", (width_dots, height + LINE_SPACING_DOTS - LINE_DOTS), 255)
                x = _x_for(item.align, _row_width(row), width_dots)
                for ch, run in row:
                    glyph = _glyph(ch, run)
                    strip.paste(glyph, (x, height - glyph.height))
                    x += glyph.width
                strips.append((0, strip))
        elif isinstance(item, QrItem | RasterItem):
            image = _qr_image(item) if isinstance(item, QrItem) else _raster_image(item)
            strips.append((_x_for(item.align, image.width, width_dots), image))
        elif isinstance(item, CutMark):
            strip = Image.new("L", (width_dots, CUT_MARK_DOTS), 255)
            draw = ImageDraw.Draw(strip)
            for x in range(0, width_dots, 16):
                draw.line((x, CUT_MARK_DOTS // 2, x + 8, CUT_MARK_DOTS // 2), fill=128, width=2)
            strips.append((0, strip))
    return strips


def render_page(items: list[PageItem], *, width_dots: int = DOTS_80MM) -> Image.Image:
    """The page as a grayscale image: paper width plus a margin, as tall as what was printed."""
    strips = _draw_items(items, width_dots)
    height = min(MAX_PAGE_HEIGHT_DOTS, 2 * MARGIN_DOTS + sum(s.height for _, s in strips))
    page = Image.new("L", (width_dots + 2 * MARGIN_DOTS, max(height, 2 * MARGIN_DOTS)), 255)
    y = MARGIN_DOTS
    for x, strip in strips:
        if y + strip.height > height - MARGIN_DOTS:
            break
        page.paste(strip, (MARGIN_DOTS + x, y))
        y += strip.height
    return page


def render_png(items: list[PageItem], *, width_dots: int = DOTS_80MM) -> bytes:
    """The page as PNG bytes."""
    buffer = io.BytesIO()
    render_page(items, width_dots=width_dots).save(buffer, format="PNG")
    return buffer.getvalue()
