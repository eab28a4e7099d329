"""`make bench` section `console`: p95 server time of every console page with 10,000 kiosks
and 10 million events (--quick: 1 million), through the real app in process (Starlette
TestClient: routing, middleware, session, SQL, rendering).

The pages are every GET route of every mounted module and the modules' extra Screens
(testbed/console_pages.py, as in `make screenshots` and the accessibility test): JSON and
downloads included. Beside them, in the same run and the same client, the baseline: /healthz,
a route that does nothing, so what the client and the loaded machine cost shows on its own.

The events are written by PostgreSQL itself (generate_series): heartbeats a minute apart for
every kiosk that ever connected, with a presence change every 240 and a device fault every
480, plus the demo data of testbed/console_tour.py and 200,000 resident requests over a year
(testbed/request_events.py). Goal: p95 ≤ 200 ms per page.
"""

from __future__ import annotations

import math
import re
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from starlette.testclient import TestClient

from bench.runner import Figure
from city.config import city_config_from_data
from city.console.app import create_app
from city.console.modules import ConsoleModule, load_modules
from city.db import migrate
from testbed.console import PASSWORD, STAFF, add_staff, console_config_data, write_secret
from testbed.console_pages import ConsolePage, console_pages
from testbed.console_tour import seed_demo
from testbed.fleet_seed import seed_fleet
from testbed.points_seed import bench_window, seed_points_bulk
from testbed.postgres import PostgresServer
from testbed.request_events import seed_request_volume

KIOSKS = 10_000
EVENTS = 10_000_000
REQUESTS = 200_000
QUICK_EVENTS = 1_000_000
# The red points ledger beside them (docs/points.md "Indexed without a migration"): a year of
# entries before the demo's, so the points pages read a big ledger through its primary keys.
POINTS_ENTRIES = 2_000_000
QUICK_POINTS_ENTRIES = 200_000
GOAL_MS = 200.0
ROUNDS = 20
BASELINE = "/healthz"
# One statement per chunk of kiosks, so a 10 M-row insert does not hold one huge transaction.
BULK_EVENTS = """
INSERT INTO events (id, kiosk, type, ts, boot, stream, seq, schema, data)
SELECT gen_random_uuid(), k.kiosk,
       CASE WHEN g %% 480 = 0 THEN 'device.fault'
            WHEN g %% 240 = 0 THEN CASE WHEN g %% 480 = 240 THEN 'agent.online'
                                        ELSE 'agent.offline' END
            ELSE 'heartbeat' END,
       now() - g * interval '60 s', '00000000-0000-0000-0000-000000000001',
       CASE WHEN g %% 240 = 0 THEN 'main' ELSE 'heartbeat' END, g, 2,
       CASE WHEN g %% 480 = 0 THEN jsonb_build_object('device', 'bp', 'kind', 'timeout',
                                                      'message', 'no answer')
            WHEN g %% 240 = 0 THEN jsonb_build_object('connection', g / 240)
            ELSE jsonb_build_object('outbox_depth', g %% 40, 'oldest_unsent_age_s', null,
                                    'free_disk_mb', 20000 - g, 'devices', '{}'::jsonb,
                                    'clock', jsonb_build_object('synchronised', true),
                                    'versions', '{}'::jsonb, 'uptime_s', g * 60) END
FROM (SELECT kiosk FROM kiosks WHERE presence <> 'never_seen' ORDER BY kiosk
      LIMIT %(limit)s OFFSET %(offset)s) k,
     generate_series(1, %(per_kiosk)s) g
"""
CHUNK_KIOSKS = 500


def _seed(db_url: str, events: int) -> tuple[dict[str, str], int, float]:
    started = time.monotonic()
    with psycopg.connect(db_url) as conn:
        seed_fleet(conn, KIOSKS, seed=7)
        row = conn.execute("SELECT count(*) FROM kiosks WHERE presence <> 'never_seen'").fetchone()
    seen = int(row[0]) if row else KIOSKS
    per_kiosk = math.ceil(events / seen)
    for offset in range(0, seen, CHUNK_KIOSKS):
        with psycopg.connect(db_url) as conn:
            conn.execute(
                BULK_EVENTS, {"limit": CHUNK_KIOSKS, "offset": offset, "per_kiosk": per_kiosk}
            )
    points = POINTS_ENTRIES if events >= EVENTS else QUICK_POINTS_ENTRIES
    start, end = bench_window(datetime.now(UTC))
    seed_points_bulk(db_url, points, start=start, end=end)
    values = seed_demo(db_url, load_modules())
    with psycopg.connect(db_url) as conn:  # a big city's year of 诉求 (docs/requests-city.md)
        seed_request_volume(conn, REQUESTS)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        row = conn.execute("SELECT count(*) FROM events").fetchone()
    return values, int(row[0]) if row else 0, time.monotonic() - started


def _login(client: TestClient, role: str) -> TestClient:
    page = client.get("/login").text
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None
    answer = client.post(
        "/login",
        data={"csrf": match[1], "name": STAFF[role], "password": PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.status_code
    return client


def _timings(client: TestClient, path: str, rounds: int) -> tuple[list[float], int]:
    status = client.get(path, follow_redirects=False).status_code  # warm-up
    timings = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        answer = client.get(path, follow_redirects=False)
        timings.append((time.perf_counter() - t0) * 1000)
        status = answer.status_code
        client.cookies.set("console_lang", "zh-CN")  # GET /lang/en must not switch the rest
    return sorted(timings), status


def _p95(timings: Sequence[float]) -> float:
    return timings[max(0, math.ceil(0.95 * len(timings)) - 1)]


def _role_of(clients: dict[str, TestClient], page: ConsolePage) -> str:
    """As in the tour: the page's Screen role, else public if it answers without a session."""
    if page.role is not None:
        return page.role
    answer = clients["public"].get(page.path, follow_redirects=False)
    needs_login = answer.is_redirect and answer.headers.get("location", "").startswith("/login")
    return "admin" if needs_login else "public"


def time_pages(
    clients: dict[str, TestClient], modules: Sequence[ConsoleModule], values: dict[str, str]
) -> list[Figure]:
    """The baseline, then every page, ROUNDS times each after a warm-up."""
    rounds = ROUNDS
    figures: list[Figure] = []
    base, _ = _timings(clients["admin"], BASELINE, rounds)
    base_p95, base_median = _p95(base), statistics.median(base)
    figures.append(
        Figure(
            "city.console.baseline.p95_ms",
            round(base_p95, 1),
            "ms",
            f"GET {BASELINE} (does nothing): client + middleware; median {base_median:.1f} ms",
        )
    )
    pages, unreachable = console_pages(modules, values)
    for item in unreachable:
        figures.append(Figure(f"city.console.{item.module}.unreachable", str(item)[:200]))
    worst = ("", 0.0)
    for page in pages:
        role = _role_of(clients, page)
        timings, status = _timings(clients[role], page.path, rounds)
        p95, median = _p95(timings), statistics.median(timings)
        ok = status < 400
        verdict = "ok" if ok and p95 <= GOAL_MS else "MISSES the goal" if ok else f"HTTP {status}"
        figures.append(
            Figure(
                f"city.console.{page.name}.p95_ms",
                round(p95, 1),
                "ms",
                f"{verdict}; median {median:.1f} = {median / base_median:.1f}x the baseline's;"
                f" {page.path[:50]} as {role}",
            )
        )
        if p95 > worst[1]:
            worst = (page.name, p95)
    figures.append(Figure("city.console.pages", len(pages), "pages", "every GET route + Screens"))
    figures.append(
        Figure("city.console.worst_p95_ms", round(worst[1], 1), "ms", f"{worst[0]}; goal <= 200")
    )
    return figures


def time_points_year(client: TestClient) -> list[Figure]:
    """The points overview over a whole year of the bulk ledger (the page's default is 30
    days, which the tour times) and a short pseudonym search over it."""
    first = (date.today() - timedelta(days=364)).isoformat()
    figures = []
    for name, path in (
        ("points-overview-year", f"/points?from={first}"),
        ("points-search-bulk", "/points?q=ab"),
    ):
        timings, status = _timings(client, path, ROUNDS)
        p95, median = _p95(timings), statistics.median(timings)
        ok = status < 400
        verdict = "ok" if ok and p95 <= GOAL_MS else "MISSES the goal" if ok else f"HTTP {status}"
        figures.append(
            Figure(
                f"city.console.{name}.p95_ms",
                round(p95, 1),
                "ms",
                f"{verdict}; median {median:.1f}; {path[:50]} as viewer",
            )
        )
    return figures


def run(quick: bool) -> list[Figure]:
    """Seed, then time the baseline and every page."""
    events = QUICK_EVENTS if quick else EVENTS
    figures: list[Figure] = []
    database = PostgresServer(settings={"max_connections": "100", "shared_buffers": "256MB"})
    database.start()
    try:
        db_url = database.create_database("console_bench")
        migrate(db_url)
        add_staff(db_url)
        values, count, seed_s = _seed(db_url, events)
        note = "--quick: 1 million, not the goal's 10 million" if quick else "the goal's size"
        figures += [
            Figure("city.console.kiosks", KIOSKS, "kiosks"),
            Figure("city.console.events", count, "events", note),
            Figure("city.console.seed_s", round(seed_s, 1), "s", "generate_series + demo data"),
        ]
        with tempfile.TemporaryDirectory(prefix="console-bench-") as tmp:
            secret = write_secret(Path(tmp) / "secret")
            config = city_config_from_data(
                console_config_data(db_url, secret), source="bench", base_dir=Path(tmp), env={}
            )
            modules = load_modules()
            app = create_app(config, secret.read_bytes().strip(), modules)
            # one client runs the app's lifespan (the pool); the others share the app
            with TestClient(app) as public:
                clients = {"public": public}
                for role in ("viewer", "operator", "admin"):
                    clients[role] = _login(TestClient(app), role)
                figures += time_pages(clients, modules, values)
                figures += time_points_year(clients["viewer"])
    finally:
        database.remove()
    return figures
