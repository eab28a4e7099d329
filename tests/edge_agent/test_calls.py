"""The agent's call relay on real files: take, publish once per connection, answer, time out.

The link is a recorder here (the relay only calls publish); tests/city/test_points_flow.py runs
the same relay inside real agents against a real broker and responders.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.ids import uuid7
from common.kiosk_agent import (
    LOCAL_REASONS,
    answer_path,
    call_path,
    calls_dir,
    pending_path,
    write_atomically,
)
from edge_agent.calls import MAX_PENDING, RESEND_AFTER_S, CallRelay
from edge_agent.contract import format_ts, validate_answer
from edge_agent.link import LinkError

CALLS = "gov-kiosk/v1/440300/c1/k1/calls"
ANSWERS = "gov-kiosk/v1/440300/c1/k1/answers"
NOW = 1_796_000_000.0


@dataclass
class RecordingLink:
    """Keeps what the relay publishes; `down` makes publish fail like a lost connection."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False

    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        retain: bool = False,
        response_topic: str | None = None,
        correlation_data: bytes | None = None,
    ) -> int:
        if self.down:
            raise LinkError("not connected")
        self.sent.append(
            {
                "topic": topic,
                "body": json.loads(payload),
                "response_topic": response_topic,
                "correlation": correlation_data,
            }
        )
        return len(self.sent)


def _ts(moment: float) -> str:
    from datetime import UTC, datetime

    return format_ts(datetime.fromtimestamp(moment, UTC))


def call_body(ttl_s: float = 15.0, **extra: Any) -> dict[str, Any]:
    body = {
        "call_id": uuid7(NOW),
        "method": "points.balance",
        "issued_at": _ts(NOW),
        "expires_at": _ts(NOW + ttl_s),
        "params": {"subject": "d" * 64, "key_id": "k2026"},
    }
    body.update(extra)
    return body


def relay(tmp_path: Path) -> CallRelay:
    return CallRelay(tmp_path, CALLS, ANSWERS, clock=lambda: NOW)


def put(tmp_path: Path, body: dict[str, Any]) -> str:
    write_atomically(call_path(tmp_path, body["call_id"]), body)
    return str(body["call_id"])


def answer_file(tmp_path: Path, call_id: str) -> dict[str, Any]:
    return dict(json.loads(answer_path(tmp_path, call_id).read_text()))


def city_answer(call_id: str, **extra: Any) -> bytes:
    body = {
        "call_id": call_id,
        "method": "points.balance",
        "status": "ok",
        "answered_at": _ts(NOW),
        "data": {"balance": 7},
    }
    body.update(extra)
    return json.dumps(body).encode()


def test_a_call_is_taken_published_with_mqtt_5_properties_and_answered(tmp_path: Path) -> None:
    """Call file → pending file → one PUBLISH per connection → the answer file."""
    relay_ = relay(tmp_path)
    link = RecordingLink()
    call_id = put(tmp_path, call_body())
    relay_.scan(NOW)
    assert not call_path(tmp_path, call_id).exists()
    assert pending_path(tmp_path, call_id).exists()
    relay_.pump(link, 1, "5", NOW)
    relay_.pump(link, 1, "5", NOW + 1)
    assert len(link.sent) == 1
    sent = link.sent[0]
    assert sent["topic"] == CALLS
    assert sent["response_topic"] == ANSWERS
    assert sent["correlation"] == call_id.encode()
    assert "reply_to" not in sent["body"]
    relay_.pump(link, 2, "5", NOW + 2)  # a reconnect: the answer may have been lost meanwhile
    assert len(link.sent) == 2
    relay_.pump(link, 2, "5", NOW + 2 + RESEND_AFTER_S)  # unanswered: the city may have lost it
    assert len(link.sent) == 3
    assert relay_.answer(city_answer(call_id), NOW + 3)
    assert answer_file(tmp_path, call_id)["data"] == {"balance": 7}
    assert not pending_path(tmp_path, call_id).exists()
    assert not relay_.answer(city_answer(call_id), NOW + 3)  # a duplicate changes nothing


def test_on_3_1_1_the_payload_carries_reply_to(tmp_path: Path) -> None:
    """No properties in 3.1.1: the answers topic goes in the payload."""
    relay_ = relay(tmp_path)
    link = RecordingLink()
    put(tmp_path, call_body())
    relay_.scan(NOW)
    relay_.pump(link, 1, "3.1.1", NOW)
    assert link.sent[0]["body"]["reply_to"] == ANSWERS


def test_expiry_is_timeout_when_sent_and_offline_when_never_sent(tmp_path: Path) -> None:
    """The kiosk always gets an answer file by expires_at."""
    relay_ = relay(tmp_path)
    sent_id = put(tmp_path, call_body(ttl_s=5))
    relay_.scan(NOW)
    relay_.pump(RecordingLink(), 1, "5", NOW)
    unsent_id = put(tmp_path, call_body(ttl_s=5))
    relay_.scan(NOW + 1)
    relay_.pump(RecordingLink(down=True), 2, "5", NOW + 1)
    relay_.pump(None, 2, "5", NOW + 6)
    assert answer_file(tmp_path, sent_id)["reason"] == "timeout"
    assert answer_file(tmp_path, unsent_id)["reason"] == "offline"
    assert relay_.pending == {}
    assert list(calls_dir(tmp_path).glob("*.pending.json")) == []


def test_a_restarted_agent_still_answers_the_calls_it_had_taken(tmp_path: Path) -> None:
    """The pending files are the relay's memory across a restart."""
    first = relay(tmp_path)
    call_id = put(tmp_path, call_body())
    first.scan(NOW)
    second = relay(tmp_path)
    assert set(second.pending) == {call_id}
    link = RecordingLink()
    second.pump(link, 1, "5", NOW)
    assert len(link.sent) == 1
    assert second.answer(city_answer(call_id), NOW)


def test_bad_call_files_are_answered_invalid_or_dropped_and_a_flood_is_busy(
    tmp_path: Path,
) -> None:
    """Not a call, a wrong name, reply_to set by the kiosk, too far ahead, too many at once."""
    relay_ = relay(tmp_path)
    directory = calls_dir(tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    wrong_name = uuid7(NOW)
    write_atomically(call_path(tmp_path, wrong_name), call_body())
    with_reply_to = put(tmp_path, call_body(reply_to=ANSWERS))
    too_far = put(tmp_path, call_body(ttl_s=3600))
    junk = uuid7(NOW)
    call_path(tmp_path, junk).write_bytes(b"\xff" * 20_000)
    (directory / "not-an-id.call.json").write_text("{}")
    relay_.scan(NOW)
    for call_id in (wrong_name, with_reply_to, too_far, junk):
        assert answer_file(tmp_path, call_id)["reason"] == "invalid_call", call_id
    assert not (directory / "not-an-id.call.json").exists()
    assert relay_.pending == {}
    ids = [put(tmp_path, call_body()) for _ in range(MAX_PENDING + 2)]
    relay_.scan(NOW + 1)
    assert len(relay_.pending) == MAX_PENDING
    busy = [i for i in ids if answer_path(tmp_path, i).exists()]
    assert len(busy) == 2
    assert {answer_file(tmp_path, i)["reason"] for i in busy} == {"busy"}


def test_answers_that_do_not_match_are_ignored(tmp_path: Path) -> None:
    """Unknown call ids, another method, schema breaks: the call stays pending."""
    relay_ = relay(tmp_path)
    call_id = put(tmp_path, call_body())
    relay_.scan(NOW)
    assert not relay_.answer(city_answer(uuid7(NOW)), NOW)
    assert not relay_.answer(city_answer(call_id, method="points.catalogue"), NOW)
    assert not relay_.answer(city_answer(call_id, data={"balance": -1}), NOW)
    assert not relay_.answer(city_answer(call_id, extra="x"), NOW)
    assert set(relay_.pending) == {call_id}


def test_local_answers_name_only_local_reasons() -> None:
    """The reasons the agent writes itself are the documented ones, and are not the city's."""
    schema = json.loads(
        (
            Path(__file__).resolve().parents[2] / "docs/contract/schemas/answer.schema.json"
        ).read_text()
    )
    city_reasons = set(schema["properties"]["reason"]["enum"])
    assert (set(LOCAL_REASONS) - {"invalid_call"}).isdisjoint(city_reasons)
    assert "invalid_call" in city_reasons  # the one both sides may give
    validate_answer(json.loads(city_answer(uuid7(NOW))))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_from_the_broker_never_raise(payload: bytes) -> None:
    """Fuzz the answers entry point."""
    relay_ = CallRelay(Path("/nonexistent-calls-dir"), CALLS, ANSWERS, clock=lambda: NOW)
    assert relay_.answer(payload, NOW) is False


@settings(
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    deadline=None,
)
@given(
    st.binary(max_size=400)
    | st.builds(
        lambda d: json.dumps(d).encode(),
        st.dictionaries(
            st.sampled_from(["call_id", "method", "issued_at", "expires_at", "params", "reply_to"]),
            st.none() | st.integers() | st.text(max_size=40),
            max_size=6,
        ),
    )
)
def test_any_call_file_never_raises(tmp_path: Path, payload: bytes) -> None:
    """Fuzz the call-file entry point: whatever the kiosk side wrote, the relay keeps going."""
    call_id = uuid7(NOW)
    path = call_path(tmp_path, call_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    relay_ = relay(tmp_path)
    relay_.scan(NOW)
    relay_.pump(RecordingLink(), 1, "5", NOW)
    assert call_id not in relay_.pending
    assert answer_file(tmp_path, call_id)["reason"] == "invalid_call"
