"""Contract-valid resident events for the report tests and the report bench (docs/contract)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from testbed.city_events import KioskSim

LABELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
VITAL_SIGNS = [
    {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "vital-signs",
            }
        ]
    }
]


def new_session() -> str:
    """A session id (UUID)."""
    return str(uuid.uuid4())


def at(sim: KioskSim, moment: datetime) -> KioskSim:
    """Move the kiosk's clock (its next event is 100 ms after `moment`)."""
    sim.clock = moment
    return sim


def session_started(sim: KioskSim, session: str, flow: str = "services") -> dict[str, Any]:
    """session.started."""
    return sim.event("session.started", {"session_id": session, "flow": flow, "language": "zh"})


def session_ended(
    sim: KioskSim, session: str, reason: str = "completed", identified: bool | None = None
) -> dict[str, Any]:
    """session.ended."""
    data: dict[str, Any] = {"session_id": session, "reason": reason, "duration_s": 60.0}
    if identified is not None:
        data["identified"] = identified
    return sim.event("session.ended", data)


def service_selected(sim: KioskSim, session: str, item: str) -> dict[str, Any]:
    """service.selected."""
    return sim.event(
        "service.selected",
        {
            "session_id": session,
            "item_id": item,
            "category": "social",
            "catalogue_version": "2026.11",
            "handling": "here",
            "via": "browse",
        },
    )


def card_read(
    sim: KioskSim, session: str, subject: str, card_type: str = "resident"
) -> dict[str, Any]:
    """card.read with a pseudonym."""
    return sim.event(
        "card.read",
        {
            "session_id": session,
            "card_type": card_type,
            "subject": subject,
            "key_id": "k1",
            "id_number_valid": True,
        },
    )


def qr_scanned(sim: KioskSim, session: str, kind: str = "medical_insurance_code") -> dict[str, Any]:
    """qr.scanned."""
    return sim.event("qr.scanned", {"session_id": session, "source": "scanner", "kind": kind})


def rating(
    sim: KioskSim, session: str, level: int, reasons: tuple[str, ...] = (), item: str | None = None
) -> dict[str, Any]:
    """rating.submitted."""
    return sim.event(
        "rating.submitted",
        {
            "session_id": session,
            "item_id": item,
            "level": level,
            "label": LABELS[level],
            "reasons": list(reasons),
        },
    )


def _component(code: str, value: int) -> dict[str, Any]:
    return {
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "valueQuantity": {"value": value, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
    }


def bp_measured(
    sim: KioskSim,
    session: str,
    systolic: int,
    diastolic: int,
    classification: str,
    *,
    subject: str | None = None,
    pulse: int | None = 72,
) -> dict[str, Any]:
    """bp.measured (schema 2): with a pseudonym when `subject` is given (consent)."""
    taken = sim.clock.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    if subject is None:
        who: dict[str, Any] = {
            "identifier": {"system": "urn:civic-kiosk:anonymous-session", "value": session},
            "display": "anonymous resident",
        }
    else:
        who = {"identifier": {"system": "urn:civic-kiosk:pseudonym:k1", "value": subject}}
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "category": VITAL_SIGNS,
        "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
        "subject": who,
        "effectiveDateTime": taken,
        "component": [_component("8480-6", systolic), _component("8462-4", diastolic)],
    }
    heart_rate = None
    if pulse is not None:
        heart_rate = {
            "resourceType": "Observation",
            "status": "final",
            "category": VITAL_SIGNS,
            "code": {"coding": [{"system": LOINC, "code": "8867-4"}]},
            "subject": who,
            "effectiveDateTime": taken,
            "valueQuantity": {"value": pulse, "unit": "/min", "system": UCUM, "code": "/min"},
        }
    return sim.event(
        "bp.measured",
        {
            "session_id": session,
            "subject": subject,
            "consent": subject is not None,
            "outcome": "ok",
            "error_key": None,
            "classification": classification,
            "observation": observation,
            "heart_rate": heart_rate,
        },
    )
