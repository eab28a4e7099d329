"""Chinese line breaking (禁则) on a fake font: wide characters 2 units, everything else 1."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kiosk.ui.linebreak import (
    NO_LINE_END,
    NO_LINE_START,
    can_break,
    has_wide,
    is_wide,
    kinsoku_wrap,
    wrap_lines,
)

IDEOGRAPHS = "请携带身份证原件到一号窗口办理材料齐全当场结不次告知䶮𠀋"
CLOSING = "，。、；：！？）」』】》…"
OPENING = "（「『【《“"


def width_of(text: str) -> float:
    """The fake font: a wide character is 2 units, any other 1."""
    return float(sum(2 if is_wide(c) else 1 for c in text))


def test_a_comma_is_pulled_back_with_the_character_before_it() -> None:
    """A line that would start with `，` ends one character earlier; that character moves down."""
    text = "请携带身份证原件，到一号窗口办理。"
    lines = wrap_lines(text, width_of("请携带身份证原件"), width_of)
    assert lines[0] == "请携带身份证原"
    assert lines[1].startswith("件，")


def test_an_opening_bracket_goes_down_with_what_it_opens() -> None:
    """`（` never ends a line: it moves to the next line with the text it opens."""
    text = "到一号窗口（综合窗口）办理"
    lines = wrap_lines(text, width_of("到一号窗口（"), width_of)
    assert lines[0] == "到一号窗口"
    assert lines[1].startswith("（综合")


def test_closing_marks_in_a_row_stay_together() -> None:
    """`。」` and `……` are never split, and neither starts a line."""
    text = "他说：“办好了。”……然后离开"
    for width in range(12, 30):  # narrower than `了。”……` would force a cut
        for line in wrap_lines(text, width, width_of)[1:]:
            assert line[0] not in NO_LINE_START, (width, line)


def test_latin_words_and_masked_numbers_stay_whole() -> None:
    """Breaks in Latin text fall at spaces; a masked ID number beside Chinese is never cut."""
    assert wrap_lines("Please bring your ID card", 12, width_of) == [
        "Please bring",
        "your ID card",
    ]
    number = "110105********0123"
    lines = wrap_lines(f"证件号{number}已核验", width_of(f"证件号{number}") - 1, width_of)
    assert lines[0] == "证件号"
    assert lines[1].startswith(number)


def test_explicit_newlines_are_kept_and_a_too_wide_character_gets_a_line() -> None:
    """Paragraphs stay paragraphs; a single character wider than the line is still shown."""
    assert kinsoku_wrap("材料\n窗口", 100, width_of) == "材料\n窗口"
    assert wrap_lines("请带", 1, width_of) == ["请", "带"]
    assert wrap_lines("", 10, width_of) == [""]


def test_only_text_with_wide_characters_needs_this() -> None:
    """English text goes to Kivy's own wrapping untouched; Chinese (incl. Ext A/B) does not."""
    assert not has_wide("Social security card, 2 copies")
    assert has_wide("社保卡")
    assert has_wide("䶮")
    assert has_wide("𠀋")
    assert not can_break("件", "，")
    assert not can_break("（", "综")
    assert can_break("件", "到")


@st.composite
def chinese_texts(draw: st.DrawFn) -> str:
    """Runs of ideographs, each followed by at most one punctuation mark or a space."""
    parts = draw(
        st.lists(
            st.tuples(
                st.text(alphabet=IDEOGRAPHS, min_size=1, max_size=8),
                st.sampled_from(["", " ", *CLOSING, *OPENING]),
            ),
            min_size=1,
            max_size=12,
        )
    )
    return "".join(run + mark for run, mark in parts)


@given(text=chinese_texts(), width_chars=st.integers(min_value=3, max_value=20))
def test_wrapped_lines_fit_keep_the_text_and_obey_kinsoku(text: str, width_chars: int) -> None:
    """Every line fits, nothing but break spaces is lost, and no line breaks a 禁则 rule."""
    width = 2.0 * width_chars
    lines = wrap_lines(text, width, width_of)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    for number, line in enumerate(lines):
        assert width_of(line) <= width
        if number > 0:
            assert line[:1] not in NO_LINE_START, lines
        if number < len(lines) - 1:
            assert line[-1:] not in NO_LINE_END, lines
