"""What the points pages read, on a big ledger (testbed/points_seed.py) in a real PostgreSQL:
a period's totals are the same as a plain scan's, and their plans stay on the primary keys
(docs/points.md "Indexed without a migration")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from city.points import staff
from testbed.points_seed import bench_window, seed_points_bulk

pytestmark = pytest.mark.postgres
ZONE = ZoneInfo("Asia/Shanghai")
ENTRIES = 200_000


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", []):
        found += _nodes(child)
    return found


@pytest.fixture
def big_ledger(city_db: str) -> str:
    """200,000 entries over a year (ids follow time), their redemptions and refusals."""
    start, end = bench_window(datetime.now(UTC))
    seed_points_bulk(city_db, ENTRIES, start=start, end=end)
    return city_db


def test_a_months_totals_are_read_through_the_primary_keys(big_ledger: str) -> None:
    """30 days inside the ledger: index scans only, and the sums of a plain scan."""
    today = datetime.now(ZONE).date()
    period = staff.Period(today - timedelta(days=129), today - timedelta(days=100), ZONE)
    with psycopg.connect(big_ledger, autocommit=True) as conn:
        for sql, args in staff.totals_queries(conn, period):
            explained = conn.execute("EXPLAIN (FORMAT JSON) " + sql, args).fetchone()
            assert explained is not None
            (plan,) = explained[0]
            nodes = _nodes(plan["Plan"])
            kinds = {
                (n["Node Type"], n.get("Index Name")) for n in nodes if "Scan" in n["Node Type"]
            }
            assert not any(kind == "Seq Scan" for kind, _ in kinds), (sql, kinds)
            assert kinds & {
                ("Index Scan", "points_entries_pkey"),
                ("Index Scan", "points_redemptions_pkey"),
                ("Bitmap Heap Scan", None),
            }, kinds
        sums = staff.totals(conn, period)
        plain = conn.execute(
            "SELECT coalesce(sum(points) FILTER (WHERE kind = 'earn'), 0),"
            " coalesce(-sum(points) FILTER (WHERE kind = 'redeem'), 0),"
            " count(DISTINCT account_id) FROM points_entries"
            " WHERE created_at >= %s AND created_at < %s",
            (period.start, period.end),
        ).fetchone()
        refused = conn.execute(
            "SELECT count(*) FROM points_redemptions WHERE outcome = 'refused'"
            " AND created_at >= %s AND created_at < %s",
            (period.start, period.end),
        ).fetchone()
    assert plain is not None
    assert refused is not None
    overall = sums["overall"]
    assert (overall["earned"], overall["redeemed"], overall["accounts"]) == tuple(plain)
    assert overall["earned"] > 0
    assert overall["refused"] == refused[0] > 0
    assert sum(s["earned"] for _b, s in sums["by_time"]) == overall["earned"]
    assert len(sums["by_centre"]) == 51  # 50 kiosks' centres and staff credits


def test_the_binary_search_finds_a_periods_first_entry(big_ledger: str) -> None:
    """first_entry_from agrees with the first id a plain scan finds, at any moment."""
    now = datetime.now(UTC)
    with psycopg.connect(big_ledger, autocommit=True) as conn:
        for days in (500, 399, 250, 100, 29, 28, 0):
            moment = now - timedelta(days=days, minutes=7)
            row = conn.execute(
                "SELECT coalesce(min(id), (SELECT max(id) + 1 FROM points_entries))"
                " FROM points_entries WHERE created_at >= %s",
                (moment,),
            ).fetchone()
            assert row is not None
            assert staff.first_entry_from(conn, moment) == row[0], days
