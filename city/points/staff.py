"""What staff read of the ledger: totals per period and centre, recent entries, redemptions, a
pseudonym search, one account (the console's points pages, docs/points.md "Console pages").

Every query is bounded and indexed without an index of its own (no migration):
- entries by time through the primary key: the ledger is append-only and every entry is
  written with created_at = now(), so ids follow time and the first id of a period is found by
  a binary search of the primary key (`first_entry_from`, ~25 index probes at 10 million
  entries); the period's rows are then an id range;
- redemptions by time through their primary key: a redemption_id is a UUIDv7 (contract), whose
  first 48 bits are the Unix milliseconds when the resident tapped "redeem";
- a pseudonym prefix through the (key_id, subject) unique index, once per key id (a loose
  index scan over the few key ids: `search`);
- one account's entries and redemptions through points_entries_account and
  points_redemptions_account.
Notes and vouchers are read here for operators; the pages leave them out for viewers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import dict_row

from city.points.ledger import Resident

HEX_PREFIX = re.compile(r"^[0-9a-f]{1,64}$")
MAX_RECENT = 200
MAX_EXPORT_ROWS = 200_000
MAX_SEARCH = 50


@dataclass(frozen=True)
class Period:
    """Local days first..last (both included) in the city's time zone."""

    first: date
    last: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        """The first moment of the period."""
        return datetime.combine(self.first, time(0), self.zone)

    @property
    def end(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(self.last + timedelta(days=1), time(0), self.zone)

    @property
    def by_month(self) -> bool:
        """Long periods are summed per month, short ones per day."""
        return (self.last - self.first).days + 1 > 62


def uuid7_floor(moment: datetime) -> str:
    """The smallest UUID whose UUIDv7 time is `moment` (ms): a bound on redemption ids."""
    stamp = f"{int(moment.timestamp() * 1000) & 0xFFFF_FFFF_FFFF:012x}"
    return f"{stamp[:8]}-{stamp[8:]}-0000-0000-000000000000"


def first_entry_from(conn: psycopg.Connection, moment: datetime) -> int:
    """The smallest entry id created at or after `moment` (the largest id + 1 if none).

    Binary search over the primary key: ids follow created_at because entries are only ever
    appended with created_at = now() (docs/points.md). Each probe is one index lookup.
    """
    row = conn.execute("SELECT min(id), max(id) FROM points_entries").fetchone()
    if row is None or row[0] is None:
        return 1
    low, high = int(row[0]), int(row[1]) + 1  # the answer is in [low, high]
    while low < high:
        middle = (low + high) // 2
        probe = conn.execute(
            "SELECT id, created_at FROM points_entries WHERE id >= %s ORDER BY id LIMIT 1",
            (middle,),
        ).fetchone()
        if probe is None or probe[1] >= moment:
            high = middle
        else:
            low = int(probe[0]) + 1
    return low


def entry_range(conn: psycopg.Connection, period: Period) -> tuple[int, int]:
    """[first, end) entry ids of the period."""
    return first_entry_from(conn, period.start), first_entry_from(conn, period.end)


def centre_of(actor: str) -> str | None:
    """CITY/CENTRE of a kiosk actor (kiosk:CITY/CENTRE/KIOSK); None for staff."""
    if not actor.startswith("kiosk:"):
        return None
    parts = actor[len("kiosk:") :].split("/")
    return "/".join(parts[:2]) if len(parts) == 3 else None


TOTALS_ENTRIES = (
    "SELECT date_trunc(%s, created_at AT TIME ZONE %s)::date AS bucket,"
    " CASE WHEN actor LIKE 'kiosk:%%' THEN actor END AS kiosk_actor,"
    " kind, count(*), sum(abs(points))"
    " FROM points_entries WHERE id >= %s AND id < %s"
    " AND created_at >= %s AND created_at < %s GROUP BY 1, 2, 3"
)
TOTALS_REFUSALS = (
    "SELECT date_trunc(%s, created_at AT TIME ZONE %s)::date, kiosk, count(*)"
    " FROM points_redemptions WHERE redemption_id >= %s::uuid AND redemption_id < %s::uuid"
    " AND outcome = 'refused' GROUP BY 1, 2"
)
TOTALS_ACCOUNTS = (
    "SELECT count(DISTINCT account_id) FROM points_entries WHERE id >= %s AND id < %s"
    " AND created_at >= %s AND created_at < %s"
)


def totals_queries(
    conn: psycopg.Connection, period: Period
) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """The overview's three statements with their parameters (the plan test EXPLAINs them)."""
    first_id, end_id = entry_range(conn, period)
    unit = "month" if period.by_month else "day"
    zone = period.zone.key
    return (
        (TOTALS_ENTRIES, (unit, zone, first_id, end_id, period.start, period.end)),
        (
            TOTALS_REFUSALS,
            (unit, zone, uuid7_floor(period.start), uuid7_floor(period.end)),
        ),
        (TOTALS_ACCOUNTS, (first_id, end_id, period.start, period.end)),
    )


def totals(conn: psycopg.Connection, period: Period) -> dict[str, Any]:
    """The period's sums: per day or month, per centre, and overall."""
    (entries_sql, entries_args), (refusals_sql, refusals_args), (accounts_sql, accounts_args) = (
        totals_queries(conn, period)
    )
    unit = "month" if period.by_month else "day"
    by_time: dict[date, dict[str, int]] = {}
    by_centre: dict[str | None, dict[str, int]] = {}
    rows = conn.execute(entries_sql, entries_args).fetchall()
    overall = {"earned": 0, "redeemed": 0, "earn_entries": 0, "redeem_entries": 0, "refused": 0}
    for bucket, kiosk_actor, kind, count, points in rows:
        slot = by_time.setdefault(bucket, {"earned": 0, "redeemed": 0, "refused": 0})
        where = by_centre.setdefault(
            centre_of(kiosk_actor) if kiosk_actor else None,
            {"earned": 0, "redeemed": 0, "refused": 0},
        )
        key = "earned" if kind == "earn" else "redeemed"
        slot[key] += int(points)
        where[key] += int(points)
        overall[key] += int(points)
        overall[f"{kind}_entries"] += int(count)
    refusals = conn.execute(refusals_sql, refusals_args).fetchall()
    for bucket, kiosk, count in refusals:
        by_time.setdefault(bucket, {"earned": 0, "redeemed": 0, "refused": 0})["refused"] += count
        by_centre.setdefault(
            centre_of(f"kiosk:{kiosk}"), {"earned": 0, "redeemed": 0, "refused": 0}
        )["refused"] += int(count)
        overall["refused"] += int(count)
    accounts = conn.execute(accounts_sql, accounts_args).fetchone()
    overall["accounts"] = int(accounts[0]) if accounts else 0
    return {
        "overall": overall,
        "unit": unit,
        "by_time": sorted(by_time.items()),
        "by_centre": sorted(by_centre.items(), key=lambda kv: (kv[0] is None, kv[0] or "")),
    }


_ENTRY_COLUMNS = (
    "e.id, e.created_at, a.key_id, a.subject, e.kind, e.points, e.balance_after, e.source,"
    " e.reference, e.actor, e.note"
)


def recent_entries(conn: psycopg.Connection, limit: int = 50) -> list[dict[str, Any]]:
    """The newest entries of the whole ledger (primary key, backwards)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM points_entries e"  # noqa: S608 — constant
            " JOIN points_accounts a ON a.id = e.account_id ORDER BY e.id DESC LIMIT %s",
            (max(1, min(MAX_RECENT, limit)),),
        ).fetchall()


_REDEMPTION_COLUMNS = (
    "r.redemption_id::text AS redemption_id, r.created_at, r.key_id, r.subject, r.reward_id,"
    " w.title_zh, w.title_en, r.points, r.outcome, r.reason, r.voucher, r.kiosk"
)
_REDEMPTION_FROM = (
    " FROM points_redemptions r LEFT JOIN points_rewards w ON w.reward_id = r.reward_id"
)


def recent_redemptions(
    conn: psycopg.Connection, outcome: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The newest redemptions (UUIDv7 order: primary key, backwards), redeemed or refused."""
    where = "" if outcome is None else " WHERE r.outcome = %s"
    params: tuple[Any, ...] = () if outcome is None else (outcome,)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {_REDEMPTION_COLUMNS}{_REDEMPTION_FROM}{where}"
            " ORDER BY r.redemption_id DESC LIMIT %s",
            (*params, max(1, min(MAX_RECENT, limit))),
        ).fetchall()


def search(conn: psycopg.Connection, prefix: str, limit: int = MAX_SEARCH) -> list[dict[str, Any]]:
    """Accounts whose pseudonym starts with `prefix` (lowercase hex), under any key id.

    The unique index leads with key_id, so the few key ids are walked one by one (a loose
    index scan) and each gives a range of subjects: prefix ≤ subject < prefix + 'g'.
    """
    if not HEX_PREFIX.match(prefix):
        return []
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "WITH RECURSIVE keys (key_id) AS ("
            " (SELECT key_id FROM points_accounts ORDER BY key_id LIMIT 1)"
            " UNION ALL SELECT (SELECT p.key_id FROM points_accounts p WHERE p.key_id > k.key_id"
            " ORDER BY p.key_id LIMIT 1) FROM keys k WHERE k.key_id IS NOT NULL)"
            " SELECT a.key_id, a.subject, a.balance, a.updated_at FROM keys,"
            " LATERAL (SELECT * FROM points_accounts p WHERE p.key_id = keys.key_id"
            " AND p.subject >= %s AND p.subject < %s ORDER BY p.subject LIMIT %s) a"
            " WHERE keys.key_id IS NOT NULL AND left(a.subject, %s) = %s"
            " ORDER BY a.subject, a.key_id LIMIT %s",
            (prefix, prefix + "g", limit, len(prefix), prefix, limit),
        ).fetchall()


@dataclass(frozen=True)
class Account:
    """One account as its page shows it."""

    id: int
    key_id: str
    subject: str
    balance: int
    created_at: datetime
    updated_at: datetime


def account(conn: psycopg.Connection, resident: Resident) -> Account | None:
    """The account of a pseudonym (None when the ledger has never seen it)."""
    row = conn.execute(
        "SELECT id, key_id, subject, balance, created_at, updated_at FROM points_accounts"
        " WHERE key_id = %s AND subject = %s",
        (resident.key_id, resident.subject),
    ).fetchone()
    return None if row is None else Account(*row)


def account_entries(
    conn: psycopg.Connection, account_id: int, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the account's entries, newest first, and how many there are."""
    count = conn.execute(
        "SELECT count(*) FROM points_entries WHERE account_id = %s", (account_id,)
    ).fetchone()
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM points_entries e"  # noqa: S608 — constant
            " JOIN points_accounts a ON a.id = e.account_id WHERE e.account_id = %s"
            " ORDER BY e.id DESC LIMIT %s OFFSET %s",
            (account_id, limit, offset),
        ).fetchall()
    return rows, int(count[0]) if count else 0


def account_redemptions(
    conn: psycopg.Connection, account_id: int, limit: int = MAX_RECENT
) -> list[dict[str, Any]]:
    """The account's redemptions, newest first (refusals included)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {_REDEMPTION_COLUMNS}{_REDEMPTION_FROM} WHERE r.account_id = %s"
            " ORDER BY r.created_at DESC LIMIT %s",
            (account_id, limit),
        ).fetchall()


def period_entries(conn: psycopg.Connection, period: Period) -> list[dict[str, Any]]:
    """Every entry of the period (the export), oldest first, at most MAX_EXPORT_ROWS."""
    first_id, end_id = entry_range(conn, period)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM points_entries e"  # noqa: S608 — constant
            " JOIN points_accounts a ON a.id = e.account_id WHERE e.id >= %s AND e.id < %s"
            " AND e.created_at >= %s AND e.created_at < %s ORDER BY e.id LIMIT %s",
            (first_id, end_id, period.start, period.end, MAX_EXPORT_ROWS),
        ).fetchall()


def period_redemptions(conn: psycopg.Connection, period: Period) -> list[dict[str, Any]]:
    """Every redemption of the period (the export), oldest first, at most MAX_EXPORT_ROWS."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {_REDEMPTION_COLUMNS}{_REDEMPTION_FROM}"
            " WHERE r.redemption_id >= %s::uuid AND r.redemption_id < %s::uuid"
            " ORDER BY r.redemption_id LIMIT %s",
            (uuid7_floor(period.start), uuid7_floor(period.end), MAX_EXPORT_ROWS),
        ).fetchall()
