"""A RabbitMQ node SIGKILLed under MQTT 3.1.1 QoS 1 load: for the test and `make chaos`."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pika
import psycopg
import yaml

from testbed.city_events import KioskSim
from testbed.city_workers import MqttKiosks, WorkerProcess
from testbed.rabbitmq import RabbitCluster

QUEUE = "city.ingest"
KIOSKS_PER_PUBLISHER = 10
EVENTS_PER_PUBLISH = 10
PUBLISHER_NODES = (2, 3)  # node 1 leads the queue and is the one killed
DUPLICATES = re.compile(r"stored \d+ events \((\d+) duplicates")


def fresh_queue(cluster: RabbitCluster) -> None:
    """Delete what an earlier run left, so node 1's worker declares the queue (and leads it)."""
    connection = pika.BlockingConnection(pika.URLParameters(cluster.node(1).amqp_url))
    try:
        connection.channel().queue_delete(QUEUE)
    finally:
        connection.close()


def amqp_workers(
    workdir: Path, db_url: str, cluster: RabbitCluster, contract_dir: Path, count: int = 2
) -> list[WorkerProcess]:
    """`count` AMQP ingest workers, not started; worker i starts on node i+1."""
    config = workdir / "city.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database": {"url": db_url},
                "broker": {"kind": "amqp", "amqp_urls": cluster.amqp_urls, "queue": QUEUE},
                "ingest": {"batch_max_events": 500, "batch_max_delay_ms": 20, "prefetch": 200},
                "contract_dir": str(contract_dir),
                "alerts": {"sweep_interval_s": 0.5},
            }
        )
    )
    return [
        WorkerProcess(config, workdir / f"worker-{i}.log", worker_id=str(i), ready="consuming: ")
        for i in range(count)
    ]


@dataclass
class KillOutcome:
    """What the publishers saw around the kill."""

    offered: set[str] = field(default_factory=set)
    pubacked: set[str] = field(default_factory=set)
    acked_at_kill: int = 0
    killed_under_load: bool = False
    errors: list[BaseException] = field(default_factory=list)
    publish_s: float = 0.0


def kill_under_load(cluster: RabbitCluster, rounds: int, kill_node: int = 1) -> KillOutcome:
    """Publish rounds x 10 kiosks x 10 events from each publisher; SIGKILL a node at a third."""
    publishers = [
        MqttKiosks(cluster.node(n), [KioskSim(kiosk=f"n{n}k{i}") for i in range(10)])
        for n in PUBLISHER_NODES
    ]
    outcome = KillOutcome()

    def load(kiosks: MqttKiosks) -> None:
        try:
            kiosks.connect()
            for _ in range(rounds):
                kiosks.publish_round()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller in the outcome
            outcome.errors.append(exc)

    total = len(publishers) * rounds * KIOSKS_PER_PUBLISHER * EVENTS_PER_PUBLISH
    started = time.monotonic()
    threads = [threading.Thread(target=load, args=(p,)) for p in publishers]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while sum(len(p.acked_ids()) for p in publishers) < total // 3 and not outcome.errors:
        if time.monotonic() > deadline:
            outcome.errors.append(TimeoutError("the load did not get going"))
            break
        time.sleep(0.05)
    cluster.kill(kill_node)
    outcome.acked_at_kill = sum(len(p.acked_ids()) for p in publishers)
    outcome.killed_under_load = any(t.is_alive() for t in threads)
    for thread in threads:
        thread.join(timeout=120)
    ack_deadline = time.monotonic() + 30
    while time.monotonic() < ack_deadline:
        outcome.pubacked = set().union(*(p.acked_ids() for p in publishers))
        if len(outcome.pubacked) == total:
            break
        time.sleep(0.2)
    outcome.publish_s = time.monotonic() - started
    for publisher in publishers:
        publisher.close()
    outcome.offered = set().union(*(p.offered_ids() for p in publishers))
    return outcome


def stored_ids(db_url: str) -> list[str]:
    """Every row's id in `events` (a list: a duplicate row would show twice)."""
    with psycopg.connect(db_url) as conn:
        return [r[0] for r in conn.execute("SELECT id::text FROM events")]


def redelivered(workers: list[WorkerProcess]) -> int:
    """Copies the workers received again and the primary key absorbed (their console lines)."""
    return sum(int(n) for w in workers for n in DUPLICATES.findall(w.output))
