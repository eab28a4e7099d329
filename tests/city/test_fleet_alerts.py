"""Fleet state and alert transitions in a real private PostgreSQL, the clock injected."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest

from city.alert_store import acknowledge, alert_rows
from city.config import CityConfig, city_config_from_data
from city.contract import load_contract
from city.fleet_view import fleet_rows
from city.inventory import load_inventory, sync_inventory
from city.messages import Decoded, decode_message
from city.notify import WebhookNotifier
from city.store import BatchWriter
from city.sweeper import Sweeper
from testbed.city_events import ROOT, T0, KioskSim, batch

pytestmark = pytest.mark.postgres


class Clock:
    """A settable `now`."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def config(city_db: str, contract_dir: Path) -> CityConfig:
    """A config with short thresholds."""
    return city_config_from_data(
        {
            "database": {"url": city_db},
            "broker": {"url": "mqtt://127.0.0.1:1"},
            "contract_dir": str(contract_dir),
            "gaps": {"alert_after_s": 60},
            "alerts": {
                "rules": {"device_fault_after_s": 300, "clear_after_s": 60, "offline_after_s": 120}
            },
        },
        source="test",
        base_dir=Path("."),
        env={},
    )


class Harness:
    """Feed messages through the real writer and sweep with an injected clock."""

    def __init__(self, config: CityConfig, conn: psycopg.Connection) -> None:
        self.contract = load_contract(config.contract_dir)
        self.conn = conn
        self.writer = BatchWriter(conn)
        self.clock = Clock()
        self.sweeper = Sweeper(config, now=self.clock, notifiers=[])

    def feed(self, topic: str, payload: bytes) -> None:
        decoded: Decoded = decode_message(
            topic,
            payload,
            topic_root=ROOT,
            contract=self.contract,
            max_payload_bytes=10**6,
            raw_cap_bytes=100,
        )
        assert decoded.quarantined == (), decoded.quarantined
        self.writer.write([decoded], self.clock.now)

    def presence(self, sim: KioskSim, state: str, connection: int) -> None:
        self.feed(
            sim.topic("status"), json.dumps(sim.presence(state, connection=connection)).encode()
        )

    def at(self, seconds: float) -> list[tuple[str, str, str]]:
        self.clock.now = T0 + timedelta(seconds=seconds)
        return [(t.kind, t.alert.rule, t.alert.subject) for t in self.sweeper.sweep(self.conn)]

    def kiosk(self, sim: KioskSim) -> dict[str, Any]:
        return next(r for r in fleet_rows(self.conn) if r["kiosk"] == sim.full_id)


@pytest.fixture
def harness(config: CityConfig, city_db: str) -> Iterator[Harness]:
    """One connection, writer and sweeper."""
    with psycopg.connect(city_db) as conn:
        yield Harness(config, conn)


def test_presence_highest_connection_wins_offline_breaks_ties(harness: Harness) -> None:
    """Decision 3: order by connection, offline beats online at equal connection; never by ts."""
    sim = KioskSim()
    harness.presence(sim, "online", 1)
    assert harness.kiosk(sim)["presence"] == "online"
    harness.presence(sim, "offline", 1)  # the Will registered at connect 1
    assert harness.kiosk(sim)["presence"] == "offline"
    harness.presence(sim, "online", 1)  # a late duplicate birth of connect 1
    assert harness.kiosk(sim)["presence"] == "offline"
    harness.presence(sim, "online", 2)
    harness.presence(sim, "offline", 1)  # a stale Will overtaken by connect 2
    row = harness.kiosk(sim)
    assert (row["presence"], row["presence_connection"]) == ("online", 2)


def test_heartbeat_fills_the_kiosk_row(harness: Harness) -> None:
    """Outbox, disk, devices, clock and versions come from the newest heartbeat by kiosk time."""
    sim = KioskSim()
    newer_first = [sim.heartbeat(outbox_depth=1), sim.heartbeat(outbox_depth=9)][::-1]
    for event in newer_first:
        harness.feed(sim.topic(), batch(event))
    row = harness.kiosk(sim)
    assert row["outbox_depth"] == 9
    assert row["catalogue_version"] == "2026.11"
    assert row["devices"] == {"idcard": "ok", "bp": "ok"}


def test_device_fault_alert_opens_then_resolves_with_hysteresis(harness: Harness) -> None:
    """A fault unrecovered for 5 min opens one alert; recovery resolves it after clear_after_s."""
    sim = KioskSim()
    harness.feed(
        sim.topic(),
        batch(
            sim.event("device.fault", {"device": "bp", "kind": "timeout", "message": "no answer"})
        ),
    )
    assert harness.at(299) == []
    assert harness.at(320) == [("opened", "device_fault", "bp")]
    assert harness.at(330) == []  # one alert per condition
    (alert,) = alert_rows(harness.conn)
    assert acknowledge(harness.conn, alert["id"], T0 + timedelta(seconds=331))
    harness.conn.commit()
    harness.feed(sim.topic(), batch(sim.event("device.recovered", {"device": "bp", "down_s": 9})))
    assert harness.at(340) == []  # cleared, waiting out the hysteresis
    assert alert_rows(harness.conn)[0]["state"] == "acknowledged"
    assert harness.at(401) == [("resolved", "device_fault", "bp")]
    assert alert_rows(harness.conn)[0]["state"] == "resolved"


def test_open_gap_alerts_and_late_arrival_resolves(harness: Harness) -> None:
    """A main-stream gap open past gaps.alert_after_s raises seq_gap; the late event clears it."""
    sim = KioskSim()
    first, late, third = sim.test_event(), sim.test_event(), sim.test_event()
    harness.feed(sim.topic(), batch(first, third))
    for _ in range(3):
        harness.feed(sim.topic(), batch(sim.heartbeat()))
    harness.feed(sim.topic(), batch(sim.heartbeat(), sim.heartbeat()))
    assert harness.at(30) == []
    assert harness.at(61) == [("opened", "seq_gap", "")]
    harness.feed(sim.topic(), batch(late))
    harness.at(70)
    assert harness.at(131) == [("resolved", "seq_gap", "")]


def test_heartbeat_gaps_are_never_loss(harness: Harness) -> None:
    """Shed heartbeats (stream 'heartbeat' seqs skipped) open no gap and no alert."""
    sim = KioskSim()
    sim.heartbeat_seq = 40
    harness.feed(sim.topic(), batch(sim.heartbeat()))
    assert harness.at(3600) == []
    (count,) = harness.conn.execute("SELECT count(*) FROM seq_gaps").fetchone() or (0,)
    assert count == 0


def test_inventory_shows_missing_kiosks(harness: Harness, tmp_path: Path) -> None:
    """A listed kiosk that never connected is `missing`; one that spoke is online."""
    sim = KioskSim()
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        f"kiosks:\n  - kiosk: {sim.full_id}\n    district: 福田区\n"
        "    opening_hours: Mon-Sun 00:00-23:59\n  - kiosk: 440300/futian-xmh/k02\n"
    )
    sync_inventory(harness.conn, load_inventory(inventory))
    harness.conn.commit()
    harness.presence(sim, "online", 1)
    states = {r["kiosk"]: r["presence"] for r in fleet_rows(harness.conn)}
    assert states == {sim.full_id: "online", "440300/futian-xmh/k02": "missing"}


def test_webhook_receives_transitions() -> None:
    """The webhook notifier POSTs JSON to a real local HTTP server."""
    from city.rules import Alert, Transition

    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    alert = Alert(7, "440300/c/k", "disk_low", "", "open", "low", T0)
    WebhookNotifier(f"http://127.0.0.1:{server.server_port}/hook", 5).notify(
        [Transition("opened", alert)]
    )
    thread.join(timeout=10)
    server.server_close()
    assert received[0]["alerts"][0]["rule"] == "disk_low"
    assert received[0]["alerts"][0]["transition"] == "opened"


def test_webhook_failure_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    """A dead webhook never breaks the sweeper."""
    from city.rules import Alert, Transition

    alert = Alert(7, "440300/c/k", "disk_low", "", "open", "low", T0)
    WebhookNotifier("http://127.0.0.1:9/none", 1).notify([Transition("opened", alert)])
    assert "webhook" in caplog.text


def test_cli_fleet_and_alerts_json(harness: Harness, config: CityConfig, tmp_path: Path) -> None:
    """`python -m city fleet --json` and `alerts --json` print one JSON document each."""
    sim = KioskSim()
    harness.presence(sim, "online", 1)
    harness.feed(sim.topic(), batch(sim.heartbeat(free_disk_mb=5.0)))
    harness.at(1)
    config_file = tmp_path / "city.yaml"
    config_file.write_text(
        f"database: {{url: '{config.database.url}'}}\nbroker: {{url: 'mqtt://127.0.0.1:1'}}\n"
    )
    outputs = {}
    for command in ("fleet", "alerts"):
        done = subprocess.run(
            [sys.executable, "-m", "city", command, "--json", "--config", str(config_file)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        outputs[command] = json.loads(done.stdout)
    assert outputs["fleet"]["kiosks"][0]["free_disk_mb"] == 5.0
    assert outputs["alerts"]["alerts"][0]["rule"] == "disk_low"
    done = subprocess.run(
        [sys.executable, "-m", "city", "alerts", "--config", str(config_file)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert "disk_low" in done.stdout
