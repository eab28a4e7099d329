"""Sans-I/O: one MQTT message (topic, payload bytes) → rows to store and rows to quarantine.

Never raises on input: whatever arrives becomes either valid event rows or quarantine rows
with a reason and the first bytes, so nothing is dropped silently. A batch with one bad event
keeps its good events; the bad one is quarantined on its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NamedTuple

from city.contract import PRESENCE_TYPES, Contract

Source = Literal["events", "status"]
STREAMS = frozenset({"main", "heartbeat"})
MAX_TOPIC_CHARS = 300
MAX_BIGINT = 2**63 - 1
MAX_INT = 2**31 - 1
# json.dumps with options builds an encoder per call; one shared encoder writes the same text.
_encode_data = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class EventRow(NamedTuple):
    """One valid event, ready for the `events` table; `kiosk` is CITY/CENTRE/KIOSK.

    A NamedTuple, not a frozen dataclass: one is built per event, and a frozen dataclass's
    __init__ cost a tenth of the decode time here (docs/city-scale.md, "Figures")."""

    id: str
    kiosk: str
    type: str
    ts: str
    boot: str
    stream: str
    seq: int
    schema: int
    data: dict[str, Any]
    data_json: str
    source: Source


@dataclass(frozen=True)
class QuarantineRow:
    """What could not be stored: where it came from, why, and its first bytes."""

    topic: str
    reason: str
    raw: bytes
    raw_size: int


@dataclass(frozen=True)
class Decoded:
    """The outcome of one message."""

    events: tuple[EventRow, ...]
    quarantined: tuple[QuarantineRow, ...]


@dataclass(frozen=True)
class TopicInfo:
    """A kiosk topic `ROOT/vN/{city}/{centre}/{kiosk}/{events|status}`."""

    kiosk: str
    source: Source


def parse_topic(topic: str, topic_root: str) -> TopicInfo | None:
    """The kiosk and channel of a topic under `topic_root`, or None for anything else."""
    prefix = topic_root + "/"
    if not topic.startswith(prefix):
        return None
    levels = topic[len(prefix) :].split("/")
    if len(levels) != 4 or not all(levels[:3]) or levels[3] not in ("events", "status"):
        return None
    source: Source = "events" if levels[3] == "events" else "status"
    return TopicInfo(kiosk="/".join(levels[:3]), source=source)


def decode_message(
    topic: str,
    payload: bytes,
    *,
    topic_root: str,
    contract: Contract,
    max_payload_bytes: int,
    raw_cap_bytes: int,
) -> Decoded:
    """Decode and validate one message; total over all inputs (never raises on content)."""

    def reject(reason: str, raw: bytes) -> Decoded:
        return Decoded((), (_quarantine(topic, reason, raw, raw_cap_bytes),))

    info = parse_topic(topic, topic_root)
    if info is None:
        return reject("not a kiosk events/status topic", payload)
    if len(payload) > max_payload_bytes:
        return reject(f"payload of {len(payload)} bytes exceeds {max_payload_bytes}", payload)
    try:
        document = json.loads(payload)
    except RecursionError:
        return reject("JSON nested too deeply", payload)
    except (UnicodeDecodeError, ValueError) as exc:
        return reject(f"not JSON: {type(exc).__name__}", payload)
    if info.source == "status":
        items: list[Any] = [document]
    else:
        problem = _batch_problem(document, contract)
        if problem:
            return reject(problem, payload)
        items = document["events"]
    rows: list[EventRow] = []
    quarantined: list[QuarantineRow] = []
    for index, item in enumerate(items):
        reason = _event_problem(item, info, contract)
        data_json = ""
        if reason is None:
            data_json = _encode_data(item["data"])
            if "\\u0000" in data_json:
                reason = "data holds a NUL character (PostgreSQL cannot store it)"
            elif not _is_utf8(data_json):
                reason = "data holds a lone surrogate (not UTF-8)"
        if reason is None:
            rows.append(_row(item, info, data_json))
            continue
        where = f"events[{index}]: " if info.source == "events" else ""
        quarantined.append(_quarantine(topic, where + reason, _raw_of(item), raw_cap_bytes))
    return Decoded(tuple(rows), tuple(quarantined))


def _batch_problem(document: Any, contract: Contract) -> str | None:
    # The batch's own shape (batch.schema.json); each item is checked against its type below.
    if not isinstance(document, dict) or set(document) != {"events"}:
        return 'a batch is {"events": [...]} and nothing else'
    events = document["events"]
    if not isinstance(events, list):
        return "events must be a list"
    if not contract.batch_min_items <= len(events) <= contract.batch_max_items:
        return (
            f"a batch holds {contract.batch_min_items}..{contract.batch_max_items} events, "
            f"got {len(events)}"
        )
    return None


def _event_problem(item: Any, info: TopicInfo, contract: Contract) -> str | None:  # noqa: PLR0911 — one return per rule
    try:
        reason = contract.check_event(item)
    except RecursionError:
        return "event nested too deeply"
    if reason is not None:
        return reason
    try:
        datetime.fromisoformat(item["ts"][:-1])  # the pattern fixed the shape; is it a real time?
    except ValueError:
        return "ts is not a real UTC time"
    if item["seq"] > MAX_BIGINT or item["schema"] > MAX_INT:
        return "seq or schema out of range"
    if f"{item['city']}/{item['centre']}/{item['kiosk']}" != info.kiosk:
        return "city/centre/kiosk do not match the topic"
    is_presence = item["type"] in PRESENCE_TYPES
    if is_presence != (info.source == "status"):
        return "presence belongs on the status topic, every other event on events"
    # Decision 2: `stream` is required by the new envelope; a kiosk on the older contract sends
    # none, and there every event shared one sequence, which is exactly the main stream.
    stream = item.get("stream", "main")
    expected = "heartbeat" if item["type"] == "heartbeat" and "stream" in item else "main"
    if stream not in STREAMS or stream != expected:
        return f"stream must be {expected!r} for {item['type']}"
    return None


def _row(item: dict[str, Any], info: TopicInfo, data_json: str) -> EventRow:
    return EventRow(
        id=item["id"],
        kiosk=info.kiosk,
        type=item["type"],
        ts=item["ts"],
        boot=item["boot_id"],
        stream=item.get("stream", "main"),
        seq=item["seq"],
        schema=item["schema"],
        data=item["data"],
        data_json=data_json,
        source=info.source,
    )


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _raw_of(item: Any) -> bytes:
    try:
        return json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode()
    except (TypeError, ValueError, RecursionError):
        return b""


def _quarantine(topic: str, reason: str, raw: bytes, cap: int) -> QuarantineRow:
    safe_topic = topic.encode("utf-8", "replace").decode("utf-8")[:MAX_TOPIC_CHARS]
    return QuarantineRow(
        topic=safe_topic.replace("\x00", "?"), reason=reason, raw=raw[:cap], raw_size=len(raw)
    )
