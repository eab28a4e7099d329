"""Several real ingest worker processes (a shared subscription on a real Mosquitto) race for
the last places of one activity: sign-ups from many kiosks at once, one worker SIGKILLed and
restarted under the load. Exactly `capacity` are confirmed, every sign-up is answered once."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from testbed.city_events import KioskSim, uuid7
from testbed.city_workers import Publisher, WorkerProcess, wait_for, write_city_config
from tests.city.test_activities_db import add_activity
from tests.fixtures.broker import MosquittoBroker

pytestmark = [pytest.mark.broker, pytest.mark.postgres, pytest.mark.slow]

KIOSKS = 12
PER_KIOSK = 5
CAPACITY = 17


@pytest.fixture
def workers(
    tmp_path: Path, city_db: str, mosquitto: MosquittoBroker, contract_dir: Path
) -> Iterator[list[WorkerProcess]]:
    """Three ingest workers on one database and broker."""
    config = write_city_config(
        tmp_path / "city.yaml", db_url=city_db, broker=mosquitto, contract_dir=contract_dir
    )
    started = []
    for n in range(3):
        worker = WorkerProcess(config, tmp_path / f"w{n}.log", worker_id=f"w{n}")
        worker.start()
        started.append(worker)
    yield started
    for worker in started:
        worker.stop()


def test_workers_racing_for_the_last_places_confirm_exactly_capacity(
    city_db: str, workers: list[WorkerProcess], mosquitto: MosquittoBroker
) -> None:
    """60 sign-ups for 17 places over three workers (one killed mid-way): 17 confirmed, 43
    refused, one answer each, no row twice."""
    with psycopg.connect(city_db) as conn:
        add_activity(conn, capacity=CAPACITY)
    sims = [KioskSim(centre="c1", kiosk=f"k{n:02d}") for n in range(KIOSKS)]
    start = datetime.now(UTC) - timedelta(minutes=10)
    payloads = []
    for index, sim in enumerate(sims):
        sim.clock = start + timedelta(milliseconds=index)
        for n in range(PER_KIOSK):
            resident = index * PER_KIOSK + n
            data = {
                "signup_id": uuid7(),
                "activity_id": "tai-chi",
                "activities_version": "act-c1-1",
                "subject": f"{resident:064x}",
                "key_id": "k2026",
                "session_id": "0193f1c2-7a4b-7c3d-8e5f-0123456789ab",
            }
            event = sim.event("activity.signup", data)
            payloads.append((sim.topic(), json.dumps({"events": [event]}).encode()))

    def publish(part: list[tuple[str, bytes]]) -> None:
        publisher = Publisher(mosquitto)
        try:
            for topic, payload in part:
                publisher.publish(topic, payload)
        finally:
            publisher.close()

    threads = [threading.Thread(target=publish, args=(payloads[n::4],)) for n in range(4)]
    for thread in threads:
        thread.start()
    workers[0].kill()
    workers[0].start()
    for thread in threads:
        thread.join(timeout=60)
    total = KIOSKS * PER_KIOSK
    assert wait_for(city_db, "SELECT count(*) FROM activity_signups", total, 90) == total
    with psycopg.connect(city_db) as conn:
        states: dict[str, int] = dict(
            conn.execute("SELECT state, count(*) FROM activity_signups GROUP BY 1").fetchall()
        )
        confirmed = conn.execute("SELECT confirmed FROM activities").fetchone()
        answers = conn.execute(
            "SELECT count(*), count(DISTINCT args ->> 'signup_id') FROM commands"
            " WHERE type = 'activity_signup_result'"
        ).fetchone()
    assert states == {"confirmed": CAPACITY, "refused": total - CAPACITY}
    assert confirmed == (CAPACITY,)
    assert answers == (total, total)
