"""bp.measured as FHIR R4 vital signs (issue 10 item 18): valid resources, a strict schema.

fhir.resources 6.2.2 models FHIR R4 (4.0.1) itself, not R4B or R5; it checks the base resource.
The vital-signs profile's own rules (subject, category, effective, the BP components) are
checked here beside it, and the contract schema must refuse what breaks them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fhir.resources import __fhir_version__
from fhir.resources.observation import Observation
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.contract import ContractError, Identity, new_event, validate_event
from edge_agent.fastcheck import event_is_valid
from kiosk.core import events as ev
from kiosk.core.bp_classification import BpCategory

SESSION = "0192f3a4-5b6c-7d8e-9f01-23456789abcd"
SUBJECT = "ab" * 32
IDENTITY = Identity("440300", "c1", "k1")
BOOT = "00000000-0000-4000-8000-000000000000"
TAKEN = datetime(2026, 11, 23, 16, 15, 30, tzinfo=timezone(timedelta(hours=8)))
VITAL_SIGNS = "http://terminology.hl7.org/CodeSystem/observation-category"
SYSTOLIC, DIASTOLIC = "8480-6", "8462-4"


def _data(*, consent: bool, mean: int | None = 99, pulse: int | None = 72) -> dict[str, Any]:
    return ev.bp_measured(
        SESSION,
        subject=SUBJECT if consent else None,
        consent=consent,
        key_id="2026a",
        taken_at=TAKEN,
        systolic=128,
        diastolic=84,
        pulse=pulse,
        mean=mean,
        category=BpCategory.HIGH_NORMAL,
        error_key=None,
        device_protocol="suntech",
    )


def _event(data: dict[str, Any]) -> dict[str, Any]:
    return new_event("bp.measured", data, identity=IDENTITY, boot_id=BOOT, seq=1)


def _codes(resource: dict[str, Any]) -> list[str]:
    return [c["code"]["coding"][0]["code"] for c in resource.get("component", [])]


def assert_vital_signs(resource: dict[str, Any]) -> None:
    """FHIR R4 (fhir.resources) plus the vital-signs profile rules the base resource lacks."""
    model = Observation.parse_obj(copy.deepcopy(resource))
    assert model.status == "final"
    assert model.subject is not None  # vs-2 profile: subject 1..1
    assert model.effectiveDateTime is not None
    assert model.effectiveDateTime.tzinfo is not None
    (category,) = model.category or []
    assert [(c.system, c.code) for c in category.coding or []] == [(VITAL_SIGNS, "vital-signs")]
    assert all(c.code for c in model.code.coding or [])
    if model.code.coding[0].code == "85354-9":
        codes = _codes(resource)
        assert (codes.count(SYSTOLIC), codes.count(DIASTOLIC)) == (1, 1)
        for component in model.component or []:
            assert (component.valueQuantity.system, component.valueQuantity.code) == (
                "http://unitsofmeasure.org",
                "mm[Hg]",
            )
    else:
        assert model.valueQuantity is not None
        assert model.valueQuantity.code == "/min"


def test_the_library_models_fhir_r4() -> None:
    """The validator is FHIR R4 (4.0.1), the version the contract names."""
    assert __fhir_version__ == "4.0.1"


@pytest.mark.parametrize("consent", [True, False])
@pytest.mark.parametrize(("mean", "pulse"), [(99, 72), (None, None)])
def test_every_produced_observation_is_fhir_r4_vital_signs(
    consent: bool, mean: int | None, pulse: int | None
) -> None:
    """Consenting and anonymous readings, with and without mean and pulse: all valid R4."""
    data = _data(consent=consent, mean=mean, pulse=pulse)
    validate_event(_event(data))
    assert event_is_valid(_event(data))
    assert_vital_signs(data["observation"])
    if pulse is not None:
        assert_vital_signs(data["heart_rate"])
    subject = data["observation"]["subject"]
    assert (SUBJECT in repr(subject)) is consent


@settings(max_examples=60, deadline=None)
@given(
    systolic=st.integers(60, 260),
    diastolic=st.integers(30, 150),
    mean=st.one_of(st.none(), st.integers(40, 200)),
    pulse=st.one_of(st.none(), st.integers(30, 220)),
    consent=st.booleans(),
    taken=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
    ),
)
def test_any_reading_is_valid_fhir_and_valid_contract(
    *,
    systolic: int,
    diastolic: int,
    mean: int | None,
    pulse: int | None,
    consent: bool,
    taken: datetime,
) -> None:
    """Whatever the values and time, the Observations pass fhir.resources and the schema."""
    data = ev.bp_measured(
        SESSION,
        subject=SUBJECT if consent else None,
        consent=consent,
        key_id="2026a",
        taken_at=taken,
        systolic=systolic,
        diastolic=diastolic,
        pulse=pulse,
        mean=mean,
        category=BpCategory.NORMAL,
        error_key=None,
        device_protocol=None,
    )
    validate_event(_event(data))
    assert_vital_signs(data["observation"])
    if pulse is not None:
        assert_vital_signs(data["heart_rate"])


def _two_systolic(data: dict[str, Any]) -> None:
    first = data["observation"]["component"][0]
    data["observation"]["component"] = [first, copy.deepcopy(first)]


def _systolic_for_mean(data: dict[str, Any]) -> None:
    component = data["observation"]["component"]
    component[2] = copy.deepcopy(component[0])


def _systolic_for_diastolic(data: dict[str, Any]) -> None:
    component = data["observation"]["component"]
    component[1] = copy.deepcopy(component[0])


BREAKAGES: dict[str, Callable[[dict[str, Any]], object]] = {
    "effective_yesterday": lambda d: d["observation"].update(effectiveDateTime="yesterday"),
    "effective_no_zone": lambda d: d["observation"].update(effectiveDateTime="2026-11-23T08:15:30"),
    "category_laboratory": lambda d: d["observation"].update(
        category=[{"coding": [{"system": VITAL_SIGNS, "code": "laboratory"}]}]
    ),
    "category_anything": lambda d: d["observation"].update(category=[{"text": "whatever"}]),
    "category_two": lambda d: d["observation"]["category"].append({"text": "extra"}),
    "two_systolic": _two_systolic,
    "two_systolic_beside_diastolic": _systolic_for_mean,
    "systolic_twice_no_diastolic": _systolic_for_diastolic,
    "heart_rate_empty_code": lambda d: d["heart_rate"].update(code={}),
    "heart_rate_no_codings": lambda d: d["heart_rate"].update(code={"coding": []}),
    "heart_rate_empty_code_value": lambda d: d["heart_rate"]["code"]["coding"][0].update(code=""),
    "no_subject": lambda d: d["observation"].pop("subject"),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_the_schema_refuses_what_is_not_vital_signs(breakage: str) -> None:
    """'yesterday', a free category, two systolic components, an empty heart-rate code: refused."""
    data = _data(consent=False)
    BREAKAGES[breakage](data)
    event = _event(data)
    with pytest.raises(ContractError):
        validate_event(event)
    assert not event_is_valid(event)


def test_an_anonymous_reading_cannot_carry_a_pseudonym_in_its_observation() -> None:
    """With data.subject null, the Observation's subject must be the anonymous one (privacy)."""
    data = _data(consent=False)
    data["observation"]["subject"] = _data(consent=True)["observation"]["subject"]
    with pytest.raises(ContractError):
        validate_event(_event(data))
    consenting = _data(consent=True)
    consenting["heart_rate"]["subject"] = data["heart_rate"]["subject"]
    with pytest.raises(ContractError):
        validate_event(_event(consenting))
