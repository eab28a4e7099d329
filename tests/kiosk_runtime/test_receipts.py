"""Slips laid out as receipts: lines fit the paper, words stay whole, nothing is lost."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from drivers.printer.document import MAX_BLOCKS, PaperWidth, display_columns, render
from kiosk.core.i18n import load_strings
from kiosk.core.ports import ItemDetail
from kiosk.core.slips import PrintJob, guide_slip
from kiosk.runtime.receipts import NO_LINE_START, paper_width, receipt_of, wrap

TEXT = st.text(
    st.sampled_from([*"政务服务中心材料身份证", *"abc XYZ 012", *"，。）:/.-", " "]), max_size=300
)


@given(TEXT, st.sampled_from([PaperWidth.MM80.columns, PaperWidth.MM58.columns]))
def test_wrapped_lines_fit_and_keep_every_character(text: str, columns: int) -> None:
    """No line is wider than the paper; only spaces are dropped or added."""
    lines = wrap(text, columns)
    assert all(display_columns(line) <= columns for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_english_words_stay_whole_and_commas_never_start_a_line() -> None:
    """`Please bring` does not become `Ple / ase`; `，` rides on the line before."""
    english = wrap("Please bring the original identity card and the bank card you use", 24)
    assert all(not line.startswith(" ") for line in english)
    assert "Please bring the" in english[0]
    assert {word for line in english for word in line.split()} >= {"original", "identity"}
    chinese = wrap("请携带身份证原件到一号窗口办理材料齐全的，当场办结", 24)
    assert all(line[:1] not in NO_LINE_START for line in chinese)


def test_a_long_guide_still_renders_within_the_block_limit() -> None:
    """Thirty long materials: the receipt stays within the driver's limit and renders."""
    detail = ItemDetail(
        "x", "c", "很长的事项", "说明" * 40, tuple("材料" * 30 for _ in range(30)),
        "window", "一号窗口", "https://example.gov.cn/x", "周一至周五",
    )  # fmt: skip
    lines = guide_slip(load_strings("zh"), detail, "窗口办理", "中心", datetime.now(UTC))
    receipt = receipt_of(PrintJob("j", "guide", lines))
    assert len(receipt.blocks) <= MAX_BLOCKS
    assert render(receipt).startswith(b"\x1b@")


def test_paper_width_option() -> None:
    """`paper_mm: 58` picks the narrow roll; anything else is 80 mm."""
    assert paper_width({"paper_mm": 58}) is PaperWidth.MM58
    assert paper_width({}) is PaperWidth.MM80
