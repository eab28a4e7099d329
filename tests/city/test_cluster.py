"""The ingest on a real 3-node RabbitMQ cluster: a node killed under load loses no PUBACKed event.

Kiosks publish MQTT 3.1.1 QoS 1 to the MQTT plugin of nodes 2 and 3 (the plugin speaks 3.1.1
only, docs/design.md §5); two `python -m city ingest` workers with `broker.kind: amqp` consume
the quorum queue as competing consumers, one through node 1 (the queue's leader, which is
killed) and one through node 2.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import pika
import psycopg
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from city.amqp_worker import binding_keys, routing_key_to_topic
from tests.city.builders import KioskSim, batch
from tests.city.workers import WorkerProcess, wait_for
from tests.fixtures.rabbitmq import RabbitCluster, RabbitNode

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres, pytest.mark.slow]

QUEUE = "city.ingest"
MAX_UNACKED = 100  # PUBLISHes in flight per publisher: load, not an unbounded local queue


@dataclass
class MqttKiosks:
    """Simulated kiosks publishing batches with QoS 1 over MQTT 3.1.1 to one node."""

    node: RabbitNode
    sims: list[KioskSim]
    sent: list[tuple[mqtt.MQTTMessageInfo, list[str]]] = field(default_factory=list)
    client: mqtt.Client | None = None

    def connect(self) -> None:
        """Connect (3.1.1, clean session) and start paho's network thread."""
        client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        client.max_inflight_messages_set(MAX_UNACKED)
        client.connect("127.0.0.1", self.node.mqtt_port, keepalive=30)
        client.loop_start()
        self.client = client

    def unacked(self) -> int:
        """PUBLISHes sent whose PUBACK has not come yet."""
        return sum(not info.is_published() for info, _ in self.sent[-2 * MAX_UNACKED :])

    def publish_round(self) -> None:
        """One batch of 10 events from every kiosk, waiting while too many are in flight."""
        assert self.client is not None
        for sim in self.sims:
            events = [sim.test_event() for _ in range(10)]
            info = self.client.publish(sim.topic(), batch(*events), qos=1)
            self.sent.append((info, [e["id"] for e in events]))
            while self.unacked() >= MAX_UNACKED:
                time.sleep(0.005)

    def acked_ids(self) -> set[str]:
        """Every event id whose PUBLISH the broker acknowledged."""
        return {i for info, ids in self.sent if info.is_published() for i in ids}

    def offered_ids(self) -> set[str]:
        """Every event id published."""
        return {i for _, ids in self.sent for i in ids}

    def close(self) -> None:
        """Disconnect."""
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()


def _fresh_queue(cluster: RabbitCluster) -> None:
    """Delete what an earlier test left, so node 1's worker declares it (and leads it)."""
    connection = pika.BlockingConnection(pika.URLParameters(cluster.node(1).amqp_url))
    try:
        connection.channel().queue_delete(QUEUE)
    finally:
        connection.close()


@pytest.fixture
def amqp_workers(
    tmp_path: Path, city_db: str, rabbit_cluster: RabbitCluster, contract_dir: Path
) -> Iterator[list[WorkerProcess]]:
    """Two AMQP ingest workers: worker 0 starts on node 1, worker 1 on node 2."""
    _fresh_queue(rabbit_cluster)
    config = tmp_path / "city.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database": {"url": city_db},
                "broker": {"kind": "amqp", "amqp_urls": rabbit_cluster.amqp_urls, "queue": QUEUE},
                "ingest": {"batch_max_events": 500, "batch_max_delay_ms": 20, "prefetch": 200},
                "contract_dir": str(contract_dir),
                "alerts": {"sweep_interval_s": 0.5},
            }
        )
    )
    workers = [
        WorkerProcess(config, tmp_path / f"worker-{i}.log", worker_id=str(i), ready="consuming: ")
        for i in range(2)
    ]
    try:
        for worker in workers:
            worker.start(timeout_s=60)
        yield workers
    finally:
        for worker in workers:
            worker.stop()


def test_routing_keys_translate_back_to_the_kiosk_topics() -> None:
    """RabbitMQ's `/`↔`.` swap is undone, and the bindings cover events and status only."""
    assert routing_key_to_topic("gov-kiosk.v1.440300.c1.k1.events") == (
        "gov-kiosk/v1/440300/c1/k1/events"
    )
    assert routing_key_to_topic("a.b/c") == "a/b.c"
    assert binding_keys("gov-kiosk/v1") == [
        "gov-kiosk.v1.*.*.*.events",
        "gov-kiosk.v1.*.*.*.status",
    ]


def test_node_killed_under_load_loses_no_pubacked_event(
    rabbit_cluster: RabbitCluster, city_db: str, amqp_workers: list[WorkerProcess]
) -> None:
    """SIGKILL of the queue leader mid-load: every PUBACKed event is stored once, workers live."""
    assert rabbit_cluster.queue_leader(QUEUE) == rabbit_cluster.node(1).name
    publishers = [
        MqttKiosks(rabbit_cluster.node(n), [KioskSim(kiosk=f"n{n}k{i}") for i in range(10)])
        for n in (2, 3)
    ]
    rounds = 70  # 2 publishers x 70 rounds x 10 kiosks x 10 events = 14,000 events
    errors: list[BaseException] = []

    def load(kiosks: MqttKiosks) -> None:
        try:
            kiosks.connect()
            for _ in range(rounds):
                kiosks.publish_round()
        except BaseException as exc:  # noqa: BLE001 - re-raised by the test thread's assert
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(p,)) for p in publishers]
    for thread in threads:
        thread.start()
    total = 2 * rounds * 10 * 10
    deadline = time.monotonic() + 60
    while sum(len(p.acked_ids()) for p in publishers) < total // 3:
        assert time.monotonic() < deadline, "the load did not get going"
        time.sleep(0.05)
    rabbit_cluster.kill(1)
    acked_at_kill = sum(len(p.acked_ids()) for p in publishers)
    killed_under_load = any(t.is_alive() for t in threads)
    for thread in threads:
        thread.join(timeout=90)
    assert not errors, errors
    assert killed_under_load
    assert acked_at_kill <= total * 2 // 3  # at least a third of the load came after the kill
    pubacked: set[str] = set()
    ack_deadline = time.monotonic() + 30
    while time.monotonic() < ack_deadline:
        pubacked = set().union(*(p.acked_ids() for p in publishers))
        if len(pubacked) == total:
            break
        time.sleep(0.2)
    for publisher in publishers:
        publisher.close()
    offered = set().union(*(p.offered_ids() for p in publishers))
    assert len(offered) == total
    assert len(pubacked) == total  # the surviving nodes acknowledged every publish
    wait_for(city_db, "SELECT count(*) FROM events", len(pubacked), timeout_s=60)
    with psycopg.connect(city_db) as conn:
        stored = [r[0] for r in conn.execute("SELECT id::text FROM events")]
        (quarantined,) = conn.execute("SELECT count(*) FROM quarantine").fetchone() or (0,)
    assert pubacked - set(stored) == set()  # 0 PUBACKed-but-lost
    assert len(stored) == len(set(stored)) == total  # 0 duplicate rows
    assert quarantined == 0
    for worker in amqp_workers:
        assert worker.process is not None
        assert worker.process.poll() is None, worker.output[-2000:]
    assert "lost node 1" in amqp_workers[0].output
