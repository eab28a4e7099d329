"""Events built to the contract decisions (stream, connection), for the city's tests."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from city.config import DEFAULT_CONTRACT_DIR

T0 = datetime(2026, 12, 3, 2, 0, 0, tzinfo=UTC)
ROOT = "gov-kiosk/v1"


def uuid7() -> str:
    """A UUIDv7 (RFC 9562), as every id the kiosk mints is (contract decision 6)."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10))  # 80 random bits: 12 for rand_a, 62 for rand_b
    value = (
        (ms & (2**48 - 1)) << 80
        | 0x7 << 76
        | (rand >> 62 & 0xFFF) << 64
        | 0b10 << 62
        | (rand & (2**62 - 1))
    )
    return str(uuid.UUID(int=value))


def schema_version(event_type: str) -> int:
    """The `schema` const the contract gives this type (it bumps, e.g. heartbeat)."""
    path = DEFAULT_CONTRACT_DIR / f"{event_type}.schema.json"
    const: int = json.loads(path.read_text())["properties"]["schema"]["const"]
    return const


def ts(moment: datetime) -> str:
    """Contract timestamp text."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def heartbeat_data(**overrides: Any) -> dict[str, Any]:
    """A valid heartbeat `data`."""
    data: dict[str, Any] = {
        "outbox_depth": 0,
        "oldest_unsent_age_s": None,
        "free_disk_mb": 20_000.0,
        "devices": {"idcard": "ok", "bp": "ok"},
        "clock": {"synchronised": True, "offset_ms": None},
        "versions": {"agent": "0.1.0", "catalogue": "2026.11"},
        "uptime_s": 10.0,
    }
    data.update(overrides)
    return data


@dataclass
class KioskSim:
    """One kiosk's identity, boot and counters: builds its events and topics."""

    city: str = "440300"
    centre: str = "futian-xmh"
    kiosk: str = "k01"
    boot_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    main_seq: int = 0
    heartbeat_seq: int = 0
    connection: int = 0
    clock: datetime = T0

    @property
    def full_id(self) -> str:
        """CITY/CENTRE/KIOSK."""
        return f"{self.city}/{self.centre}/{self.kiosk}"

    def topic(self, channel: str = "events") -> str:
        """This kiosk's topic for `channel`."""
        return f"{ROOT}/{self.full_id}/{channel}"

    def event(self, event_type: str, data: dict[str, Any], **overrides: Any) -> dict[str, Any]:
        """The next event of `event_type` on its stream."""
        self.clock += timedelta(milliseconds=100)
        if event_type == "heartbeat":
            self.heartbeat_seq += 1
            stream, seq = "heartbeat", self.heartbeat_seq
        else:
            self.main_seq += 1
            stream, seq = "main", self.main_seq
        event = {
            "id": uuid7(),
            "type": event_type,
            "schema": schema_version(event_type),
            "city": self.city,
            "centre": self.centre,
            "kiosk": self.kiosk,
            "ts": ts(self.clock),
            "boot_id": self.boot_id,
            "stream": stream,
            "seq": seq,
            "data": data,
        }
        event.update(overrides)
        return event

    def test_event(self) -> dict[str, Any]:
        """A commissioning `test` event."""
        return self.event("test", {"note": "hello"})

    def heartbeat(self, **data: Any) -> dict[str, Any]:
        """A heartbeat (stream 'heartbeat')."""
        return self.event("heartbeat", heartbeat_data(**data))

    def presence(self, state: str, *, connection: int | None = None) -> dict[str, Any]:
        """agent.online / agent.offline carrying `connection` and the highest main seq."""
        if connection is None:
            self.connection += 1
            connection = self.connection
        if state == "online":
            data: dict[str, Any] = {
                "state": "online",
                "agent_version": "0.1.0",
                "started_at": ts(self.clock),
                "connection": connection,
            }
        else:
            data = {"state": "offline", "reason": "connection_lost", "connection": connection}
        self.clock += timedelta(milliseconds=100)
        return {
            "id": uuid7(),
            "type": f"agent.{state}",
            "schema": schema_version(f"agent.{state}"),
            "city": self.city,
            "centre": self.centre,
            "kiosk": self.kiosk,
            "ts": ts(self.clock),
            "boot_id": self.boot_id,
            "stream": "main",
            "seq": max(1, self.main_seq),
            "data": data,
        }


def batch(*events: dict[str, Any]) -> bytes:
    """An events-topic payload."""
    return json.dumps({"events": list(events)}).encode()
