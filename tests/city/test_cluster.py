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

from config import load_config
from edge_agent.agent import Agent
from testbed import city_cluster
from testbed.city_cluster import QUEUE, fresh_queue, kill_under_load, stored_ids
from testbed.city_workers import WorkerProcess, wait_for
from tests.edge_agent.conftest import write_config
from tests.fixtures.rabbitmq import RabbitCluster

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def amqp_workers(
    tmp_path: Path, city_db: str, rabbit_cluster: RabbitCluster, contract_dir: Path
) -> Iterator[list[WorkerProcess]]:
    """Two AMQP ingest workers: worker 0 starts on node 1, worker 1 on node 2."""
    fresh_queue(rabbit_cluster)
    workers = city_cluster.amqp_workers(tmp_path, city_db, rabbit_cluster, contract_dir)
    try:
        for worker in workers:
            worker.start(timeout_s=60)
        yield workers
    finally:
        for worker in workers:
            worker.stop()


@pytest.mark.timeout(300)  # includes the session cluster's start: 27-57 s, by load
def test_the_kiosk_agent_reaches_the_cluster_with_mqtt_311(
    tmp_path: Path,
    rabbit_cluster: RabbitCluster,
    city_db: str,
    amqp_workers: list[WorkerProcess],
) -> None:
    """The real agent with `mqtt.protocol: "3.1.1"` on node 2: every event and its birth land.

    Pinned, not `auto`: RabbitMQ 3.10 answers an MQTT 5 CONNECT in a way the agent's fallback
    does not recognise (it reports "Unspecified error" and keeps retrying in 5).
    """
    node = rabbit_cluster.node(2)
    url = f"mqtt://127.0.0.1:{node.mqtt_port}"
    path = write_config(tmp_path / "kiosk", url, mqtt={"protocol": "3.1.1"})
    agent = Agent(load_config(path, env={}), poll_s=0.01)
    try:
        ids = [agent.outbox.put("test", {"index": i})["id"] for i in range(200)]
        deadline = time.monotonic() + 60
        while agent.outbox.depth() > 0:
            assert time.monotonic() < deadline, "the agent did not drain its outbox"
            agent.step()
    finally:
        agent.shutdown()
    sql = f"SELECT count(*) FROM events WHERE id::text IN ({', '.join(repr(i) for i in ids)})"
    assert wait_for(city_db, sql, len(ids), timeout_s=30) == len(ids)
    births = "SELECT count(*) FROM events WHERE kiosk = '440300/c1/k1' AND type = 'agent.online'"
    assert wait_for(city_db, births, 1, timeout_s=30) == 1  # its presence came through too


@pytest.mark.timeout(300)  # includes the session cluster's start: 27-57 s, by load
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
