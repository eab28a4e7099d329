"""One node of a 3-node RabbitMQ cluster SIGKILLed under load: PUBACKed events vs rows stored.

The city ingest (`broker.kind: amqp`, two workers) consumes the quorum queue while paho MQTT
3.1.1 clients publish QoS 1 batches to nodes 2 and 3; node 1, the queue's leader, is killed a
third of the way in (docs/design.md §5). `offered` counts PUBACKed events, `delivered` the ones
with a row in `events`, `duplicated` the redelivered copies the primary key absorbed. Recovery is
the killed node's restart until the cluster has three running members again.
"""

from __future__ import annotations

import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from chaos.report import Result
from city.config import DEFAULT_CONTRACT_DIR
from city.db import migrate
from testbed import city_cluster
from testbed.city_workers import WorkerProcess, wait_for
from testbed.postgres import PostgresServer
from testbed.rabbitmq import RabbitCluster, RabbitNode

STORE_TIMEOUT_S = 120.0


def mqtt5_refused(node: RabbitNode) -> bool:
    """Whether the node's MQTT listener refuses an MQTT 5 CONNECT (the agent's protocol today)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    outcome: list[bool] = []
    client.on_connect = lambda _c, _u, _f, reason, _p: outcome.append(reason.is_failure)
    client.on_disconnect = lambda *_args: outcome.append(True)
    try:
        client.connect("127.0.0.1", node.mqtt_port, keepalive=10)
    except OSError:
        return True
    deadline = time.monotonic() + 10
    while not outcome and time.monotonic() < deadline:
        client.loop(timeout=0.2)
    client.disconnect()
    return not outcome or outcome[0]


def node_kill(workdir: Path, quick: bool) -> Result:
    """SIGKILL the quorum queue's leader node mid-load; count PUBACKed vs stored, then rejoin."""
    result = Result("cluster_node_kill")
    cluster = RabbitCluster(root=workdir / "rabbitmq")
    server = PostgresServer()
    workers: list[WorkerProcess] = []
    try:
        started = time.monotonic()
        cluster.start()
        result.extra["cluster_start_s"] = time.monotonic() - started
        server.start()
        db_url = server.create_database("chaos")
        migrate(db_url)
        contract = DEFAULT_CONTRACT_DIR
        result.extra["mqtt5"] = "refused" if mqtt5_refused(cluster.node(2)) else "accepted"
        city_cluster.fresh_queue(cluster)
        workers = city_cluster.amqp_workers(workdir, db_url, cluster, contract)
        for worker in workers:
            worker.start(timeout_s=60)
        if cluster.queue_leader(city_cluster.QUEUE) != cluster.node(1).name:
            result.problems.append("node 1 does not lead the queue: the kill misses the leader")
        rounds = 50 if quick else 150  # x 2 publishers x 10 kiosks x 10 events
        outcome = city_cluster.kill_under_load(cluster, rounds)
        result.problems += [f"publisher: {exc!r}" for exc in outcome.errors]
        if not outcome.killed_under_load:
            result.problems.append("the node died after the load had finished")
        wait_for(db_url, "SELECT count(*) FROM events", len(outcome.offered), STORE_TIMEOUT_S)
        stored = city_cluster.stored_ids(db_url)
        result.offered = len(outcome.pubacked)
        result.delivered = len(outcome.pubacked & set(stored))
        result.lost = result.offered - result.delivered
        result.duplicated = city_cluster.redelivered(workers)
        result.extra |= {
            "published": len(outcome.offered),
            "acked_at_kill": outcome.acked_at_kill,
            "rows": len(stored),
            "duplicate_rows": len(stored) - len(set(stored)),
            "publish_s": outcome.publish_s,
        }
        if len(stored) != len(set(stored)):
            result.problems.append("duplicate rows in events")
        dead = [w.worker_id for w in workers if w.process is None or w.process.poll() is not None]
        if dead:
            result.problems.append(f"worker(s) {dead} died")
        restarted = time.monotonic()
        cluster.restart(1)
        cluster.wait_members(3)
        result.recovery_s.append(time.monotonic() - restarted)
    finally:
        for worker in workers:
            worker.stop()
        cluster.remove()
        server.remove()
    return result
