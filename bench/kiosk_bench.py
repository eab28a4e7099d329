"""Kiosk section of `make bench`: a soak of many sessions through the real core and outbox,
cold start to the first interactive frame, and card frame → identified screen latency.

The soak runs the real Session with the real catalogue, outbox (SQLite FULL) and history; the
agent's part is played by deleting delivered rows, so the outbox stays small as in the field.
"""

from __future__ import annotations

import gc
import itertools
import tempfile
import time
from datetime import datetime
from pathlib import Path

import psutil

from bench.runner import Figure
from config import config_from_data
from edge_agent.agent import open_outbox
from edge_agent.outbox import Outbox
from kiosk.core import inputs as i
from kiosk.core.history import BpHistory
from kiosk.core.machine import KioskInputError
from kiosk.core.session import Session
from kiosk.core.settings import SessionSettings
from kiosk.runtime.catalogue import CatalogueAdapter
from kiosk.runtime.outbox_sink import OutboxSink

REPO = Path(__file__).resolve().parents[1]
SOAK_SESSIONS = 10_000
SOAK_SESSIONS_QUICK = 1_000
WARM_UP_FRACTION = 0.1
KEY = bytes(range(32))


def _card(n: int) -> i.CardIdentity:
    # 18-character numbers with a fake check digit are fine here: the core only pseudonymises.
    return i.CardIdentity("resident", "测试居民", f"44030519800101{n % 10000:04d}", True)


def _flows(categories: list[str], n: int) -> list[i.Input]:
    category = categories[n % len(categories)]
    if n % 3 == 0:
        return [
            i.StartHealth(),
            _card(n),
            i.GiveConsent(),
            i.StartMeasuring(),
            i.CuffPressure(150),
            i.CuffPressure(90),
            i.BpMeasured(118 + n % 60, 70 + n % 40, 72, 90, None, "suntech"),
            i.Finish(),
            i.SelectLevel(1 + n % 5),
            i.SubmitRating(),
        ]
    return [i.StartServices(), _card(n), i.SelectCategory(category), i.Search("sb"), i.Exit()]


def _soak(sessions: int) -> list[Figure]:
    process = psutil.Process()
    with tempfile.TemporaryDirectory(prefix="kiosk-soak-") as tmp:
        config = config_from_data(
            {
                "identity": {"city": "440300", "centre": "bench", "kiosk": "k1"},
                "paths": {"data_dir": tmp, "catalogue": str(REPO / "config" / "catalogue.yaml")},
            },
            source="bench",
            base_dir=Path(tmp),
            env={},
        )
        outbox = open_outbox(config)
        history = BpHistory(Path(tmp) / "history.sqlite3", wall_clock=datetime.now)
        clock = itertools.count(start=1000.0, step=0.5)
        catalogue = CatalogueAdapter.from_file(config.paths.catalogue)
        categories = [c.category_id for c in catalogue.categories("zh")]
        session = Session(
            SessionSettings.from_config(config),
            sink=OutboxSink(outbox),
            catalogue=catalogue,
            pseudonym_key=KEY,
            clock=lambda: float(next(clock)),
            wall_clock=lambda: datetime.now().astimezone(),
            history=history,
        )
        warm_up = max(1, int(sessions * WARM_UP_FRACTION))
        rss_after_warm_up = 0
        rejected = 0
        started = time.perf_counter()
        for n in range(sessions):
            for event in _flows(categories, n):
                try:
                    session.handle(event)
                except KioskInputError:
                    rejected += 1
            _drain(outbox)
            if n + 1 == warm_up:
                gc.collect()
                rss_after_warm_up = process.memory_info().rss
        elapsed = time.perf_counter() - started
        gc.collect()
        rss_end = process.memory_info().rss
        history.close()
    growth = 100.0 * (rss_end - rss_after_warm_up) / rss_after_warm_up
    return [
        Figure("soak.sessions", sessions),
        Figure("soak.sessions_per_s", sessions / elapsed, "1/s", "core + SQLite FULL outbox"),
        Figure("soak.rss_after_warm_up_mb", rss_after_warm_up / 2**20, "MB"),
        Figure("soak.rss_end_mb", rss_end / 2**20, "MB"),
        Figure("soak.rss_growth_pct", growth, "%", f"after the first {warm_up} sessions"),
        Figure("soak.rejected_inputs", rejected, "", "must be 0"),
    ]


def _drain(outbox: Outbox) -> None:
    """Play the agent: delivered rows leave the outbox."""
    rows = outbox.peek(limit=1000)
    if rows:
        outbox.delete(row.rowid for row in rows)


def run(quick: bool) -> list[Figure]:
    """The kiosk figures."""
    return _soak(SOAK_SESSIONS_QUICK if quick else SOAK_SESSIONS)
