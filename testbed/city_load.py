"""A steady QoS 1 MQTT 5 load on Mosquitto for the city's fault scenarios, counting PUBACKs.

Each publisher thread plays `kiosks` simulated kiosks and publishes batches of `events_per_publish`
`test` events, pacing itself to `rate_per_s` events per second with at most MAX_UNACKED PUBLISHes
in flight. It runs until `stop()`, so a scenario can inject its faults while the load lasts.
`pubacked_ids()` is what the city owes: every event in a PUBLISH the broker acknowledged.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from testbed.city_events import KioskSim, batch

MAX_UNACKED = 100
ACK_WAIT_S = 30.0


@dataclass
class _Publisher:
    host: str
    port: int
    sims: list[KioskSim]
    events_per_publish: int
    sent: list[tuple[mqtt.MQTTMessageInfo, list[str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    client: mqtt.Client | None = None

    def connect(self) -> None:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        client.max_inflight_messages_set(MAX_UNACKED)
        client.connect(self.host, self.port, keepalive=30)
        client.loop_start()
        self.client = client

    def unacked(self) -> int:
        with self.lock:
            recent = self.sent[-2 * MAX_UNACKED :]
        return sum(not info.is_published() for info, _ in recent)

    def publish_round(self) -> int:
        assert self.client is not None
        for sim in self.sims:
            events = [sim.test_event() for _ in range(self.events_per_publish)]
            info = self.client.publish(sim.topic(), batch(*events), qos=1)
            with self.lock:
                self.sent.append((info, [e["id"] for e in events]))
        return len(self.sims) * self.events_per_publish

    def ids(self, *, acked: bool) -> set[str]:
        with self.lock:
            sent = list(self.sent)
        return {i for info, ids in sent if info.is_published() or not acked for i in ids}

    def close(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()


class SteadyLoad:
    """`publishers` threads x `kiosks` kiosks, about `rate_per_s` events/s in all, until stop()."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        rate_per_s: float = 2000.0,
        publishers: int = 2,
        kiosks: int = 10,
        events_per_publish: int = 10,
    ) -> None:
        self.rate_per_publisher = rate_per_s / publishers
        self.publishers = [
            _Publisher(
                host,
                port,
                [KioskSim(kiosk=f"p{p}k{k:02d}") for k in range(kiosks)],
                events_per_publish,
            )
            for p in range(publishers)
        ]
        self.stopping = threading.Event()
        self.errors: list[BaseException] = []
        self.threads: list[threading.Thread] = []
        self.started_at = 0.0
        self.publish_s = 0.0

    def start(self) -> None:
        """Connect every publisher and start publishing."""
        for publisher in self.publishers:
            publisher.connect()
        self.started_at = time.monotonic()
        self.threads = [threading.Thread(target=self._run, args=(p,)) for p in self.publishers]
        for thread in self.threads:
            thread.start()

    def _run(self, publisher: _Publisher) -> None:
        published = 0
        try:
            while not self.stopping.is_set():
                while publisher.unacked() >= MAX_UNACKED and not self.stopping.is_set():
                    time.sleep(0.005)
                published += publisher.publish_round()
                ahead = published / self.rate_per_publisher - (time.monotonic() - self.started_at)
                if ahead > 0:
                    time.sleep(ahead)
        except BaseException as exc:  # noqa: BLE001 - reported by the scenario
            self.errors.append(exc)

    def pubacked(self) -> int:
        """Events in PUBLISHes the broker acknowledged so far."""
        return sum(len(p.ids(acked=True)) for p in self.publishers)

    def wait_pubacked(self, count: int, timeout_s: float) -> bool:
        """Until at least `count` events are PUBACKed (False after the timeout)."""
        deadline = time.monotonic() + timeout_s
        while self.pubacked() < count:
            if time.monotonic() > deadline or self.errors:
                return False
            time.sleep(0.05)
        return True

    def running(self) -> bool:
        """Whether the load is still being published."""
        return any(t.is_alive() for t in self.threads)

    def stop(self) -> tuple[set[str], set[str]]:
        """Stop publishing, wait for outstanding PUBACKs; (published ids, PUBACKed ids)."""
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)
        self.publish_s = time.monotonic() - self.started_at
        deadline = time.monotonic() + ACK_WAIT_S
        while any(p.unacked() for p in self.publishers) and time.monotonic() < deadline:
            time.sleep(0.05)
        offered: set[str] = set()
        acked: set[str] = set()
        for publisher in self.publishers:
            offered |= publisher.ids(acked=False)
            acked |= publisher.ids(acked=True)
            publisher.close()
        return offered, acked
