"""The ingest on a real 3-node RabbitMQ cluster: a node killed under load loses no PUBACKed event.

Kiosks publish MQTT 3.1.1 QoS 1 to the MQTT plugin of nodes 2 and 3 (the plugin speaks 3.1.1
only, docs/design.md §5); two `python -m city ingest` workers with `broker.kind: amqp` consume
the quorum queue as competing consumers, one through node 1 (the queue's leader, which is
killed) and one through node 2.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.city import cluster_load
from tests.city.builders import KioskSim
from tests.city.cluster_load import QUEUE, fresh_queue, kill_under_load, stored_ids
from tests.city.workers import MqttKiosks, WorkerProcess, wait_for
from tests.fixtures.rabbitmq import RabbitCluster

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def amqp_workers(
    tmp_path: Path, city_db: str, rabbit_cluster: RabbitCluster, contract_dir: Path
) -> Iterator[list[WorkerProcess]]:
    """Two AMQP ingest workers: worker 0 starts on node 1, worker 1 on node 2."""
    fresh_queue(rabbit_cluster)
    workers = cluster_load.amqp_workers(tmp_path, city_db, rabbit_cluster, contract_dir)
    try:
        for worker in workers:
            worker.start(timeout_s=60)
        yield workers
    finally:
        for worker in workers:
            worker.stop()


@pytest.mark.timeout(300)  # includes the session cluster's start: 36-57 s on a loaded machine
def test_a_consumer_the_broker_cancels_starts_over(
    rabbit_cluster: RabbitCluster, city_db: str, amqp_workers: list[WorkerProcess]
) -> None:
    """The queue deleted under the workers: each re-declares it, consumes again and stores."""
    fresh_queue(rabbit_cluster)
    deadline = time.monotonic() + 60
    while not all(w.output.count("consuming: ") >= 2 for w in amqp_workers):
        assert time.monotonic() < deadline, [w.output[-1500:] for w in amqp_workers]
        time.sleep(0.1)
    kiosks = MqttKiosks(rabbit_cluster.node(3), [KioskSim(kiosk="cancelled")])
    kiosks.connect()
    try:
        kiosks.publish_round()
        while len(kiosks.acked_ids()) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        kiosks.close()
    assert wait_for(city_db, "SELECT count(*) FROM events", 10, timeout_s=30) == 10
    assert all(w.process is not None and w.process.poll() is None for w in amqp_workers)


@pytest.mark.timeout(300)  # includes the session cluster's start: 36-57 s on a loaded machine
def test_node_killed_under_load_loses_no_pubacked_event(
    rabbit_cluster: RabbitCluster, city_db: str, amqp_workers: list[WorkerProcess]
) -> None:
    """SIGKILL of the queue leader mid-load: every PUBACKed event is stored once, workers live."""
    assert rabbit_cluster.queue_leader(QUEUE) == rabbit_cluster.node(1).name
    rounds = 70  # 2 publishers x 70 rounds x 10 kiosks x 10 events = 14,000 events
    total = 2 * rounds * 10 * 10
    outcome = kill_under_load(rabbit_cluster, rounds)
    assert not outcome.errors, outcome.errors
    assert outcome.killed_under_load
    assert outcome.acked_at_kill <= total * 2 // 3  # at least a third of the load came after it
    assert len(outcome.offered) == total
    assert len(outcome.pubacked) == total  # the surviving nodes acknowledged every publish
    wait_for(city_db, "SELECT count(*) FROM events", total, timeout_s=60)
    stored = stored_ids(city_db)
    with psycopg.connect(city_db) as conn:
        (quarantined,) = conn.execute("SELECT count(*) FROM quarantine").fetchone() or (0,)
    assert outcome.pubacked - set(stored) == set()  # 0 PUBACKed-but-lost
    assert len(stored) == len(set(stored)) == total  # 0 duplicate rows
    assert quarantined == 0
    for worker in amqp_workers:
        assert worker.process is not None
        assert worker.process.poll() is None, worker.output[-2000:]
    assert "lost node 1" in amqp_workers[0].output
