"""Office blood-pressure categories of the 2018 Chinese hypertension guideline (中国高血压防治指南).

normal <120 and <80; high-normal 120–139 and/or 80–89; grade 1 140–159 and/or 90–99; grade 2
160–179 and/or 100–109; grade 3 ≥180 and/or ≥110; isolated systolic hypertension ≥140 and <90.
When systolic and diastolic fall in different categories the higher one wins. Isolated systolic
hypertension is graded by its systolic value (the guideline grades it like the others), which
sets its colour and severity. The result is guidance for the resident, never a diagnosis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType

MAX_MMHG = 400  # the contract's upper bound for any pressure value


class BpCategory(Enum):
    """The category; the value is the contract's `classification` string."""

    NORMAL = "normal"
    HIGH_NORMAL = "high_normal"
    GRADE_1 = "grade_1"
    GRADE_2 = "grade_2"
    GRADE_3 = "grade_3"
    ISOLATED_SYSTOLIC = "isolated_systolic"


# Lower bounds (mmHg) of severity levels 1..4 (high-normal, grade 1, grade 2, grade 3).
SYSTOLIC_LEVELS_MMHG = (120, 140, 160, 180)
DIASTOLIC_LEVELS_MMHG = (80, 90, 100, 110)
ISOLATED_SYSTOLIC_MIN_MMHG = 140
ISOLATED_DIASTOLIC_BELOW_MMHG = 90

_BY_SEVERITY = (
    BpCategory.NORMAL,
    BpCategory.HIGH_NORMAL,
    BpCategory.GRADE_1,
    BpCategory.GRADE_2,
    BpCategory.GRADE_3,
)


@dataclass(frozen=True)
class Style:
    """How a severity level looks: colour plus an icon and words (colour is never alone)."""

    colour: str  # hex RGB, chosen for ≥4.5:1 contrast of white text on it
    icon: str  # icon name the UI maps to an image


SEVERITY_STYLES: Mapping[int, Style] = MappingProxyType(
    {
        0: Style("#1B6E3A", "bp_normal"),
        1: Style("#5C5A00", "bp_high_normal"),
        2: Style("#9A4A00", "bp_grade_1"),
        3: Style("#B3261E", "bp_grade_2"),
        4: Style("#7A0019", "bp_grade_3"),
    }
)


@dataclass(frozen=True)
class Classification:
    """A reading's category, severity 0–4 (normal … grade 3) and its style."""

    category: BpCategory
    severity: int
    style: Style

    @property
    def grade(self) -> int | None:
        """Hypertension grade 1–3 (isolated systolic included), None below 140/90."""
        return self.severity - 1 if self.severity >= 2 else None


def _level(value: int, bounds: tuple[int, ...]) -> int:
    return sum(1 for bound in bounds if value >= bound)


def classify(systolic: int, diastolic: int) -> Classification:
    """Classify one office reading in mmHg; ValueError if a value is outside 1..400."""
    for value in (systolic, diastolic):
        if not 0 < value <= MAX_MMHG:
            raise ValueError("blood pressure values must be within 1..400 mmHg")
    systolic_level = _level(systolic, SYSTOLIC_LEVELS_MMHG)
    diastolic_level = _level(diastolic, DIASTOLIC_LEVELS_MMHG)
    if systolic >= ISOLATED_SYSTOLIC_MIN_MMHG and diastolic < ISOLATED_DIASTOLIC_BELOW_MMHG:
        return Classification(
            BpCategory.ISOLATED_SYSTOLIC, systolic_level, SEVERITY_STYLES[systolic_level]
        )
    severity = max(systolic_level, diastolic_level)
    return Classification(_BY_SEVERITY[severity], severity, SEVERITY_STYLES[severity])


def category_key(category: BpCategory) -> str:
    """The i18n key of the category's words."""
    return f"bp.category.{category.value}"


def advice_key(category: BpCategory) -> str:
    """The i18n key of the category's advice text (guidance, not diagnosis)."""
    return f"bp.advice.{category.value}"
