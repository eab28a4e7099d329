"""The requests store (private, by pseudonym, versioned, bounded, never a phone) and the
`requests.status` call over the kiosk ↔ agent call files, accepted by the agent's relay."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from common.kiosk_agent import calls_dir
from edge_agent.calls import CallRelay
from edge_agent.contract import validate_call
from kiosk.core.resident_requests import CityRequest, StatusCall, StoredRequest
from kiosk.runtime.points_client import PointsClient
from kiosk.runtime.resident_requests import (
    MAX_PER_SUBJECT,
    RequestSchemaError,
    ResidentRequests,
    ask_status,
)
from tests.kiosk_runtime.test_points_client import FakeAgent, ok

SUBJECT = "ab" * 32
OTHER = "cd" * 32
NOW = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
RID = "0193f1c2-7a4b-7c3d-8e5f-0123456789ab"


def request(request_id: str = RID, days_ago: float = 0) -> StoredRequest:
    return StoredRequest(
        request_id, "7K2MQ-9XD3F", "repairs", "5栋", "2单元", "楼道灯坏了",
        NOW - timedelta(days=days_ago),
    )  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ResidentRequests]:
    made = ResidentRequests(tmp_path / "requests.sqlite3", wall_clock=lambda: NOW)
    yield made
    made.close()


def test_kept_by_pseudonym_newest_first(store: ResidentRequests) -> None:
    store.add(SUBJECT, request())
    store.add(SUBJECT, request("0193f1c2-7a4b-7c3d-8e5f-0123456789ac", days_ago=1))
    store.add(SUBJECT, request())  # a repeat of the id: ignored
    mine = store.for_subject(SUBJECT)
    assert [r.request_id for r in mine] == [RID, "0193f1c2-7a4b-7c3d-8e5f-0123456789ac"]
    assert mine[0] == request()
    assert store.for_subject(OTHER) == []
    with pytest.raises(ValueError, match="pseudonym"):
        store.add("11010519491231002X", request())


def test_bounded_per_resident_and_by_retention(tmp_path: Path) -> None:
    now = [NOW]
    store = ResidentRequests(tmp_path / "r.sqlite3", retention_days=30, wall_clock=lambda: now[0])
    for n in range(MAX_PER_SUBJECT + 5):
        store.add(SUBJECT, request(f"0193f1c2-7a4b-7c3d-8e5f-{n:012d}", days_ago=(40 - n) / 10))
    assert len(store.for_subject(SUBJECT)) == MAX_PER_SUBJECT
    now[0] = NOW + timedelta(days=31)
    assert store.purge() == MAX_PER_SUBJECT
    store.close()


def test_the_schema_is_versioned_and_a_stranger_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite3"
    ResidentRequests(path).close()
    columns = [row[1] for row in sqlite3.connect(path).execute("PRAGMA table_info(request)")]
    assert not any("phone" in c or "callback" in c for c in columns)  # nowhere to put one
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE request (x)").connection.commit()
    with pytest.raises(RequestSchemaError):
        ResidentRequests(other)


def _answer(call: dict[str, Any]) -> dict[str, Any]:
    item = {
        "request_id": RID,
        "ticket": "7K2MQ-9XD3F",
        "category": "repairs",
        "state": "assigned",
        "submitted_at": "2026-12-01T08:00:00.000Z",
        "updated_at": "2026-12-02T08:00:00.000Z",
    }
    answer: dict[str, Any] = ok({"requests": [item]})(call)
    return answer


def test_the_status_call_matches_the_contract_and_its_answer_becomes_the_input(
    tmp_path: Path,
) -> None:
    agent = FakeAgent(tmp_path, _answer)
    try:
        answered = ask_status(PointsClient(tmp_path, timeout_s=5), StatusCall("c1", SUBJECT, "k1"))
    finally:
        agent.close()
    (call,) = agent.calls
    validate_call(call)
    assert call["method"] == "requests.status"
    assert call["params"] == {"subject": SUBJECT, "key_id": "k1", "limit": 10}
    assert answered.call_id == "c1"
    assert answered.ok
    (city,) = answered.requests
    assert isinstance(city, CityRequest)
    assert city.state == "assigned"


def test_errors_and_malformed_data_are_reasons(tmp_path: Path) -> None:
    agent = FakeAgent(
        tmp_path,
        lambda call: {
            "call_id": call["call_id"],
            "status": "error",
            "answered_at": call["issued_at"],
            "reason": "unavailable",
        },
    )
    try:
        answered = ask_status(PointsClient(tmp_path, timeout_s=5), StatusCall("c", SUBJECT, "k"))
    finally:
        agent.close()
    assert (answered.ok, answered.reason) == (False, "unavailable")
    agent = FakeAgent(tmp_path, ok({"requests": [{"state": "lost"}]}))
    try:
        answered = ask_status(PointsClient(tmp_path, timeout_s=5), StatusCall("c", SUBJECT, "k"))
    finally:
        agent.close()
    assert (answered.ok, answered.reason) == (False, "invalid_call")


def test_no_agent_is_a_timeout(tmp_path: Path) -> None:
    moments = iter(range(10_000))
    client = PointsClient(
        tmp_path, timeout_s=2, clock=lambda: 1_796_000_000.0 + next(moments) * 0.5,
        sleep=lambda _s: None,
    )  # fmt: skip
    answered = ask_status(client, StatusCall("c", SUBJECT, "k"))
    assert (answered.ok, answered.reason) == (False, "timeout")


def test_the_agents_relay_takes_the_status_call(tmp_path: Path) -> None:
    """edge_agent/calls.py relays requests.status like the points methods (schema-checked)."""
    import threading
    import time

    client = PointsClient(tmp_path, timeout_s=5)
    done: list[Any] = []
    worker = threading.Thread(
        target=lambda: done.append(ask_status(client, StatusCall("c", SUBJECT, "k"))), daemon=True
    )
    worker.start()
    deadline = time.time() + 5
    while not list(calls_dir(tmp_path).glob("*.call.json")) and time.time() < deadline:
        time.sleep(0.01)
    relay = CallRelay(tmp_path, "gov-kiosk/v1/c/x/k/calls", "gov-kiosk/v1/c/x/k/answers", time.time)
    relay.scan(time.time())
    (pending,) = relay.pending.values()
    assert pending.body["method"] == "requests.status"
    call_id = pending.body["call_id"]
    payload = _answer(pending.body)
    import json

    assert relay.answer(json.dumps(payload).encode(), time.time())
    worker.join(timeout=10)
    (answered,) = done
    assert answered.ok
    assert answered.requests[0].request_id == RID
    assert call_id
