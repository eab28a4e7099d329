"""Lifecycle messages on the retained per-kiosk status topic (Sparkplug/Homie style).

Birth (`agent.online`) on every connect; the Will (`agent.offline`, reason connection_lost)
is left with the broker at connect time; a clean shutdown publishes `agent.offline` itself.
Status messages do not take a number from the event sequence (that would look like lost
events): their `seq` is the highest `main` seq of this boot so far, so the city knows how many
events to expect. Their order is `data.connection` (docs/contract/README.md "Presence"): the
Will registered at connect N and the birth after connect N both carry N, and at equal N the
offline message wins, so a crashed kiosk never stays online by an earlier ts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from edge_agent.contract import Event, Identity, format_ts, new_event
from edge_agent.outbox import encode

AGENT_VERSION = "0.1.0"


def birth(
    identity: Identity,
    *,
    boot_id: str,
    last_seq: int,
    connection: int,
    started_at: datetime,
    now: datetime,
    config_version: str | None = None,
) -> Event:
    """The agent.online event published (retained) after the CONNACK of connect `connection`."""
    data = {
        "state": "online",
        "agent_version": AGENT_VERSION,
        "started_at": format_ts(started_at),
        "config_version": config_version,
        "connection": connection,
    }
    return new_event(
        "agent.online", data, identity=identity, boot_id=boot_id, seq=max(1, last_seq), now=now
    )


def offline(
    identity: Identity,
    *,
    boot_id: str,
    last_seq: int,
    connection: int,
    reason: Literal["connection_lost", "shutdown"],
    now: datetime | None = None,
) -> Event:
    """The agent.offline event of connect `connection`: its Will or a clean shutdown."""
    return new_event(
        "agent.offline",
        {"state": "offline", "reason": reason, "connection": connection},
        identity=identity,
        boot_id=boot_id,
        seq=max(1, last_seq),
        now=now or datetime.now(UTC),
    )


def status_payload(event: Event) -> bytes:
    """A status-topic payload: one event object (not a batch)."""
    return encode(event)
