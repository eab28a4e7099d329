"""Implausible readings become an error, never a measurement (issue 10 item 11), both protocols."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.bp import omron9030, suntech
from drivers.bp.events import BpResult
from drivers.bp.plausibility import (
    DIASTOLIC_MMHG,
    IMPLAUSIBLE_KEY,
    PULSE_PER_MIN,
    SYSTOLIC_MMHG,
)
from drivers.bp.tool import decode_capture

WHEN = datetime(2025, 1, 6, 9, 0)
MESSAGE = "The reading looks wrong. Please measure again."

# (systolic, diastolic, pulse): field artefacts and the edges of each range.
IMPLAUSIBLE = [
    (0, 0, 0),  # Omron 000/000/000 with error 0
    (59, 40, 70),  # a systolic of 59
    (301, 100, 70),
    (120, 29, 70),
    (120, 201, 70),
    (120, 120, 70),  # systolic must be above diastolic
    (90, 110, 70),
    (120, 80, 29),
    (120, 80, 221),
]
PLAUSIBLE = [(60, 30, 30), (300, 200, 220), (118, 76, 72), (75, 45, 38), (210, 125, 150)]


def omron_line(systolic: int, diastolic: int, pulse: int) -> bytes:
    return omron9030.ReadingLine(WHEN, 0, systolic, diastolic, pulse, 0).encode()


def suntech_frame(systolic: int, diastolic: int, pulse: int) -> bytes:
    mean = diastolic + (systolic - diastolic) // 3
    return suntech.ResultFrame(systolic, diastolic, pulse, mean, return_code=0).encode()


def results(kind: str, wire: bytes) -> list[dict[str, object]]:
    records = list(decode_capture(wire, protocol=kind))
    return [r for r in records if r.get("kind") == "bp_result"]


@pytest.mark.parametrize("kind", ["suntech", "omron9030"])
@pytest.mark.parametrize("vitals", IMPLAUSIBLE)
def test_implausible_reading_decodes_as_an_error(kind: str, vitals: tuple[int, int, int]) -> None:
    """`decode`: values null, `error` says measure again, `error_code` as the device sent it."""
    wire = suntech_frame(*vitals) if kind == "suntech" else omron_line(*vitals)
    (record,) = results(kind, wire)
    assert (record["systolic"], record["diastolic"], record["pulse"]) == (None, None, None)
    assert record.get("mean") is None
    assert record["error"] == MESSAGE
    assert record["error_code"] == 0


@pytest.mark.parametrize("kind", ["suntech", "omron9030"])
@pytest.mark.parametrize("vitals", PLAUSIBLE)
def test_plausible_reading_is_a_measurement(kind: str, vitals: tuple[int, int, int]) -> None:
    """Readings inside every range, edges included, stay measurements."""
    wire = suntech_frame(*vitals) if kind == "suntech" else omron_line(*vitals)
    (record,) = results(kind, wire)
    assert (record["systolic"], record["diastolic"], record["pulse"]) == vitals
    assert record["error"] is None


def test_implausible_result_is_not_ok_and_carries_its_key() -> None:
    """The kiosk sees `ok` False and the `implausible_reading` key, whatever the device code."""
    result = omron9030.parse_line(omron_line(0, 0, 0)[:-2]).to_result()
    assert result == BpResult(None, None, None, None, 0, IMPLAUSIBLE_KEY, MESSAGE, 0, WHEN)
    assert not result.ok


def test_suntech_mean_outside_systolic_and_diastolic_is_implausible() -> None:
    """A SunTech mean arterial pressure above the systolic cannot come from an arm."""
    (result,) = suntech.SuntechDecoder().feed(suntech.ResultFrame(120, 80, 70, 130, 0).encode())
    assert isinstance(result, BpResult)
    assert result.error_key == IMPLAUSIBLE_KEY


@given(
    st.integers(min_value=0, max_value=999),
    st.integers(min_value=0, max_value=999),
    st.integers(min_value=0, max_value=999),
)
def test_no_decoded_measurement_is_outside_the_ranges(sys_: int, dia: int, pulse: int) -> None:
    """Whatever the meter sends, a result has vitals exactly when they are inside the ranges."""
    for kind, wire in (("omron9030", omron_line(sys_, dia, pulse)),
                       ("suntech", suntech_frame(sys_, dia, pulse))):  # fmt: skip
        (record,) = results(kind, wire)
        if record["systolic"] is None:
            assert record["error"] == MESSAGE
        else:
            assert (record["systolic"], record["diastolic"], record["pulse"]) == (sys_, dia, pulse)
        inside = sys_ in SYSTOLIC_MMHG and dia in DIASTOLIC_MMHG and pulse in PULSE_PER_MIN
        assert (record["systolic"] is not None) == (inside and sys_ > dia)
