"""The city contract in code: building event envelopes and validating them against docs/contract.

The JSON Schemas under docs/contract/schemas are the source of truth; this module only loads them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from common.ids import uuid7
from edge_agent.errors import AgentError

CONTRACT_DIR = Path(__file__).resolve().parents[1] / "docs" / "contract"
SCHEMA_DIR = CONTRACT_DIR / "schemas"
# Two seq streams per boot_id (docs/contract/README.md "Order and gaps"): heartbeats, the only
# events the outbox may shed, are numbered on their own so that a gap in "main" is always loss.
MAIN_STREAM = "main"
HEARTBEAT_STREAM = "heartbeat"
STREAMS = (MAIN_STREAM, HEARTBEAT_STREAM)

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
    "activity.signup",
    "activity.cancelled",
    "request.submitted",
    "heartbeat",
    "command.result",
    "agent.online",
    "agent.offline",
    "agent.alert",
    "test",
)

Event = dict[str, Any]


class ContractError(AgentError, ValueError):
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


def stream_of(event_type: str) -> str:
    """The seq stream an event type is numbered in: `heartbeat` for heartbeats, else `main`."""
    return HEARTBEAT_STREAM if event_type == "heartbeat" else MAIN_STREAM


@cache
def schema_version(event_type: str) -> int:
    """The `schema` an event of this type carries: the `const` its schema file declares."""
    if event_type not in EVENT_TYPES:
        raise ContractError(f"unknown event type {event_type!r}", "type")
    version: int = _registry().contents(f"{event_type}.schema.json")["properties"]["schema"][
        "const"
    ]
    return version


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
    """A complete event envelope; the id is a fresh UUIDv7 unless given (stable on retries)."""
    if event_type not in EVENT_TYPES:
        raise ContractError(f"unknown event type {event_type!r}", "type")
    moment = now or datetime.now(UTC)
    return {
        "id": event_id or uuid7(moment.timestamp()),
        "type": event_type,
        "schema": schema_version(event_type),
        "city": identity.city,
        "centre": identity.centre,
        "kiosk": identity.kiosk,
        "ts": format_ts(moment),
        "boot_id": boot_id,
        "stream": stream_of(event_type),
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


def validate_call(body: Any) -> None:
    """Raise ContractError unless `body` is an online call (docs/contract "Online calls")."""
    _raise_first(_validator("call.schema.json"), body)


def validate_answer(body: Any) -> None:
    """Raise ContractError unless `body` is the city's answer to an online call."""
    _raise_first(_validator("answer.schema.json"), body)


def validate_command(message: Any) -> None:
    """Raise ContractError unless `message` has the shape of a signed city command."""
    _raise_first(_validator("command.schema.json"), message)


# docs/contract/README.md "Topics": gov-kiosk/{version}/{city}/{centre}/{kiosk}/{kind}, every
# parameter exactly one level, so these filters are exact (tests/edge_agent/test_topics.py).
TOPIC_ROOT = "gov-kiosk"
CONTRACT_MAJOR = "v1"
DEFAULT_PREFIX = f"{TOPIC_ROOT}/{CONTRACT_MAJOR}"
ALL_EVENTS_FILTER = f"{DEFAULT_PREFIX}/+/+/+/events"
ALL_STATUS_FILTER = f"{DEFAULT_PREFIX}/+/+/+/status"
SHARED_INGEST_FILTER = f"$share/ingest/{ALL_EVENTS_FILTER}"
_MQTT_WILDCARDS = frozenset("+#/")


def city_events_filter(city: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The filter for every events topic of one city, e.g. gov-kiosk/v1/440300/+/+/events."""
    return f"{prefix}/{_level(city, 'city')}/+/+/events"


def _level(value: str, name: str) -> str:
    if not value or _MQTT_WILDCARDS & set(value):
        raise ContractError(f"must be one topic level without wildcards: {value!r}", name)
    return value


@dataclass(frozen=True)
class Topics:
    """The per-kiosk MQTT topic tree (docs/contract/asyncapi.yaml)."""

    events: str
    status: str
    commands: str
    calls: str = ""  # online calls (contract 1.3); "" only for hand-made Topics
    answers: str = ""


def topics_for(prefix: str, identity: Identity) -> Topics:
    """Topics of one kiosk under `prefix` (exactly two levels, ROOT/vN: gov-kiosk/v1)."""
    levels = prefix.split("/")
    if len(levels) != 2:  # ROOT and the major version
        raise ContractError(f"topic prefix must be two levels, ROOT/vN: {prefix!r}", "prefix")
    for index, level in enumerate(levels):
        _level(level, f"prefix.{index}")
    parts = (
        _level(identity.city, "city"),
        _level(identity.centre, "centre"),
        _level(identity.kiosk, "kiosk"),
    )
    base = "/".join((prefix, *parts))
    return Topics(
        events=f"{base}/events",
        status=f"{base}/status",
        commands=f"{base}/commands",
        calls=f"{base}/calls",
        answers=f"{base}/answers",
    )
