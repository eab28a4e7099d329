"""The city contract: schemas are valid, envelopes are built to them, bad events are refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from edge_agent.contract import (
    EVENT_TYPES,
    SCHEMA_DIR,
    ContractError,
    Identity,
    format_ts,
    new_event,
    parse_ts,
    topics_for,
    validate_batch,
    validate_event,
)

IDENTITY = Identity(city="440300", centre="futian-xmh", kiosk="k07")
BOOT = "6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab"
SESSION = "0b9a4c1e-2f3d-4e5f-8a6b-7c8d9e0f1a2b"
SUBJECT = "ab" * 32

COMPONENT = {
    "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
    "valueQuantity": {
        "value": 128,
        "unit": "mmHg",
        "system": "http://unitsofmeasure.org",
        "code": "mm[Hg]",
    },
}
DIASTOLIC = {
    **COMPONENT,
    "code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
    "valueQuantity": {**COMPONENT["valueQuantity"], "value": 82},  # type: ignore[dict-item]
}

SAMPLE_DATA: dict[str, dict[str, Any]] = {
    "session.started": {"session_id": SESSION, "flow": "services", "language": "zh"},
    "session.ended": {"session_id": SESSION, "reason": "idle_timeout", "duration_s": 81.5},
    "card.read": {
        "session_id": SESSION,
        "card_type": "resident",
        "subject": SUBJECT,
        "key_id": "2026a",
        "id_number_valid": True,
    },
    "qr.scanned": {"session_id": None, "source": "camera", "kind": "medical_insurance_code"},
    "service.selected": {
        "session_id": SESSION,
        "item_id": "yb-001",
        "category": "yibao",
        "handling": "here",
        "catalogue_version": "2026.11.1",
    },
    "bp.measured": {
        "session_id": SESSION,
        "subject": None,
        "consent": False,
        "device_protocol": "suntech",
        "outcome": "ok",
        "error_key": None,
        "classification": "high_normal",
        "observation": {
            "resourceType": "Observation",
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "vital-signs",
                        }
                    ]
                }
            ],
            "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
            "subject": {
                "identifier": {"system": "urn:civic-kiosk:anonymous-session", "value": SESSION},
                "display": "anonymous resident",
            },
            "effectiveDateTime": "2026-11-23T08:15:30.123Z",
            "component": [COMPONENT, DIASTOLIC],
        },
        "heart_rate": None,
    },
    "rating.submitted": {
        "session_id": SESSION,
        "item_id": "yb-001",
        "level": 2,
        "label": "不满意",
        "reasons": ["waiting_too_long"],
    },
    "device.fault": {"device": "bp", "kind": "disconnected", "message": "port lost"},
    "device.recovered": {"device": "bp", "down_s": 12.0},
    "technician.lockout": {"level": 2, "lockout_s": 300.0, "failed_attempts": 10},
    "activity.signup": {
        "signup_id": "0193f1c2-7a4b-7c3d-8e5f-0123456789ab",
        "activity_id": "tai-chi-1210",
        "activities_version": "2026-12-01.1",
        "subject": SUBJECT,
        "key_id": "2026a",
        "session_id": SESSION,
    },
    "activity.cancelled": {
        "signup_id": "0193f1c2-7a4b-7c3d-8e5f-0123456789ab",
        "activity_id": "tai-chi-1210",
        "subject": SUBJECT,
        "key_id": "2026a",
        "session_id": SESSION,
    },
    "request.submitted": {
        "request_id": "0193f1c2-7a4b-7c3d-8e5f-0123456789ac",
        "ticket": "7K2MQ-9XD3F",
        "category": "repairs",
        "location": {"building": "5栋", "unit": "2单元"},
        "text": "楼道灯坏了",
        "callback": {"key_id": "req2026", "sealed": "A" * 123},
        "subject": SUBJECT,
        "key_id": "2026a",
        "session_id": SESSION,
    },
    "heartbeat": {
        "outbox_depth": 3,
        "oldest_unsent_age_s": 4.5,
        "free_disk_mb": 51200.0,
        "devices": {"idcard": "ok", "bp": "disconnected"},
        "clock": {"synchronised": True, "offset_ms": None},
        "versions": {"app": "0.1.0"},
        "uptime_s": 3600.0,
    },
    "command.result": {
        "command_id": None,
        "command_type": None,
        "status": "rejected",
        "reason": "malformed",
    },
    "agent.online": {
        "state": "online",
        "agent_version": "0.1.0",
        "started_at": "2026-11-23T08:00:00.000Z",
        "connection": 3,
    },
    "agent.offline": {"state": "offline", "reason": "connection_lost", "connection": 3},
    "agent.alert": {"kind": "outbox_full", "message": "only events that are never shed remain"},
    "test": {"note": "commissioning", "index": 0, "count": 1},
}


def make(event_type: str, **overrides: Any) -> dict[str, Any]:
    event = new_event(event_type, SAMPLE_DATA[event_type], identity=IDENTITY, boot_id=BOOT, seq=1)
    event.update(overrides)
    return event


def test_every_schema_file_is_a_valid_2020_12_schema() -> None:
    """Each file under docs/contract/schemas passes the JSON Schema metaschema."""
    files = sorted(SCHEMA_DIR.glob("*.schema.json"))
    assert len(files) >= len(EVENT_TYPES) + 2
    for file in files:
        Draft202012Validator.check_schema(json.loads(file.read_text(encoding="utf-8")))


def test_every_event_type_has_a_schema_and_a_sample() -> None:
    """The code's list of types, the schema files and the samples agree."""
    assert set(SAMPLE_DATA) == set(EVENT_TYPES)
    for event_type in EVENT_TYPES:
        assert (SCHEMA_DIR / f"{event_type}.schema.json").is_file()


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_built_events_validate(event_type: str) -> None:
    """new_event produces an envelope that matches the type's schema."""
    validate_event(make(event_type))


def test_batch_of_events_validates() -> None:
    """An events-topic payload carries one or more events."""
    validate_batch({"events": [make("test"), make("heartbeat")]})
    with pytest.raises(ContractError):
        validate_batch({"events": []})


@pytest.mark.parametrize(
    ("event_type", "change", "where"),
    [
        ("card.read", {"data": {**SAMPLE_DATA["card.read"], "id_number": "x"}}, "data"),
        ("card.read", {"data": {**SAMPLE_DATA["card.read"], "subject": "11010519"}}, "subject"),
        ("qr.scanned", {"data": {**SAMPLE_DATA["qr.scanned"], "token": "abc"}}, "data"),
        ("test", {"ts": "2026-11-23 08:00:00"}, "ts"),
        ("test", {"seq": 0}, "seq"),
        ("test", {"kiosk": "k/07"}, "kiosk"),
        ("rating.submitted", {"data": {**SAMPLE_DATA["rating.submitted"], "level": 6}}, "level"),
        ("heartbeat", {"stream": "main"}, "stream"),
        ("test", {"stream": "heartbeat"}, "stream"),
        ("test", {"id": "6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab"}, "id"),
        ("agent.online", {"data": {**SAMPLE_DATA["agent.online"], "connection": 0}}, "connection"),
    ],
)
def test_contract_refuses_what_must_not_leave_the_kiosk(
    event_type: str, change: dict[str, Any], where: str
) -> None:
    """Clear ID numbers, QR tokens, malformed envelopes and out-of-range values are refused."""
    with pytest.raises(ContractError) as caught:
        validate_event(make(event_type, **change))
    assert where in str(caught.value)


def test_unknown_event_type_is_refused() -> None:
    """Only documented types can be built."""
    with pytest.raises(ContractError):
        new_event("card.photo", {}, identity=IDENTITY, boot_id=BOOT, seq=1)


def test_timestamps_are_utc_with_milliseconds() -> None:
    """format_ts/parse_ts round-trip at millisecond precision."""
    moment = datetime(2026, 11, 23, 8, 15, 30, 123456, tzinfo=UTC)
    assert format_ts(moment) == "2026-11-23T08:15:30.123Z"
    assert parse_ts(format_ts(moment)) == moment.replace(microsecond=123000)


def test_asyncapi_document_names_the_topics_and_existing_schemas() -> None:
    """docs/contract/asyncapi.yaml parses, and every schema it references exists."""
    contract_dir = SCHEMA_DIR.parent
    doc = yaml.safe_load((contract_dir / "asyncapi.yaml").read_text(encoding="utf-8"))
    assert doc["asyncapi"].startswith("3.")
    addresses = {channel["address"] for channel in doc["channels"].values()}
    topics = topics_for("gov-kiosk/{version}", Identity("{city}", "{centre}", "{kiosk}"))
    assert {topics.events, topics.status, topics.commands} <= addresses
    refs = [ref for ref in _refs(doc) if ref.startswith("schemas/")]
    assert len(refs) >= len(EVENT_TYPES)
    for ref in refs:
        assert (contract_dir / ref).is_file(), ref
    assert Path(contract_dir / "README.md").is_file()


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in _refs(item)]
    return []
