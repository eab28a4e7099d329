"""Chinese line breaking with 禁则 (kinsoku): closing punctuation never starts a line, opening
punctuation never ends one. Plain Python; `widgets.KText` applies it before Kivy lays text out.

Kivy breaks lines only at spaces and, when a run without spaces is too long, at whatever
character fills the line, so `，` or `。` can start a line. Here a line may break between two
characters when either is wide (CJK, kana, full-width forms) or at a space, unless the break
would put a NO_LINE_START character first or a NO_LINE_END character last. A line with no
allowed break is cut where it is full, as Kivy would. Latin words and numbers stay whole.
"""

from __future__ import annotations

from collections.abc import Callable

Measure = Callable[[str], float]  # width of a one-line string, in the caller's units

# GB/T 15834 punctuation plus the usual Japanese kinsoku set and their ASCII twins.
NO_LINE_START = frozenset(
    "，。、；：！？）］｝」』】〕〉》〗〙”’…‥·・—～％‰℃"
    ",.;:!?)]}%"
    "ーぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々〻"
)
NO_LINE_END = frozenset("（［｛「『【〔〈《〖〘“‘([{")
# Code point ranges drawn full-width: a line may break before or after any of them.
_WIDE_RANGES = (
    (0x1100, 0x115F),  # Hangul Jamo
    (0x2E80, 0x9FFF),  # CJK radicals, punctuation, kana, Ext A, unified ideographs
    (0xA960, 0xA97F),
    (0xAC00, 0xD7A3),  # Hangul syllables
    (0xF900, 0xFAFF),  # compatibility ideographs
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF00, 0xFF60),  # full-width forms
    (0xFFE0, 0xFFE6),
    (0x20000, 0x3FFFD),  # Ext B and beyond
)


def is_wide(char: str) -> bool:
    """True for a character a CJK line may break around (ideographs, kana, full-width forms)."""
    code = ord(char)
    return any(low <= code <= high for low, high in _WIDE_RANGES)


def has_wide(text: str) -> bool:
    """True if `text` has any wide character (otherwise Kivy's own wrapping is right)."""
    return any(ord(c) >= 0x1100 and is_wide(c) for c in text)


def can_break(before: str, after: str) -> bool:
    """May a line end after `before` with `after` starting the next one?"""
    if after == " " or before == " ":
        return True
    if after in NO_LINE_START or before in NO_LINE_END:
        return False
    return is_wide(before) or is_wide(after)


def wrap_lines(text: str, width: float, measure: Measure) -> list[str]:
    """`text` as lines no wider than `width` (a single too-wide character still gets a line);
    explicit newlines are kept, spaces at a break are dropped."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(_wrap_paragraph(paragraph, width, measure))
    return lines


def kinsoku_wrap(text: str, width: float, measure: Measure) -> str:
    """`wrap_lines` joined with newlines: text a wrapping layout will not break again."""
    return "\n".join(wrap_lines(text, width, measure))


def _wrap_paragraph(text: str, width: float, measure: Measure) -> list[str]:
    lines: list[str] = []
    start, size = 0, len(text)
    while start < size:
        end = size if measure(text[start:]) <= width else _fit(text, start, width, measure)
        if end == size:  # the rest fits (or is one character too wide for any line)
            lines.append(text[start:])
            return lines
        cut = next((b for b in range(end, start, -1) if can_break(text[b - 1], text[b])), end)
        lines.append(text[start:cut].rstrip(" "))
        start = cut
        while start < size and text[start] == " ":
            start += 1
    return lines or [""]


def _fit(text: str, start: int, width: float, measure: Measure) -> int:
    """The largest end > start with text[start:end] no wider than `width` (binary search)."""
    low, high = start + 1, len(text)  # text[start:low] always goes on the line
    while low < high:
        middle = (low + high + 1) // 2
        if measure(text[start:middle]) <= width:
            low = middle
        else:
            high = middle - 1
    return low
