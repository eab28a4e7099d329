"""A worker and its slot across PostgreSQL outages: wait, never exit; keep the client id unique."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from city.db import migrate
from city.worker import SLOT_LOCK_CLASS, SlotLease
from testbed.city_events import KioskSim, batch
from testbed.city_workers import Publisher, WorkerProcess, wait_for, write_city_config
from testbed.postgres import PostgresServer
from tests.fixtures.broker import MosquittoBroker

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def own_server() -> Iterator[tuple[PostgresServer, str]]:
    """A private cluster of this test's own (it is stopped and restarted); a migrated URL."""
    server = PostgresServer()
    server.start()
    try:
        url = server.create_database("outage")
        migrate(url)
        yield server, url
    finally:
        server.remove()


@pytest.mark.broker
def test_worker_started_during_an_outage_waits_for_the_database(
    own_server: tuple[PostgresServer, str],
    mosquitto: MosquittoBroker,
    contract_dir: Path,
    tmp_path: Path,
) -> None:
    """No database at start (slot claim and ingest): it retries with backoff, then stores."""
    server, url = own_server
    config = write_city_config(
        tmp_path / "city.yaml", db_url=url, broker=mosquitto, contract_dir=contract_dir
    )
    server.stop("immediate")
    worker = WorkerProcess(config, tmp_path / "worker.log")  # no --worker-id: claims a slot
    failure: list[BaseException] = []

    def start() -> None:
        try:
            worker.start(timeout_s=60)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failure.append(exc)

    starting = threading.Thread(target=start)
    starting.start()
    try:
        wait_until_logged(worker, "database unreachable")
        assert worker.process is not None
        assert worker.process.poll() is None  # waiting, not exited
        server.start()
        starting.join(timeout=70)
        assert failure == []
        publisher = Publisher(mosquitto)
        sim = KioskSim()
        publisher.publish(sim.topic(), batch(*(sim.test_event() for _ in range(5))))
        publisher.close()
        assert wait_for(url, "SELECT count(*) FROM events", 5) == 5
    finally:
        starting.join(timeout=70)
        worker.stop()


def wait_until_logged(worker: WorkerProcess, text: str, timeout_s: float = 30.0) -> None:
    """Until the worker's log holds `text`."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if worker.log_path.exists() and text in worker.output:
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in the log: {worker.output[-2000:]}")


def test_slot_is_retaken_after_a_restart_unless_another_worker_took_it(
    own_server: tuple[PostgresServer, str],
) -> None:
    """The advisory lock dies with the server; the lease re-takes it, or says it is gone."""
    server, url = own_server
    lease = SlotLease(url, timeout_s=5)
    assert lease.claim() == 0
    server.restart("fast")
    lease.next_check = 0.0
    assert lease.check()  # re-taken on a new connection
    with psycopg.connect(url, autocommit=True) as other:
        row = other.execute("SELECT pg_try_advisory_lock(%s, 0)", (SLOT_LOCK_CLASS,)).fetchone()
        assert row == (False,)  # the lease holds it again
    server.restart("immediate")
    with psycopg.connect(url, autocommit=True) as other:
        row = other.execute("SELECT pg_try_advisory_lock(%s, 0)", (SLOT_LOCK_CLASS,)).fetchone()
        assert row == (True,)  # a newcomer claimed slot 0 while the lease was away
        lease.next_check = 0.0
        assert not lease.check()
    lease.close()
