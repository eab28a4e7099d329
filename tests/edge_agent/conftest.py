"""Edge-agent test helpers: kiosk configs in temp dirs and a validating city-side subscriber."""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from config import KioskConfig, load_config
from edge_agent.contract import validate_batch, validate_event

REPO = Path(__file__).resolve().parents[2]
DEV_KEY = REPO / "config" / "dev-keys" / "city-signing-key.DEV-ONLY.pem"
DEV_PUBLIC_KEY = "uB0xNgf3p8Mu//3HLPsKzxa5T/ic78Fpoy6pRDwuq/g="
PREFIX = "gov-kiosk/v1"
TARGET = "440300/c1/k1"
FAST_AGENT = {
    "heartbeat_interval_s": 3600,
    "reconnect_window_s": 0.3,
    "backoff_initial_s": 0.05,
    "backoff_max_s": 1.0,
    "stable_after_s": 1,
    "inflight_max": 10,
    "batch_max_events": 50,
}


def write_config(
    directory: Path, broker_url: str, *, agent: dict[str, Any] | None = None, **sections: Any
) -> Path:
    """A kiosk YAML file (identity 440300/c1/k1) in `directory`; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {
        "version": 1,
        "development": True,  # the repository's dev city key below
        "identity": {"city": "440300", "centre": "c1", "kiosk": "k1"},
        "mqtt": {"broker_url": broker_url, "topic_prefix": PREFIX, "keepalive_s": 5},
        "agent": {**FAST_AGENT, **(agent or {})},
        "commands": {"city_public_key": DEV_PUBLIC_KEY},
        "paths": {
            "data_dir": str(directory / "data"),
            "catalogue": str(directory / "catalogue.yaml"),
        },
    }
    for key, value in sections.items():
        document[key] = {**document.get(key, {}), **value}
    path = directory / "kiosk.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def make_config(directory: Path, broker_url: str, **kwargs: Any) -> KioskConfig:
    """Load a config written by write_config (no env overrides)."""
    return load_config(write_config(directory, broker_url, **kwargs), env={})


@dataclass
class CitySubscriber:
    """Subscribes to `filters`; validates every payload; keeps events in arrival order."""

    host: str
    port: int
    persistent: bool = False
    filters: tuple[str, ...] = (f"{PREFIX}/#",)
    client_id: str = field(default_factory=lambda: f"city-{uuid.uuid4().hex[:8]}")
    events: list[dict[str, Any]] = field(default_factory=list)
    status: list[dict[str, Any]] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    batches: int = 0
    subscribed: threading.Event = field(default_factory=threading.Event)
    _arrived: queue.Queue[None] = field(default_factory=queue.Queue)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        """Connect (a persistent session, so a broker restart loses nothing) and subscribe."""
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=not self.persistent,
        )
        client.on_connect = lambda c, *_: c.subscribe([(f, 1) for f in self.filters])
        client.on_subscribe = lambda *_: self.subscribed.set()
        client.on_message = self._on_message
        client.reconnect_delay_set(1, 1)
        client.connect(self.host, self.port, keepalive=5)
        client.loop_start()
        self.client = client

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        try:
            payload = json.loads(message.payload)
            if message.topic.endswith("/events"):
                validate_batch(payload)
                with self._lock:
                    self.events.extend(payload["events"])
                    self.batches += 1
            elif message.topic.endswith("/status"):
                validate_event(payload)
                with self._lock:
                    self.status.append(payload)
        except Exception as exc:  # noqa: BLE001 — any bad payload is recorded and fails the test
            self.invalid.append(f"{message.topic}: {exc}")
        self._arrived.put(None)

    def unique(self, event_type: str | None = None) -> dict[str, dict[str, Any]]:
        """First arrival of each event id (optionally of one type), in arrival order."""
        with self._lock:
            events = list(self.events)
        out: dict[str, dict[str, Any]] = {}
        for event in events:
            if event_type is None or event["type"] == event_type:
                out.setdefault(event["id"], event)
        return out

    def wait_for(self, predicate: Any, timeout_s: float = 30.0) -> bool:
        """Block (on arrivals, not sleeps) until predicate() is true or the timeout passes."""
        deadline = time.monotonic() + timeout_s
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with contextlib.suppress(queue.Empty):
                self._arrived.get(timeout=min(remaining, 0.5))
        return True

    def stop(self) -> None:
        """Disconnect."""
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def city(mosquitto: Any) -> Iterator[CitySubscriber]:
    """A validating subscriber on the test broker."""
    subscriber = CitySubscriber(mosquitto.host, mosquitto.port)
    subscriber.start()
    assert subscriber.wait_for(subscriber.client.is_connected, 10)
    yield subscriber
    subscriber.stop()
    assert subscriber.invalid == []
