"""Presence order (contract decision 3) and UUIDv7 status ids (decision 6) on a real broker."""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from edge_agent import presence
from edge_agent.contract import Identity, validate_event
from tests.edge_agent.conftest import REPO, CitySubscriber, write_config
from tests.edge_agent.test_agent_broker import AGENT_ENV
from tests.fixtures.broker import MosquittoBroker

IDENTITY = Identity("440300", "c1", "k1")
BOOT = "7a1f5a0e-5b7c-4c8e-9d3a-2f6c1b0e4d11"
NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
WAIT_S = 30.0


def city_presence(messages: list[dict[str, Any]]) -> str:
    """The city's rule: highest connection wins; at equal connection offline beats online."""
    best = max(messages, key=lambda m: (m["data"]["connection"], m["type"] == "agent.offline"))
    return str(best["data"]["state"])


def test_status_messages_carry_the_connection_and_a_uuid7_id() -> None:
    """Birth and Will of connect N both carry connection N; their ids are UUIDv7 (item 20)."""
    birth = presence.birth(
        IDENTITY, boot_id=BOOT, last_seq=0, connection=7, started_at=NOW, now=NOW
    )
    will = presence.offline(
        IDENTITY, boot_id=BOOT, last_seq=0, connection=7, reason="connection_lost", now=NOW
    )
    for event in (birth, will):
        validate_event(event)
        assert event["data"]["connection"] == 7
        assert (event["stream"], event["seq"]) == ("main", 1)
        assert uuid.UUID(event["id"]).version == 7
    assert city_presence([will, birth]) == "offline"


def _agent(path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "edge_agent", "run", "--config", str(path)],
        cwd=REPO,
        env=AGENT_ENV,
        stderr=subprocess.DEVNULL,
    )


def _wait_status(city: CitySubscriber, count: int) -> list[dict[str, Any]]:
    assert city.wait_for(lambda: len(city.status) >= count, WAIT_S), city.status
    return list(city.status)


@pytest.mark.broker
def test_a_crashed_kiosk_is_offline_by_the_rule_whatever_the_arrival_order(
    tmp_path: Path, mosquitto: MosquittoBroker, city: CitySubscriber
) -> None:
    """SIGKILL: the Will (earlier ts than the birth) still wins; a restart wins over the Will."""
    path = write_config(tmp_path / "kiosk", mosquitto.url)
    agent = _agent(path)
    try:
        first_birth = _wait_status(city, 1)[0]
        agent.send_signal(signal.SIGKILL)
        agent.wait(timeout=10)
        will = _wait_status(city, 2)[1]
        assert (will["type"], will["data"]["reason"]) == ("agent.offline", "connection_lost")
        assert will["data"]["connection"] == first_birth["data"]["connection"]
        assert will["ts"] <= first_birth["ts"]  # registered at connect: ts cannot order them
        assert city_presence([first_birth, will]) == "offline"
        agent = _agent(path)
        second_birth = _wait_status(city, 3)[2]
        assert second_birth["data"]["connection"] > will["data"]["connection"]
        assert second_birth["boot_id"] == first_birth["boot_id"]  # same kernel boot, same outbox
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=10)
    shutdown = _wait_status(city, 4)[3]
    assert (shutdown["type"], shutdown["data"]["reason"]) == ("agent.offline", "shutdown")
    assert shutdown["data"]["connection"] == second_birth["data"]["connection"]
    seen = [first_birth, will, second_birth]
    for arrival in itertools.permutations(seen):
        assert city_presence(list(arrival)) == "online"
    for arrival in itertools.permutations([*seen, shutdown]):
        assert city_presence(list(arrival)) == "offline"
