"""2018 Chinese guideline office BP categories at every boundary; higher category wins."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.bp_classification import (
    SEVERITY_STYLES,
    BpCategory,
    advice_key,
    category_key,
    classify,
)
from kiosk.core.i18n import LANGUAGES, load_strings

N, HN, G1, G2, G3, ISH = (
    BpCategory.NORMAL,
    BpCategory.HIGH_NORMAL,
    BpCategory.GRADE_1,
    BpCategory.GRADE_2,
    BpCategory.GRADE_3,
    BpCategory.ISOLATED_SYSTOLIC,
)

BOUNDARIES = [
    # (systolic, diastolic, category, severity)
    (119, 79, N, 0),
    (120, 79, HN, 1),
    (119, 80, HN, 1),
    (139, 89, HN, 1),
    (139, 90, G1, 2),  # diastolic 90 with systolic below 140: grade 1, not isolated systolic
    (140, 90, G1, 2),
    (159, 99, G1, 2),
    (140, 89, ISH, 2),  # ≥140 and <90
    (159, 89, ISH, 2),
    (160, 89, ISH, 3),
    (179, 60, ISH, 3),
    (180, 89, ISH, 4),
    (160, 99, G2, 3),  # higher category wins
    (159, 100, G2, 3),
    (179, 109, G2, 3),
    (180, 90, G3, 4),
    (120, 110, G3, 4),
    (181, 111, G3, 4),
    (90, 60, N, 0),
    (135, 70, HN, 1),
    (110, 85, HN, 1),
    (110, 95, G1, 2),
    (110, 105, G2, 3),
]


@pytest.mark.parametrize(("systolic", "diastolic", "category", "severity"), BOUNDARIES)
def test_boundaries(systolic: int, diastolic: int, category: BpCategory, severity: int) -> None:
    """Each boundary value lands in the guideline's category with the expected severity."""
    result = classify(systolic, diastolic)
    assert result.category is category
    assert result.severity == severity
    assert result.style == SEVERITY_STYLES[severity]


@pytest.mark.parametrize(("systolic", "diastolic"), [(0, 80), (120, 0), (401, 80), (120, -1)])
def test_impossible_values_are_refused(systolic: int, diastolic: int) -> None:
    """Values outside 1..400 mmHg raise ValueError instead of being classified."""
    with pytest.raises(ValueError, match=r"1\.\.400"):
        classify(systolic, diastolic)


@given(st.integers(1, 400), st.integers(1, 400), st.integers(0, 40), st.integers(0, 40))
def test_higher_pressure_never_lowers_the_severity(s: int, d: int, ds: int, dd: int) -> None:
    """Raising either value never gives a less severe result (monotonic)."""
    higher = classify(min(s + ds, 400), min(d + dd, 400))
    assert higher.severity >= classify(s, d).severity


@given(st.integers(1, 400), st.integers(1, 400))
def test_every_category_has_words_icon_and_advice(s: int, d: int) -> None:
    """A result is never colour alone: there is an icon, words and advice in both languages."""
    result = classify(s, d)
    assert result.style.icon
    for language in LANGUAGES:
        strings = load_strings(language)
        assert strings.text(category_key(result.category), grade=result.grade)
        assert strings.text(advice_key(result.category))


def test_isolated_systolic_words_carry_the_grade() -> None:
    """Isolated systolic hypertension shows its systolic grade in the words."""
    result = classify(165, 80)
    assert result.grade == 2
    text = load_strings("zh").text(category_key(result.category), grade=result.grade)
    assert "2级" in text
