"""A big red points ledger written by PostgreSQL itself (generate_series), for `make bench`
(section console) and the query-plan test: accounts, entries spread over a time window in id
order (as the ledger appends them: ids follow time, city/points/staff.py), a redemption row for
every redeem entry (UUIDv7 ids from the entry's time) and refusals beside them.

Not a ledger the rules would produce (balances are not the sums): it is for timing and plans.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg

CHUNK = 200_000
KEY_ID = "bench-key"
CENTRES = 50

ACCOUNTS = """
INSERT INTO points_accounts (key_id, subject, balance, created_at, updated_at)
SELECT %(key)s, encode(sha256(convert_to(g::text, 'UTF8')), 'hex'), 1000,
       %(start)s, %(end)s
FROM generate_series(1, %(accounts)s) g
"""
# every 10th entry a redemption at one of CENTRES centres' kiosks, the rest credits by staff
ENTRIES = """
INSERT INTO points_entries (account_id, kind, points, balance_after, source, reference, actor,
                            created_at)
SELECT %(first_account)s + (g::bigint * 7919) %% %(accounts)s,
       CASE WHEN g %% 10 = 0 THEN 'redeem' ELSE 'earn' END,
       CASE WHEN g %% 10 = 0 THEN -20 ELSE 10 END,
       1000,
       CASE WHEN g %% 10 = 0 THEN 'redemption' WHEN g %% 2 = 0 THEN 'attendance'
            ELSE 'volunteering' END,
       'bulk-' || g,
       CASE WHEN g %% 10 = 0
            THEN 'kiosk:440300/centre-' || lpad(((g / 10) %% %(centres)s)::text, 4, '0')
                 || '/kiosk-00'
            ELSE 'bench' END,
       %(start)s + (%(end)s - %(start)s) * (g::float8 / %(entries)s)
FROM generate_series(%(low)s, %(high)s) g ORDER BY g
"""
UUID7 = (
    "(lpad(to_hex((extract(epoch FROM {ts}) * 1000)::bigint), 12, '0') || '7'"
    " || substr(md5({seed}), 1, 3) || '8' || substr(md5({seed}), 4, 15))::uuid"
)
REDEMPTIONS = f"""
INSERT INTO points_redemptions (redemption_id, account_id, key_id, subject, reward_id, points,
                                outcome, reason, entry_id, voucher, kiosk, call_id, answer,
                                created_at)
SELECT {UUID7.format(ts="e.created_at", seed="e.id::text")}, e.account_id, a.key_id, a.subject,
       'haircut', 20, 'redeemed', NULL, e.id, 'B' || e.id, substr(e.actor, 7),
       gen_random_uuid(), '{{}}'::jsonb, e.created_at
FROM points_entries e JOIN points_accounts a ON a.id = e.account_id
WHERE e.kind = 'redeem' AND e.id BETWEEN %(low)s AND %(high)s
UNION ALL
SELECT {UUID7.format(ts="e.created_at", seed="'refused' || e.id::text")}, e.account_id,
       a.key_id, a.subject, 'haircut', 20, 'refused', 'insufficient_points', NULL, NULL,
       substr(e.actor, 7), gen_random_uuid(), '{{"reason": "insufficient_points"}}'::jsonb,
       e.created_at
FROM points_entries e JOIN points_accounts a ON a.id = e.account_id
WHERE e.kind = 'redeem' AND e.id %% 50 = 0 AND e.id BETWEEN %(low)s AND %(high)s
"""


def seed_points_bulk(db_url: str, entries: int, *, start: datetime, end: datetime) -> None:
    """`entries` entries over [start, end) (one account per 10 entries), in chunks; then
    ANALYZE. Run it before anything else writes entries (ids must follow time)."""
    accounts = max(1, entries // 10)
    with psycopg.connect(db_url) as conn:
        conn.execute(ACCOUNTS, {"key": KEY_ID, "accounts": accounts, "start": start, "end": end})
        row = conn.execute(
            "SELECT min(id) FROM points_accounts WHERE key_id = %s", (KEY_ID,)
        ).fetchone()
        first_account = int(row[0]) if row and row[0] is not None else 1
    for low in range(1, entries + 1, CHUNK):
        high = min(entries, low + CHUNK - 1)
        with psycopg.connect(db_url) as conn:
            conn.execute(
                ENTRIES,
                {
                    "first_account": first_account,
                    "accounts": accounts,
                    "centres": CENTRES,
                    "start": start,
                    "end": end,
                    "entries": entries,
                    "low": low,
                    "high": high,
                },
            )
            span = conn.execute("SELECT max(id) FROM points_entries").fetchone()
            top = int(span[0]) if span and span[0] is not None else 0
            conn.execute(REDEMPTIONS, {"low": top - (high - low), "high": top})
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("ANALYZE points_accounts, points_entries, points_redemptions")


def bench_window(now: datetime, days: int = 400) -> tuple[datetime, datetime]:
    """The bulk's window: `days` back to four weeks ago, before the console demo's entries."""
    return now - timedelta(days=days), now - timedelta(days=28)
