"""`make bench` section `console`: p95 server time of every console screen (every mounted
module's ConsoleModule.screens) with 10,000 kiosks and 10 million events (--quick: 1 million),
through the real app in process (Starlette TestClient: routing, session, SQL, rendering).

The events are heartbeats written by PostgreSQL itself (generate_series), 1,000 per kiosk
(--quick: 100) a minute apart, plus the demo data of testbed/console_tour.py. Goal: ≤ 200 ms.
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from pathlib import Path

import psycopg
from starlette.testclient import TestClient

from bench.runner import Figure
from city.config import city_config_from_data
from city.console.app import create_app
from city.console.modules import load_modules
from city.db import migrate
from testbed.console import PASSWORD, STAFF, add_staff, console_config_data, write_secret
from testbed.console_tour import seed_demo
from testbed.fleet_seed import seed_fleet
from testbed.postgres import PostgresServer

KIOSKS = 10_000
# Not screens but fetched by them: the kiosk page's chart data.
EXTRA = (
    ("kiosk-heartbeats-24h", "viewer", "/kiosks/{kiosk}/heartbeats?window=24h"),
    ("kiosk-heartbeats-30d", "viewer", "/kiosks/{kiosk}/heartbeats?window=30d"),
)
GOAL_MS = 200.0
ROUNDS = 20
BULK_HEARTBEATS = """
INSERT INTO events (id, kiosk, type, ts, boot, stream, seq, schema, data)
SELECT gen_random_uuid(), k.kiosk, 'heartbeat', now() - g * interval '60 s',
       '00000000-0000-0000-0000-000000000001', 'heartbeat', g, 2,
       jsonb_build_object('outbox_depth', g %% 40, 'oldest_unsent_age_s', null,
                          'free_disk_mb', 20000 - g, 'devices', '{}'::jsonb,
                          'clock', jsonb_build_object('synchronised', true),
                          'versions', '{}'::jsonb, 'uptime_s', g * 60)
FROM kiosks k, generate_series(1, %(per_kiosk)s) g
WHERE k.presence <> 'never_seen'
"""


def _seed(db_url: str, per_kiosk: int) -> tuple[dict[str, str], int, float]:
    started = time.monotonic()
    with psycopg.connect(db_url) as conn:
        seed_fleet(conn, KIOSKS, seed=7)
        conn.execute(BULK_HEARTBEATS, {"per_kiosk": per_kiosk})
    values = seed_demo(db_url, load_modules())
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        row = conn.execute("SELECT count(*) FROM events").fetchone()
    return values, int(row[0]) if row else 0, time.monotonic() - started


def _login(client: TestClient, role: str) -> None:
    page = client.get("/login").text
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None
    answer = client.post(
        "/login",
        data={"csrf": match[1], "name": STAFF[role], "password": PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.status_code


def _time(client: TestClient, name: str, path: str) -> Figure:
    client.get(path)
    timings = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        answer = client.get(path)
        timings.append((time.perf_counter() - t0) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    timings.sort()
    p95 = timings[max(0, round(0.95 * len(timings)) - 1)]
    return Figure(
        f"city.console.{name}.p95_ms",
        round(p95, 1),
        "ms",
        f"median {statistics.median(timings):.1f} ms; goal <= {GOAL_MS:g}",
    )


def run(quick: bool) -> list[Figure]:
    """Seed, then time every screen ROUNDS times (after one warm-up)."""
    per_kiosk = 100 if quick else 1000
    figures: list[Figure] = []
    database = PostgresServer(settings={"max_connections": "100", "shared_buffers": "256MB"})
    database.start()
    try:
        db_url = database.create_database("console_bench")
        migrate(db_url)
        add_staff(db_url)
        values, events, seed_s = _seed(db_url, per_kiosk)
        figures += [
            Figure("city.console.kiosks", KIOSKS, "kiosks"),
            Figure("city.console.events", events, "events", "heartbeats in `events`"),
            Figure("city.console.seed_s", round(seed_s, 1), "s", "generate_series + demo data"),
        ]
        with tempfile.TemporaryDirectory(prefix="console-bench-") as tmp:
            secret = write_secret(Path(tmp) / "secret")
            config = city_config_from_data(
                console_config_data(db_url, secret), source="bench", base_dir=Path(tmp), env={}
            )
            modules = load_modules()
            app = create_app(config, secret.read_bytes().strip(), modules)
            clients: dict[str, TestClient] = {}
            targets = [
                (screen.name, screen.role, screen.path)
                for module in modules
                for screen in module.screens
                if not screen.path.startswith("/login")
            ] + list(EXTRA)
            try:
                for name, role, template in targets:
                    if role not in clients:
                        clients[role] = TestClient(app).__enter__()
                        _login(clients[role], role)
                    figures.append(_time(clients[role], name, template.format(**values)))
            finally:
                for client in clients.values():
                    client.__exit__(None, None, None)
    finally:
        database.remove()
    return figures
