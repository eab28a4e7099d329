"""The city side of a chaos run: a persistent MQTT subscriber that de-duplicates by event id.

It keeps, per event id, the first arrival time and a digest of the event, so that a duplicate
can be told apart from a *different* event carrying the same (kiosk, boot_id, stream, seq) or
the same id with other content - both are bugs the suite must catch, while same-id repeats are
allowed.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

PREFIX = "gov-kiosk/v1"
KEEPALIVE_S = 5


def _digest(event: dict[str, Any]) -> bytes:
    return hashlib.blake2b(
        json.dumps(event, sort_keys=True, separators=(",", ":")).encode("utf-8"), digest_size=16
    ).digest()


@dataclass
class City:
    """Subscribes to PREFIX/#; a persistent session, so a broker restart loses nothing."""

    host: str
    port: int
    client_id: str = field(default_factory=lambda: f"city-{uuid.uuid4().hex[:8]}")
    first_seen: dict[str, float] = field(default_factory=dict)
    digests: dict[str, bytes] = field(default_factory=dict)
    by_seq: dict[tuple[str, str, str, int], str] = field(default_factory=dict)
    arrivals: int = 0
    copies: Counter[str] = field(default_factory=Counter)
    conflicts: list[str] = field(default_factory=list)
    births: list[tuple[str, float]] = field(default_factory=list)
    types: Counter[str] = field(default_factory=Counter)
    invalid: int = 0
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _client: mqtt.Client | None = None

    def start(self, timeout_s: float = 10.0) -> None:
        """Connect, subscribe and wait for the subscription to be in place."""
        subscribed = threading.Event()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=False
        )
        client.on_connect = lambda c, *_: c.subscribe(f"{PREFIX}/#", qos=1)
        client.on_subscribe = lambda *_: subscribed.set()
        client.on_message = self._on_message
        client.reconnect_delay_set(1, 1)
        client.connect(self.host, self.port, keepalive=KEEPALIVE_S)
        client.loop_start()
        self._client = client
        if not subscribed.wait(timeout_s):
            raise RuntimeError("the city subscriber could not subscribe")

    def stop(self) -> None:
        """Disconnect."""
        if self._client is not None:
            self._client.loop_stop()
            self._client.disconnect()
            self._client = None

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        now = time.monotonic()
        try:
            payload = json.loads(message.payload)
        except ValueError:
            with self._cond:
                self.invalid += 1
            return
        with self._cond:
            if message.topic.endswith("/events") and isinstance(payload, dict):
                for event in payload.get("events", []):
                    self._record(event, now)
            elif (
                message.topic.endswith("/status")
                and isinstance(payload, dict)
                and payload.get("type") == "agent.online"
            ):
                self.births.append((str(payload.get("kiosk")), now))
            self._cond.notify_all()

    def _record(self, event: dict[str, Any], now: float) -> None:
        self.arrivals += 1
        event_id = str(event.get("id"))
        self.copies[event_id] += 1
        digest = _digest(event)
        known = self.digests.get(event_id)
        if known is None:
            self.digests[event_id] = digest
            self.first_seen[event_id] = now
            self.types[str(event.get("type"))] += 1
            key = (
                str(event.get("kiosk")),
                str(event.get("boot_id")),
                str(event.get("stream")),
                int(event.get("seq", 0)),
            )
            other = self.by_seq.setdefault(key, event_id)
            if other != event_id:
                self.conflicts.append(f"{key[2]} seq {key[3]} of {key[0]} under two ids")
        elif known != digest:
            self.conflicts.append(f"id {event_id[:8]}… arrived with different content")

    def wait_for(self, ids: set[str], timeout_s: float) -> bool:
        """Block on arrivals until every id in `ids` has arrived, or the timeout passes."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not ids <= self.first_seen.keys():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.5))
        return True

    def wait_until(self, predicate: Any, timeout_s: float) -> bool:
        """Block on arrivals until predicate() (called under the lock) holds."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.5))
        return True

    def seen(self, ids: set[str]) -> int:
        """How many of `ids` have arrived."""
        with self._cond:
            return len(ids & self.first_seen.keys())

    def duplicates(self, ids: set[str] | None = None) -> int:
        """Extra arrivals of the same id (of `ids`, or of everything)."""
        with self._cond:
            if ids is None:
                return sum(n - 1 for n in self.copies.values())
            return sum(self.copies[i] - 1 for i in ids if self.copies.get(i, 0) > 1)

    def arrival_times(self) -> dict[str, float]:
        """First arrival (monotonic) per event id, a copy."""
        with self._cond:
            return dict(self.first_seen)

    def births_after(self, moment: float) -> list[tuple[str, float]]:
        """agent.online messages that arrived after `moment` (monotonic)."""
        with self._cond:
            return [b for b in self.births if b[1] > moment]

    def type_count(self, event_type: str) -> int:
        """Unique events of one type so far."""
        with self._cond:
            return self.types[event_type]
