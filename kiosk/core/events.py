"""Flow outcomes as contract events (docs/contract/schemas): pure builders of each `data` object.

Only pseudonyms leave the kiosk, never ID numbers; QR codes go out as their kind only; ratings
carry no rater identity. The envelope (id, ts, seq…) is the sink's business.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from kiosk.core.bp_classification import BpCategory
from kiosk.core.inputs import DeviceName, EndReason

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
PSEUDONYM_SYSTEM = "urn:civic-kiosk:pseudonym:"  # + key id: lets the city rotate keys
ANONYMOUS_SYSTEM = "urn:civic-kiosk:anonymous-session"
ANONYMOUS_DISPLAY = "anonymous resident"
BP_PANEL_LOINC = "85354-9"
SYSTOLIC_LOINC = "8480-6"
DIASTOLIC_LOINC = "8462-4"
MEAN_LOINC = "8478-0"
HEART_RATE_LOINC = "8867-4"
DEVICE_MESSAGE_MAX_CHARS = 200
DEVICE_CODE_MAX_CHARS = 32
RATING_LABELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}

Data = dict[str, Any]


class EventSinkError(RuntimeError):
    """The sink could not store an event (e.g. the outbox is full); the session carries on."""


class EventSink(Protocol):
    """Where events go (the outbox adapter builds the envelope and stores it durably)."""

    def put(self, event_type: str, data: Data) -> None:
        """Store one event before returning; EventSinkError if it cannot be stored."""
        ...


def session_started(
    session_id: str,
    flow: Literal["services", "health", "activities", "points", "requests"],
    language: str,
    *,
    large_text: bool,
    voice: bool,
    high_contrast: bool,
) -> Data:
    """`session.started`."""
    return {
        "session_id": session_id,
        "flow": flow,
        "language": language,
        "accessibility": {"large_text": large_text, "voice": voice, "high_contrast": high_contrast},
    }


def session_ended(
    session_id: str, reason: EndReason, duration_s: float, *, identified: bool, services_viewed: int
) -> Data:
    """`session.ended`."""
    return {
        "session_id": session_id,
        "reason": reason,
        "duration_s": round(max(duration_s, 0.0), 3),
        "identified": identified,
        "services_viewed": services_viewed,
    }


def card_read(
    session_id: str,
    card_type: str,
    subject: str,
    key_id: str,
    *,
    id_number_valid: bool,
    card_expired: bool | None,
    read_ms: float | None,
) -> Data:
    """`card.read` with the pseudonym as subject."""
    data: Data = {
        "session_id": session_id,
        "card_type": card_type,
        "subject": subject,
        "key_id": key_id,
        "id_number_valid": id_number_valid,
    }
    if card_expired is not None:
        data["card_expired"] = card_expired
    if read_ms is not None:
        data["read_ms"] = max(read_ms, 0.0)
    return data


def qr_scanned(session_id: str | None, source: str, kind: str) -> Data:
    """`qr.scanned`: the kind only."""
    return {"session_id": session_id, "source": source, "kind": kind}


def service_selected(
    session_id: str,
    item_id: str,
    category: str,
    catalogue_version: str,
    *,
    handling: str,
    via: str,
) -> Data:
    """`service.selected`."""
    return {
        "session_id": session_id,
        "item_id": item_id,
        "category": category,
        "catalogue_version": catalogue_version[:64],
        "handling": handling,
        "via": via,
    }


def _quantity(value: int, unit: str, code: str) -> Data:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def _component(loinc: str, display: str, value: int) -> Data:
    return {
        "code": {"coding": [{"system": LOINC, "code": loinc, "display": display}]},
        "valueQuantity": _quantity(value, "mmHg", "mm[Hg]"),
    }


def _subject(subject: str | None, key_id: str, session_id: str) -> Data:
    # The vital-signs profile requires a subject. Without consent there is no identity to give,
    # so the reference names only the visit, under a system that says it is anonymous: a FHIR
    # server keeps every anonymous visit apart and never mistakes one for a known patient.
    if subject is None:
        return {
            "identifier": {"system": ANONYMOUS_SYSTEM, "value": session_id},
            "display": ANONYMOUS_DISPLAY,
        }
    return {"identifier": {"system": PSEUDONYM_SYSTEM + key_id, "value": subject}}


def _vital_signs() -> list[Data]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs"}]}]


def bp_observation(
    systolic: int,
    diastolic: int,
    mean: int | None,
    *,
    taken_at: datetime,
    subject: str | None,
    key_id: str,
    session_id: str,
) -> Data:
    """FHIR R4 Observation, vital-signs blood-pressure profile (LOINC 85354-9), in mm[Hg]."""
    components = [
        _component(SYSTOLIC_LOINC, "Systolic blood pressure", systolic),
        _component(DIASTOLIC_LOINC, "Diastolic blood pressure", diastolic),
    ]
    if mean is not None:
        components.append(_component(MEAN_LOINC, "Mean blood pressure", mean))
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": _vital_signs(),
        "code": {
            "coding": [{"system": LOINC, "code": BP_PANEL_LOINC, "display": "Blood pressure panel"}]
        },
        "subject": _subject(subject, key_id, session_id),
        "effectiveDateTime": taken_at.astimezone(UTC).isoformat(timespec="seconds"),
        "component": components,
    }


def heart_rate_observation(
    pulse: int, *, taken_at: datetime, subject: str | None, key_id: str, session_id: str
) -> Data:
    """FHIR R4 Observation, vital-signs heart-rate profile (LOINC 8867-4), in /min."""
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": _vital_signs(),
        "code": {"coding": [{"system": LOINC, "code": HEART_RATE_LOINC, "display": "Heart rate"}]},
        "subject": _subject(subject, key_id, session_id),
        "effectiveDateTime": taken_at.astimezone(UTC).isoformat(timespec="seconds"),
        "valueQuantity": _quantity(pulse, "/min", "/min"),
    }


def bp_measured(
    session_id: str,
    *,
    subject: str | None,
    consent: bool,
    key_id: str,
    taken_at: datetime,
    systolic: int | None,
    diastolic: int | None,
    pulse: int | None,
    mean: int | None,
    category: BpCategory | None,
    error_key: str | None,
    device_protocol: str | None,
) -> Data:
    """`bp.measured`; `subject` must already be None unless identified and consenting."""
    ok = error_key is None and systolic is not None and diastolic is not None
    data: Data = {
        "session_id": session_id,
        "subject": subject,
        "consent": consent,
        "outcome": "ok" if ok else "device_error",
        "error_key": None if ok else error_key or "device_error",
        "classification": category.value if ok and category is not None else None,
        "observation": None,
        "heart_rate": None,
    }
    if ok and systolic is not None and diastolic is not None:
        data["observation"] = bp_observation(
            systolic,
            diastolic,
            mean,
            taken_at=taken_at,
            subject=subject,
            key_id=key_id,
            session_id=session_id,
        )
        if pulse is not None:
            data["heart_rate"] = heart_rate_observation(
                pulse, taken_at=taken_at, subject=subject, key_id=key_id, session_id=session_id
            )
    if device_protocol:
        data["device_protocol"] = device_protocol[:32]
    return data


def rating_submitted(
    session_id: str, level: int, reasons: tuple[str, ...], item_id: str | None
) -> Data:
    """`rating.submitted`: level and fixed Chinese label, reason keys, no rater identity."""
    return {
        "session_id": session_id,
        "item_id": item_id,
        "level": level,
        "label": RATING_LABELS[level],
        "reasons": list(reasons),
    }


def device_fault(device: DeviceName, kind: str, code: str | None, message: str) -> Data:
    """`device.fault`; message and code capped to the contract's lengths."""
    data: Data = {"device": device, "kind": kind, "message": message[:DEVICE_MESSAGE_MAX_CHARS]}
    if code:
        data["code"] = code[:DEVICE_CODE_MAX_CHARS]
    return data


def device_recovered(device: DeviceName, down_s: float) -> Data:
    """`device.recovered`."""
    return {"device": device, "down_s": round(max(down_s, 0.0), 3)}


def technician_lockout(level: int, lockout_s: float, failed_attempts: int) -> Data:
    """`technician.lockout`: counts and a duration only (no PIN, nothing about a person)."""
    return {"level": level, "lockout_s": round(lockout_s, 3), "failed_attempts": failed_attempts}


def activity_signup(
    signup_id: str,
    activity_id: str,
    activities_version: str,
    *,
    subject: str,
    key_id: str,
    session_id: str,
) -> Data:
    """`activity.signup`: the pseudonym only; the city allocates the place and answers."""
    return {
        "signup_id": signup_id,
        "activity_id": activity_id,
        "activities_version": activities_version,
        "subject": subject,
        "key_id": key_id,
        "session_id": session_id,
    }


def activity_cancelled(
    signup_id: str, activity_id: str, subject: str, key_id: str, session_id: str
) -> Data:
    """`activity.cancelled`."""
    return {
        "signup_id": signup_id,
        "activity_id": activity_id,
        "subject": subject,
        "key_id": key_id,
        "session_id": session_id,
    }


def request_submitted(
    request_id: str,
    ticket: str,
    category: str,
    text: str,
    *,
    location: tuple[str, str] | None,
    callback: tuple[str, str] | None,
    subject: str,
    key_id: str,
    session_id: str,
) -> Data:
    """`request.submitted` (诉求): the pseudonym, never a name; a call-back number only as
    `callback` = (key_id, sealed), sealed to the city's request key (common/sealed_box.py)."""
    data: Data = {
        "request_id": request_id,
        "ticket": ticket,
        "category": category,
        "text": text,
        "subject": subject,
        "key_id": key_id,
        "session_id": session_id,
    }
    if location is not None:
        building, unit = location
        data["location"] = {"building": building, **({"unit": unit} if unit else {})}
    if callback is not None:
        data["callback"] = {"key_id": callback[0], "sealed": callback[1]}
    return data
