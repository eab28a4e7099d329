"""Online calls as the city reads them: every byte string is a Call, a Refusal or Expired."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from city.config import DEFAULT_CONTRACT_DIR
from city.points.calls import (
    Call,
    Expired,
    Refusal,
    error_answer,
    load_schemas,
    loads_strict,
    ok_answer,
    parse_call,
)
from common.ids import uuid7

SCHEMAS = load_schemas(DEFAULT_CONTRACT_DIR)
NOW = datetime(2026, 12, 3, 8, 15, 30, tzinfo=UTC)
TOPIC = "gov-kiosk/v1/440300/c1/k1/calls"
ANSWERS = "gov-kiosk/v1/440300/c1/k1/answers"
SUBJECT = "ab" * 32


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def call(method: str = "points.balance", **extra: Any) -> dict[str, Any]:
    all_params: dict[str, dict[str, Any]] = {
        "points.balance": {"subject": SUBJECT, "key_id": "k2026"},
        "points.history": {"subject": SUBJECT, "key_id": "k2026", "limit": 5},
        "points.catalogue": {},
        "points.redeem": {
            "subject": SUBJECT,
            "key_id": "k2026",
            "redemption_id": uuid7(),
            "reward_id": "haircut",
            "points": 50,
        },
    }
    params = all_params[method]
    body: dict[str, Any] = {
        "call_id": uuid7(),
        "method": method,
        "issued_at": _ts(NOW),
        "expires_at": _ts(NOW + timedelta(seconds=15)),
        "params": params,
    }
    body.update(extra)
    return body


def parse(body: Any, topic: str = TOPIC, response_topic: str | None = None) -> object:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_call(
        raw, topic, schemas=SCHEMAS, now=NOW, max_bytes=8192, response_topic=response_topic
    )


def test_every_method_parses_and_its_answers_match_the_contract() -> None:
    """A valid call of each method is a Call answered on its own kiosk's answers topic."""
    samples: dict[str, dict[str, Any]] = {
        "points.balance": {"balance": 70},
        "points.history": {
            "balance": 70,
            "entries": [
                {"kind": "earn", "points": 20, "source": "attendance", "at": _ts(NOW)},
                {
                    "kind": "redeem",
                    "points": -50,
                    "source": "redemption",
                    "title": {"zh": "理发"},
                    "at": _ts(NOW),
                },
            ],
        },
        "points.catalogue": {
            "rewards": [
                {
                    "reward_id": "rice",
                    "title": {"zh": "大米", "en": "Rice"},
                    "points": 30,
                    "available": True,
                }
            ]
        },
        "points.redeem": {
            "redemption_id": uuid7(),
            "reward_id": "haircut",
            "title": {"zh": "理发"},
            "points": 50,
            "balance": 20,
            "voucher": "7K2M-Q9XD-3FHT",
            "redeemed_at": _ts(NOW),
        },
    }
    for method, data in samples.items():
        parsed = parse(call(method))
        assert isinstance(parsed, Call), method
        assert parsed.answer_topic == ANSWERS
        assert parsed.kiosk == "440300/c1/k1"
        assert SCHEMAS.answer.is_valid(ok_answer(parsed.call_id, method, data, NOW)), method
        assert SCHEMAS.answer.is_valid(error_answer(parsed.call_id, method, "unavailable", NOW))
    # The answer schema refuses data with an error, a reason with ok, and wrong data shapes.
    bad = ok_answer(uuid7(), "points.balance", {"balance": -1}, NOW)
    assert not SCHEMAS.answer.is_valid(bad)
    assert not SCHEMAS.answer.is_valid({**bad, "data": {"balance": 1}, "reason": "unavailable"})
    assert not SCHEMAS.answer.is_valid(
        {**error_answer(uuid7(), None, "unavailable", NOW), "data": {}}
    )


def test_the_3_1_1_reply_to_and_the_mqtt_5_response_topic_must_name_the_callers_topic() -> None:
    """Answers go only to the calling kiosk: any other topic is refused with the call's id."""
    assert isinstance(parse(call(reply_to=ANSWERS)), Call)
    assert isinstance(parse(call(), response_topic=ANSWERS), Call)
    other = "gov-kiosk/v1/440300/c1/k2/answers"
    for refused in (parse(call(reply_to=other)), parse(call(), response_topic=other)):
        assert isinstance(refused, Refusal)
        assert refused.call_id is not None
        assert refused.answer_topic == ANSWERS


def test_expired_calls_are_ignored_and_far_expiries_refused() -> None:
    """Past expires_at: no answer at all; more than five minutes ahead: invalid."""
    expired = parse(call(expires_at=_ts(NOW - timedelta(milliseconds=1))))
    assert isinstance(expired, Expired)
    assert isinstance(parse(call(expires_at=_ts(NOW + timedelta(hours=1)))), Refusal)


def test_hostile_shapes_are_refused_and_answered_only_when_the_call_id_is_known() -> None:
    """Unknown methods, extra fields, bad params, bad topics, size and JSON tricks."""
    cases: list[tuple[Any, str]] = [
        ({**call(), "method": "points.steal"}, "known"),
        ({**call(), "extra": 1}, "known"),
        ({**call("points.redeem"), "params": {"subject": SUBJECT, "key_id": "k"}}, "known"),
        (
            {**call("points.redeem"), "params": {**call("points.redeem")["params"], "points": -5}},
            "known",
        ),
        ({**call(), "params": {"subject": "X" * 64, "key_id": "k"}}, "known"),
        ({**call(), "call_id": "not-a-uuid"}, "unknown"),
        (b'{"call_id": "a", "call_id": "b"}', "unknown"),
        (b"[" * 5000 + b"]" * 5000, "unknown"),
        (b'{"n": 1' + b"0" * 5000 + b"}", "unknown"),
        (b'{"x": NaN}', "unknown"),
        (b'{"x": "\\ud800"}', "unknown"),
        (b"\xff\xfe", "unknown"),
        (b"x" * 9000, "unknown"),
        (b"null", "unknown"),
    ]
    for body, expect in cases:
        refused = parse(body)
        assert isinstance(refused, Refusal), body
        assert (refused.call_id is not None) == (expect == "known"), body
    for topic in ("gov-kiosk/v1/440300/c1/calls", "a/b/c/d/e/calls", "gov-kiosk/v1/+/c1/k1/calls"):
        assert isinstance(parse(call(), topic=topic), Refusal)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=600), st.text(max_size=80))
def test_any_bytes_on_any_topic_never_raise(payload: bytes, topic: str) -> None:
    """Fuzz: arbitrary payloads and topics give a Refusal (or a Call), never an exception."""
    assert isinstance(parse(payload, topic=topic), Call | Refusal | Expired)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.sampled_from(["points.balance", "points.history", "points.catalogue", "points.redeem"]),
    st.sampled_from(["call_id", "method", "issued_at", "expires_at", "params", "reply_to"]),
    json_values,
)
def test_a_valid_call_with_one_field_replaced_by_anything_never_raises(
    method: str, key: str, value: Any
) -> None:
    """Property: swapping any field for any JSON value gives a Call only if it still matches."""
    body = call(method)
    body[key] = value
    parsed = parse(body)
    assert isinstance(parsed, Call | Refusal | Expired)
    if isinstance(parsed, Call):
        assert SCHEMAS.call.is_valid(body)


def test_strict_json_keeps_ordinary_documents() -> None:
    """The caps refuse tricks, not normal JSON."""
    assert loads_strict(b'{"a": [1, 2.5, "\\u4e2d"], "b": {"c": null}}', 100) == {
        "a": [1, 2.5, "中"],
        "b": {"c": None},
    }
