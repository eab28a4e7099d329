"""Whether a finished reading is physiologically plausible (docs/design.md §2.2).

Meters send readings without an error code that no arm produced (Omron `000/000/000` with
error 0, a systolic of 59): those become an error the resident can act on ("the reading looks
wrong; please measure again"), never a measurement. The ranges are our choice, not a standard's:
wide enough for every reading a seated adult can really have (shock-level hypotension, a
hypertensive crisis, marked brady- or tachycardia), narrow enough to refuse meter artefacts.
"""

from __future__ import annotations

import dataclasses

from drivers.bp.events import BpResult
from drivers.bp.messages import message_for

SYSTOLIC_MMHG = range(60, 300 + 1)
DIASTOLIC_MMHG = range(30, 200 + 1)
PULSE_PER_MIN = range(30, 220 + 1)
IMPLAUSIBLE_KEY = "implausible_reading"


def is_plausible(systolic: int, diastolic: int, pulse: int | None, mean: int | None) -> bool:
    """Each value in its range, systolic above diastolic, a reported mean between the two."""
    if systolic not in SYSTOLIC_MMHG or diastolic not in DIASTOLIC_MMHG:
        return False
    if systolic <= diastolic:
        return False
    if pulse is not None and pulse not in PULSE_PER_MIN:
        return False
    return mean is None or diastolic <= mean <= systolic


def checked(result: BpResult) -> BpResult:
    """`result` itself, or, for an implausible reading, the same result as an error without
    vitals (`error_code` stays what the device sent)."""
    if result.error_key is not None or result.systolic is None or result.diastolic is None:
        return result
    if is_plausible(result.systolic, result.diastolic, result.pulse, result.mean):
        return result
    return dataclasses.replace(
        result,
        systolic=None,
        diastolic=None,
        pulse=None,
        mean=None,
        error_key=IMPLAUSIBLE_KEY,
        error=message_for(IMPLAUSIBLE_KEY),
    )
