"""The city contract in code: building event envelopes and validating them against docs/contract.

The JSON Schemas under docs/contract/schemas are the source of truth; this module only loads them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

CONTRACT_DIR = Path(__file__).resolve().parents[1] / "docs" / "contract"
SCHEMA_DIR = CONTRACT_DIR / "schemas"
SCHEMA_VERSION = 1

EVENT_TYPES: tuple[str, ...] = (
    "session.started",
    "session.ended",
    "card.read",
    "qr.scanned",
    "service.selected",
    "bp.measured",
    "rating.submitted",
    "device.fault",
    "device.recovered",
    "technician.lockout",
    "heartbeat",
    "command.result",
    "agent.online",
    "agent.offline",
    "agent.alert",
    "test",
)

Event = dict[str, Any]


class ContractError(ValueError):
    """An event or payload that does not match docs/contract; `path` locates the first problem."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


@dataclass(frozen=True)
class Identity:
    """Who sends: the envelope's city/centre/kiosk."""

    city: str
    centre: str
    kiosk: str


def format_ts(moment: datetime) -> str:
    """UTC timestamp with millisecond precision: `2026-11-23T08:15:30.123Z`."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_ts(text: str) -> datetime:
    """Inverse of format_ts (ValueError on anything else)."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def new_event(
    event_type: str,
    data: Mapping[str, Any],
    *,
    identity: Identity,
    boot_id: str,
    seq: int,
    now: datetime | None = None,
    event_id: str | None = None,
) -> Event:
    """A complete event envelope; the id is fresh unless given (it must stay stable on retries)."""
    if event_type not in EVENT_TYPES:
        raise ContractError(f"unknown event type {event_type!r}", "type")
    return {
        "id": event_id or str(uuid.uuid4()),
        "type": event_type,
        "schema": SCHEMA_VERSION,
        "city": identity.city,
        "centre": identity.centre,
        "kiosk": identity.kiosk,
        "ts": format_ts(now or datetime.now(UTC)),
        "boot_id": boot_id,
        "seq": seq,
        "data": dict(data),
    }


@cache
def _registry() -> Registry[Any]:
    resources = []
    for file in sorted(SCHEMA_DIR.glob("*.schema.json")):
        contents = json.loads(file.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


@cache
def _validator(schema_id: str) -> Draft202012Validator:
    schema = _registry().contents(schema_id)
    return Draft202012Validator(schema, registry=_registry())


def _raise_first(validator: Draft202012Validator, instance: Any) -> None:
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        first: ValidationError = errors[0]
        path = ".".join(str(p) for p in first.absolute_path)
        raise ContractError(first.message[:300], path)


def validate_event(event: Any) -> None:
    """Raise ContractError unless `event` matches its type's schema (and the envelope)."""
    _raise_first(_validator("envelope.schema.json"), event)
    if event["type"] not in EVENT_TYPES:
        raise ContractError(f"unknown event type {event['type']!r}", "type")
    _raise_first(_validator(f"{event['type']}.schema.json"), event)


def validate_batch(payload: Any) -> None:
    """Raise ContractError unless `payload` is an events-topic batch of valid events."""
    _raise_first(_validator("batch.schema.json"), payload)
    for index, event in enumerate(payload["events"]):
        try:
            validate_event(event)
        except ContractError as exc:
            raise ContractError(str(exc), f"events.{index}") from None


def validate_command(message: Any) -> None:
    """Raise ContractError unless `message` has the shape of a signed city command."""
    _raise_first(_validator("command.schema.json"), message)


@dataclass(frozen=True)
class Topics:
    """The per-kiosk MQTT topic tree (docs/contract/asyncapi.yaml)."""

    events: str
    status: str
    commands: str


def topics_for(prefix: str, identity: Identity) -> Topics:
    """Topics of one kiosk under `prefix` (e.g. gov-kiosk/v1)."""
    base = f"{prefix}/{identity.city}/{identity.centre}/{identity.kiosk}"
    return Topics(events=f"{base}/events", status=f"{base}/status", commands=f"{base}/commands")
