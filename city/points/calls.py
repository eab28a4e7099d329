"""Online calls from kiosks as the city reads them (sans-I/O): bytes in, a Call or a Refusal out.

Everything here comes from outside (docs/contract/README.md "Online calls"), so it is bounded
before it is parsed: the size is capped, the JSON is strict (no NaN, no duplicate keys, no
lone surrogates, numbers and nesting capped), and the call must match call.schema.json. The
answer always goes to the answers topic next to the calls topic it came in on; a Response
Topic or `reply_to` naming another topic is refused, so no kiosk can direct answers elsewhere.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

CALL_SCHEMA = "call.schema.json"
ANSWER_SCHEMA = "answer.schema.json"
MAX_DEPTH = 8
MAX_NUMBER_CHARS = 20
MAX_CALL_TTL_S = 300.0  # a call that claims to stay valid longer than this is not one of ours
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
LEVEL = r"[A-Za-z0-9_-]+"
CALL_TOPIC_RE = re.compile(rf"^({LEVEL}/v[0-9]+)/({LEVEL})/({LEVEL})/({LEVEL})/calls$")


class BadJson(ValueError):
    """Not JSON within the caps; the message names the rule, never the content."""


@dataclass(frozen=True)
class Call:
    """A call that passed every check."""

    call_id: str
    method: str
    params: dict[str, Any]
    kiosk: str  # CITY/CENTRE/KIOSK from the topic
    answer_topic: str
    expires_at: datetime


@dataclass(frozen=True)
class Refusal:
    """A call that failed a check: answer `invalid_call` when `call_id` is known, else drop."""

    why: str
    call_id: str | None = None
    method: str | None = None
    answer_topic: str | None = None


@dataclass(frozen=True)
class Expired:
    """A valid call received after its expires_at: the city ignores it (no answer)."""

    call_id: str


def _number(text: str) -> int | float:
    if len(text) > MAX_NUMBER_CHARS:
        raise BadJson("a number too long")
    return float(text) if any(c in text for c in ".eE") else int(text)


def _no_constant(_name: str) -> Any:
    raise BadJson("NaN and Infinity are not JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise BadJson("a key given twice")
        out[key] = value
    return out


def _depth_exceeds(text: str, limit: int) -> bool:
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def loads_strict(payload: bytes, max_bytes: int) -> Any:
    """The JSON value of `payload`; BadJson on anything past the caps or not strictly JSON."""
    if len(payload) > max_bytes:
        raise BadJson(f"larger than {max_bytes} bytes")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise BadJson("not UTF-8") from None
    if _depth_exceeds(text, MAX_DEPTH):
        raise BadJson(f"nested deeper than {MAX_DEPTH}")
    try:
        value = json.loads(
            text,
            parse_int=_number,
            parse_float=_number,
            parse_constant=_no_constant,
            object_pairs_hook=_no_duplicates,
        )
        json.dumps(value).encode("utf-8")  # lone surrogates from \ud800 escapes fail here
    except (ValueError, RecursionError, UnicodeEncodeError) as exc:
        raise BadJson(str(exc)[:80] if isinstance(exc, BadJson) else "not JSON") from None
    return value


def parse_ts(text: str) -> datetime:
    """A contract timestamp (2026-12-03T08:15:30.123Z) as an aware datetime."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class CallSchemas:
    """call.schema.json and answer.schema.json, compiled (jsonschema, 2020-12)."""

    call: Draft202012Validator
    answer: Draft202012Validator


@cache
def load_schemas(schema_dir: Path) -> CallSchemas:
    """The two validators from the contract directory (city config `contract_dir`)."""
    documents = {
        name: json.loads((schema_dir / name).read_text(encoding="utf-8"))
        for name in (CALL_SCHEMA, ANSWER_SCHEMA)
    }
    registry: Registry[Any] = Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc)) for doc in documents.values()
    )
    return CallSchemas(
        call=Draft202012Validator(documents[CALL_SCHEMA], registry=registry),
        answer=Draft202012Validator(documents[ANSWER_SCHEMA], registry=registry),
    )


def answer_topic_for(call_topic: str) -> str | None:
    """`…/{kiosk}/answers` for `…/{kiosk}/calls`; None for a topic that is not a calls topic."""
    match = CALL_TOPIC_RE.match(call_topic)
    if match is None:
        return None
    return call_topic.removesuffix("/calls") + "/answers"


def _kiosk_of(call_topic: str) -> str:
    match = CALL_TOPIC_RE.match(call_topic)
    assert match is not None
    return f"{match[2]}/{match[3]}/{match[4]}"


def _problem(
    body: dict[str, Any], schemas: CallSchemas, answer_topic: str, response_topic: str | None
) -> str | None:
    if not schemas.call.is_valid(body):
        return "does not match call.schema.json"
    for named in (response_topic, body.get("reply_to")):
        if named is not None and named != answer_topic:
            return "answers may go only to the calling kiosk's answers topic"
    return None


def _body(payload: bytes, max_bytes: int) -> dict[str, Any] | Refusal:
    try:
        body = loads_strict(payload, max_bytes)
    except BadJson as exc:
        return Refusal(str(exc))
    return body if isinstance(body, dict) else Refusal("not an object")


def parse_call(
    payload: bytes,
    topic: str,
    *,
    schemas: CallSchemas,
    now: datetime,
    max_bytes: int,
    response_topic: str | None = None,
) -> Call | Refusal | Expired:
    """Check one message from a calls topic; never raises for any bytes or topic."""
    answer_topic = answer_topic_for(topic)
    if answer_topic is None:
        return Refusal("not a calls topic")
    body = _body(payload, max_bytes)
    if isinstance(body, Refusal):
        return body
    call_id = body.get("call_id")
    known_id = call_id if isinstance(call_id, str) and UUID_RE.match(call_id) else None
    method = body.get("method") if isinstance(body.get("method"), str) else None

    def refuse(why: str) -> Refusal:
        return Refusal(why, known_id, method, answer_topic if known_id else None)

    problem = _problem(body, schemas, answer_topic, response_topic)
    if problem is not None:
        return refuse(problem)
    expires_at = parse_ts(body["expires_at"])
    if expires_at <= now:
        return Expired(body["call_id"])
    if (expires_at - now).total_seconds() > MAX_CALL_TTL_S:
        return refuse(f"expires_at more than {MAX_CALL_TTL_S:.0f} s ahead")
    return Call(
        call_id=body["call_id"],
        method=body["method"],
        params=body["params"],
        kiosk=_kiosk_of(topic),
        answer_topic=answer_topic,
        expires_at=expires_at,
    )


def ok_answer(call_id: str, method: str, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """An answer with status ok."""
    return {
        "call_id": call_id,
        "method": method,
        "status": "ok",
        "answered_at": _ts(now),
        "data": data,
    }


def error_answer(call_id: str, method: str | None, reason: str, now: datetime) -> dict[str, Any]:
    """An answer with status error and a reason code (never PII, never the call's values)."""
    answer = {"call_id": call_id, "status": "error", "answered_at": _ts(now), "reason": reason}
    if method in METHODS:
        answer["method"] = method
    return answer


METHODS = (
    "points.balance",
    "points.history",
    "points.catalogue",
    "points.redeem",
    "requests.status",
)


def _ts(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
