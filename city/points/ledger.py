"""The red points ledger (红色积分) in PostgreSQL: earn, balance, history, catalogue, redeem.

Tables in city/migrations/0006_points.sql; the rules in docs/points.md. Every function here is
one transaction of its own on an autocommit connection (`city.db.connect(url, autocommit=True)`).

Double spending is impossible by two rules:
- a redemption is idempotent on its `redemption_id` (the primary key of points_redemptions): a
  retried or duplicated call finds the first outcome and returns it unchanged;
- redemptions of one balance are serialised by a row lock on the account (SELECT … FOR UPDATE,
  READ COMMITTED): the second waits for the first to commit, then sees its balance. A row lock
  and not SERIALIZABLE: the conflict is known (one account row), so locking exactly it costs no
  retries and never aborts an unrelated transaction; a CHECK (balance >= 0) backs it up.
Locks are always taken account first, then reward, so two redemptions cannot deadlock.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import psycopg
from psycopg.types.json import Jsonb

from city.audit import record

EarnSource = Literal["attendance", "volunteering"]
EARN_SOURCES: tuple[EarnSource, ...] = ("attendance", "volunteering")
MAX_EARN_POINTS = 100_000
MAX_HISTORY = 50
VOUCHER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud and typed back
LOCK_TIMEOUT = "5s"


class LedgerError(ValueError):
    """A staff request the ledger refuses (bad points, unknown reward); the message says why."""


@dataclass(frozen=True)
class Resident:
    """A resident as the city knows them: a pseudonym under a key (never the ID number)."""

    key_id: str
    subject: str


@dataclass(frozen=True)
class Outcome:
    """A redemption's outcome: `data` when redeemed, else the refusal's `reason` code."""

    redeemed: bool
    data: dict[str, Any] | None = None
    reason: str | None = None
    replayed: bool = False  # the outcome of an earlier call with the same redemption_id


def format_ts(moment: datetime) -> str:
    """UTC with milliseconds, as the contract writes times: 2026-12-03T08:15:30.123Z."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def title_of(title_zh: str, title_en: str | None) -> dict[str, str]:
    """A reward's title as the contract carries it: {zh, en?}."""
    return {"zh": title_zh} if title_en is None else {"zh": title_zh, "en": title_en}


def new_voucher() -> str:
    """A voucher code such as 7K2M-Q9XD-3FHT: 60 random bits, unambiguous when read aloud."""
    chars = "".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(12))
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def prepare(conn: psycopg.Connection) -> None:
    """Session settings for ledger work: a stuck lock fails the call instead of hanging it."""
    conn.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")


_ACCOUNT = "SELECT id, balance FROM points_accounts WHERE key_id = %s AND subject = %s"
_ACCOUNT_FOR_UPDATE = _ACCOUNT + " FOR UPDATE"


def _account(conn: psycopg.Connection, resident: Resident, *, lock: bool) -> tuple[int, int]:
    """(id, balance) of the resident's account, created empty if new; locked FOR UPDATE."""
    conn.execute(
        "INSERT INTO points_accounts (key_id, subject) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (resident.key_id, resident.subject),
    )
    query = _ACCOUNT_FOR_UPDATE if lock else _ACCOUNT
    row = conn.execute(query, (resident.key_id, resident.subject)).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def balance(conn: psycopg.Connection, resident: Resident) -> int:
    """The resident's balance; 0 for a pseudonym the ledger has never seen (nothing created)."""
    row = conn.execute(
        "SELECT balance FROM points_accounts WHERE key_id = %s AND subject = %s",
        (resident.key_id, resident.subject),
    ).fetchone()
    return 0 if row is None else int(row[0])


def earn(
    conn: psycopg.Connection,
    resident: Resident,
    points: int,
    *,
    source: str,
    reference: str,
    actor: str,
    note: str = "",
    now: datetime | None = None,
) -> tuple[int, bool]:
    """Credit points for an attendance or volunteering (`reference`: the activity, the shift).

    Returns (balance, credited); credited is False when this (source, reference) was already
    credited to the resident: the same attendance never counts twice. Audited. `now` (demo
    and test data) must not be earlier than the ledger's newest entry: ids follow time
    (city/points/staff.py finds a period's entries by id).
    """
    if source not in EARN_SOURCES:
        raise LedgerError(f"source must be one of {', '.join(EARN_SOURCES)}")
    if not 1 <= points <= MAX_EARN_POINTS:
        raise LedgerError(f"points must be 1 to {MAX_EARN_POINTS}")
    if not 1 <= len(reference) <= 200:
        raise LedgerError("reference must be 1 to 200 characters")
    with conn.transaction():
        account_id, current = _account(conn, resident, lock=True)
        done = conn.execute(
            "SELECT 1 FROM points_entries WHERE account_id = %s AND source = %s AND reference = %s",
            (account_id, source, reference),
        ).fetchone()
        if done is not None:
            return current, False
        after = current + points
        conn.execute(
            "INSERT INTO points_entries (account_id, kind, points, balance_after, source,"
            " reference, note, actor, created_at)"
            " VALUES (%s, 'earn', %s, %s, %s, %s, %s, %s, coalesce(%s, now()))",
            (account_id, points, after, source, reference, note[:500], actor, now),
        )
        conn.execute(
            "UPDATE points_accounts SET balance = %s, updated_at = now() WHERE id = %s",
            (after, account_id),
        )
        record(
            conn,
            actor=actor,
            action="points.earn",
            subject=f"{resident.key_id}:{resident.subject[:12]}",
            detail={"points": points, "source": source, "reference": reference},
        )
    return after, True


def history(conn: psycopg.Connection, resident: Resident, limit: int = 10) -> list[dict[str, Any]]:
    """The newest `limit` entries as the contract's `entries` (no staff notes: they may name
    people)."""
    limit = max(1, min(MAX_HISTORY, limit))
    rows = conn.execute(
        "SELECT e.kind, e.points, e.source, e.created_at, r.answer -> 'title'"
        " FROM points_entries e JOIN points_accounts a ON a.id = e.account_id"
        " LEFT JOIN points_redemptions r ON r.entry_id = e.id"
        " WHERE a.key_id = %s AND a.subject = %s ORDER BY e.id DESC LIMIT %s",
        (resident.key_id, resident.subject, limit),
    ).fetchall()
    entries = []
    for kind, points, source, at, title in rows:
        entry: dict[str, Any] = {
            "kind": kind,
            "points": int(points),
            "source": source,
            "at": format_ts(at),
        }
        if isinstance(title, dict):
            entry["title"] = title
        entries.append(entry)
    return entries


def catalogue(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """The active rewards, cheapest first, as the contract's `rewards`."""
    rows = conn.execute(
        "SELECT reward_id, title_zh, title_en, points, stock FROM points_rewards"
        " WHERE active ORDER BY points, reward_id LIMIT 200"
    ).fetchall()
    return [
        {
            "reward_id": reward_id,
            "title": title_of(title_zh, title_en),
            "points": int(points),
            "available": stock is None or stock > 0,
        }
        for reward_id, title_zh, title_en, points, stock in rows
    ]


@dataclass(frozen=True)
class Reward:
    """One row of the catalogue as staff see it (withdrawn ones included)."""

    reward_id: str
    title_zh: str
    title_en: str | None
    points: int
    stock: int | None  # None: unlimited
    active: bool
    updated_at: datetime


_REWARD_COLUMNS = "reward_id, title_zh, title_en, points, stock, active, updated_at"


def rewards(conn: psycopg.Connection, limit: int = 500) -> list[Reward]:
    """Every reward, active first, then by price: the staff's catalogue (the kiosks see
    `catalogue`)."""
    rows = conn.execute(
        f"SELECT {_REWARD_COLUMNS} FROM points_rewards"  # noqa: S608 — constant
        " ORDER BY active DESC, points, reward_id LIMIT %s",
        (max(1, limit),),
    ).fetchall()
    return [Reward(*row) for row in rows]


def get_reward(conn: psycopg.Connection, reward_id: str) -> Reward | None:
    """One reward, active or withdrawn; None when there is none of that id."""
    row = conn.execute(
        f"SELECT {_REWARD_COLUMNS} FROM points_rewards WHERE reward_id = %s",  # noqa: S608 — constant
        (reward_id,),
    ).fetchone()
    return None if row is None else Reward(*row)


def set_reward(
    conn: psycopg.Connection,
    reward_id: str,
    *,
    title_zh: str,
    title_en: str | None,
    points: int,
    stock: int | None,
    active: bool,
    actor: str,
    new: bool = False,
) -> None:
    """Create or change a reward (audited); `new`: refuse an id that exists already (the
    console's create form, so a second "create" never overwrites a reward)."""
    conflict = (
        ""
        if new
        else " ON CONFLICT (reward_id) DO UPDATE SET"
        " title_zh = excluded.title_zh, title_en = excluded.title_en,"
        " points = excluded.points, stock = excluded.stock, active = excluded.active,"
        " updated_at = now()"
    )
    try:
        with conn.transaction():
            conn.execute(
                "INSERT INTO points_rewards (reward_id, title_zh, title_en, points, stock, active)"  # noqa: S608 — constant
                " VALUES (%s, %s, %s, %s, %s, %s)" + conflict,
                (reward_id, title_zh, title_en, points, stock, active),
            )
            record(
                conn,
                actor=actor,
                action="points.reward",
                subject=reward_id,
                detail={"points": points, "stock": stock, "active": active}
                | ({"created": True} if new else {}),
            )
    except psycopg.errors.UniqueViolation:
        raise LedgerError(f"reward {reward_id} exists already") from None
    except psycopg.errors.CheckViolation:
        raise LedgerError(
            "reward id: letters, digits, _ and -; title 1-60 characters; points 1-1000000;"
            " stock 0 or more"
        ) from None


def _stored(
    conn: psycopg.Connection,
    redemption_id: str,
    resident: Resident,
    reward_id: str,
    points: int,
) -> Outcome | None:
    row = conn.execute(
        "SELECT key_id, subject, reward_id, points, outcome, answer FROM points_redemptions"
        " WHERE redemption_id = %s",
        (redemption_id,),
    ).fetchone()
    if row is None:
        return None
    key_id, subject, stored_reward, stored_points, outcome, answer = row
    if (key_id, subject, stored_reward, stored_points) != (
        resident.key_id,
        resident.subject,
        reward_id,
        points,
    ):
        return Outcome(False, reason="redemption_conflict", replayed=True)
    if outcome == "redeemed":
        return Outcome(True, data=dict(answer), replayed=True)
    return Outcome(False, reason=str(answer["reason"]), replayed=True)


def _refusal(
    conn: psycopg.Connection,
    resident: Resident,
    reward: tuple[str, str | None, int, int | None, bool] | None,
    points: int,
    current: int,
) -> str | None:
    if reward is None:
        return "unknown_reward"
    _title_zh, _title_en, price, stock, active = reward
    if not active or (stock is not None and stock <= 0):
        return "reward_unavailable"
    if price != points:
        return "price_changed"
    if current < points:
        return "insufficient_points"
    return None


def redeem(
    conn: psycopg.Connection,
    resident: Resident,
    *,
    redemption_id: str,
    reward_id: str,
    points: int,
    kiosk: str,
    call_id: str,
    now: datetime | None = None,
) -> Outcome:
    """Spend `points` on `reward_id` once per `redemption_id`, whatever the retries."""
    early = _stored(conn, redemption_id, resident, reward_id, points)  # the cheap common retry
    if early is not None:
        return early
    try:
        with conn.transaction():
            account_id, current = _account(conn, resident, lock=True)
            # A duplicate of this call may have committed while we waited for the lock.
            late = _stored(conn, redemption_id, resident, reward_id, points)
            if late is not None:
                return late
            reward = conn.execute(
                "SELECT title_zh, title_en, points, stock, active FROM points_rewards"
                " WHERE reward_id = %s FOR UPDATE",
                (reward_id,),
            ).fetchone()
            reason = _refusal(conn, resident, reward, points, current)
            moment = now or datetime.now(UTC)
            entry_id = None
            voucher = None
            if reason is None:
                assert reward is not None
                after = current - points
                voucher = new_voucher()
                entry_row = conn.execute(
                    "INSERT INTO points_entries (account_id, kind, points, balance_after, source,"
                    " reference, actor, created_at) VALUES"
                    " (%s, 'redeem', %s, %s, 'redemption', %s, %s, %s) RETURNING id",
                    (account_id, -points, after, redemption_id, f"kiosk:{kiosk}", moment),
                ).fetchone()
                assert entry_row is not None
                entry_id = entry_row[0]
                conn.execute(
                    "UPDATE points_accounts SET balance = %s, updated_at = now() WHERE id = %s",
                    (after, account_id),
                )
                conn.execute(
                    "UPDATE points_rewards SET stock = stock - 1 WHERE reward_id = %s"
                    " AND stock IS NOT NULL",
                    (reward_id,),
                )
                answer: dict[str, Any] = {
                    "redemption_id": redemption_id,
                    "reward_id": reward_id,
                    "title": title_of(reward[0], reward[1]),
                    "points": points,
                    "balance": after,
                    "voucher": voucher,
                    "redeemed_at": format_ts(moment),
                }
            else:
                answer = {"reason": reason}
            conn.execute(
                "INSERT INTO points_redemptions (redemption_id, account_id, key_id, subject,"
                " reward_id, points, outcome, reason, entry_id, voucher, kiosk, call_id, answer,"
                " created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    redemption_id,
                    account_id,
                    resident.key_id,
                    resident.subject,
                    reward_id,
                    points,
                    "refused" if reason else "redeemed",
                    reason,
                    entry_id,
                    voucher,
                    kiosk,
                    call_id,
                    Jsonb(answer),
                    moment,
                ),
            )
    except psycopg.errors.UniqueViolation:
        # The same redemption_id raced in under another account (a different resident): the
        # primary key kept it to one; report what the first one decided.
        stored = _stored(conn, redemption_id, resident, reward_id, points)
        if stored is None:
            raise
        return stored
    if reason is None:
        return Outcome(True, data=answer)
    return Outcome(False, reason=reason)
