"""The console over rows the real ingest wrote: contract messages through decode_message and
the BatchWriter (city/store.py), then the fleet and kiosk pages read them."""

from __future__ import annotations

import functools
import json
import re
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from starlette.testclient import TestClient

from city.config import DEFAULT_CONTRACT_DIR, CityConfig
from city.contract import Contract, load_contract
from city.messages import decode_message
from city.store import BatchWriter
from testbed.city_events import ROOT, KioskSim, batch
from tests.fixtures.console import console_login

pytestmark = pytest.mark.postgres


@functools.cache
def _contract() -> Contract:
    return load_contract(DEFAULT_CONTRACT_DIR)


def _feed(conn: psycopg.Connection, topic: str, payload: bytes) -> None:
    decoded = decode_message(
        topic,
        payload,
        topic_root=ROOT,
        contract=_contract(),
        max_payload_bytes=10**6,
        raw_cap_bytes=100,
    )
    assert decoded.quarantined == (), decoded.quarantined
    BatchWriter(conn).write([decoded], datetime.now(UTC))
    conn.commit()


def test_ingested_kiosks_on_the_pages(
    console_client: TestClient, console_config: CityConfig
) -> None:
    """One healthy kiosk, one whose BP meter faulted, one gone: states, chart, timeline."""
    start = datetime.now(UTC) - timedelta(hours=2)
    healthy = KioskSim(kiosk="k01", clock=start)
    faulty = KioskSim(kiosk="k02", clock=start)
    gone = KioskSim(kiosk="k03", clock=start)
    with psycopg.connect(console_config.database.url) as conn:
        for sim in (healthy, faulty, gone):
            _feed(conn, sim.topic("status"), json.dumps(sim.presence("online")).encode())
            for minute in range(0, 120, 5):
                sim.clock = start + timedelta(minutes=minute)
                _feed(conn, sim.topic(), batch(sim.heartbeat(outbox_depth=minute // 10)))
        _feed(
            conn,
            faulty.topic(),
            batch(
                faulty.event("device.fault", {"device": "bp", "kind": "timeout", "message": "x"})
            ),
        )
        _feed(conn, gone.topic("status"), json.dumps(gone.presence("offline")).encode())
    console_login(console_client, "viewer")
    fleet = console_client.get("/fleet").text
    states = dict(
        re.findall(
            r'<a href="/kiosks/440300/futian-xmh/(k0\d)">.*?class="badge state-(\w+)"', fleet, re.S
        )
    )
    assert states == {"k01": "online", "k02": "degraded", "k03": "offline"}
    page = console_client.get(f"/kiosks/{gone.full_id}").text
    assert "连接中断" in page
    assert page.count('class="seg seg-') >= 2  # online, then offline
    chart = console_client.get(f"/kiosks/{healthy.full_id}/heartbeats?window=6h").json()
    assert len(chart["at"]) == 24
    assert max(chart["outbox_depth"]) == 11
