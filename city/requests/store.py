"""Requests in PostgreSQL: the inbox, one request and its history, and staff actions.

Tables in city/migrations/0008_requests.sql. Each action locks the request's row
(SELECT … FOR UPDATE), checks the transition table (city/requests/model.py), updates the row
and appends to request_history, all in the caller's transaction, so two operators acting at
once are serialised and the second sees what the first did. The call-back number never
leaves here in clear: rows carry it sealed, and only city/requests/keys.py opens it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from city.requests.model import (
    ANSWER_STATES,
    OPEN_STATES,
    STATES,
    State,
    next_state,
)

MAX_STATUS_LIMIT = 20
EXPORT_LIMIT = 50_000
LOCK_TIMEOUT = "5s"
StateFilter = str  # "open", "all" or one of STATES
STATE_FILTERS: tuple[str, ...] = ("open", "all", *STATES)


class NotFound(LookupError):
    """No request with that id."""


class AssigneeError(ValueError):
    """The assignee is not an enabled operator or admin."""


@dataclass(frozen=True)
class RequestRow:
    """One request as the console shows it (the call-back number sealed)."""

    request_id: str
    ticket: str
    kiosk: str
    city: str
    centre: str
    district: str | None
    category: str
    building: str | None
    unit: str | None
    text: str
    callback_sealed: str | None
    callback_key_id: str | None
    key_id: str
    subject: str
    submitted_at: datetime
    received_at: datetime
    state: State
    assignee: str | None
    answer: str | None
    updated_at: datetime

    @property
    def location(self) -> str:
        """Building and unit as the resident chose them ('' for none)."""
        return " ".join(p for p in (self.building, self.unit) if p)

    @property
    def has_callback(self) -> bool:
        """The resident asked for a call back."""
        return self.callback_sealed is not None


@dataclass(frozen=True)
class HistoryRow:
    """One entry of request_history."""

    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str
    assignee: str | None
    answer: str | None
    note: str


@dataclass(frozen=True)
class InboxFilter:
    """What the inbox shows: a state filter, and optionally category, centre, assignee, ticket."""

    state: StateFilter = "open"
    category: str | None = None
    city: str | None = None
    centre: str | None = None
    assignee: str | None = None
    ticket: str | None = None


_FIELDS = (
    "request_id::text, ticket, kiosk, city, centre, district, category, building, unit, text,"
    " callback_sealed, callback_key_id, key_id, subject, submitted_at, received_at, state,"
    " assignee, answer, updated_at"
)


def _where(f: InboxFilter, *, with_state: bool = True) -> tuple[sql.Composable, list[Any]]:
    parts: list[sql.Composable] = [sql.SQL("TRUE")]
    params: list[Any] = []
    if with_state and f.state == "open":
        parts.append(sql.SQL("state = ANY(%s)"))
        params.append(list(OPEN_STATES))
    elif with_state and f.state != "all":
        parts.append(sql.SQL("state = %s"))
        params.append(f.state)
    for column, value in (
        ("category", f.category),
        ("city", f.city),
        ("centre", f.centre),
        ("assignee", f.assignee),
        ("ticket", f.ticket),
    ):
        if value is not None:
            parts.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
            params.append(value)
    return sql.SQL(" AND ").join(parts), params


def list_requests(
    conn: psycopg.Connection, f: InboxFilter, *, limit: int | None, offset: int = 0
) -> list[RequestRow]:
    """The inbox page: waiting requests oldest first (who waits longest comes first), the
    others newest first; `limit` None for an export (capped at EXPORT_LIMIT)."""
    where, params = _where(f)
    order = (
        "submitted_at, request_id"
        if f.state in ("open", "received", "assigned")
        else ("submitted_at DESC, request_id DESC")
    )
    query = sql.SQL("SELECT {} FROM requests WHERE {} ORDER BY {} LIMIT %s OFFSET %s").format(
        sql.SQL(_FIELDS), where, sql.SQL(order)
    )
    rows = conn.execute(query, [*params, limit or EXPORT_LIMIT, offset]).fetchall()
    return [RequestRow(*row) for row in rows]


def state_counts(conn: psycopg.Connection, f: InboxFilter) -> dict[str, int]:
    """Requests per state under the other filters, plus `open` and `all`."""
    where, params = _where(f, with_state=False)
    query = sql.SQL("SELECT state, count(*) FROM requests WHERE {} GROUP BY state").format(where)
    counts = dict.fromkeys(STATES, 0)
    for state, n in conn.execute(query, params).fetchall():
        counts[state] = int(n)
    out: dict[str, int] = {
        "open": sum(counts[s] for s in OPEN_STATES),
        "all": sum(counts.values()),
    }
    return out | counts


def oldest_open(conn: psycopg.Connection, f: InboxFilter) -> datetime | None:
    """When the longest-waiting request (received or assigned) was submitted.

    One min() per waiting state, not one over both: each is then the first entry of an index
    range ((state, submitted_at), or (assignee, state, submitted_at) for one assignee), where a
    min() over `state = ANY(…)` walked the whole year in submission order (111 ms at 200,000)."""
    parts, params = [], []
    for state in OPEN_STATES:
        where, values = _where(
            InboxFilter(state, f.category, f.city, f.centre, f.assignee, f.ticket)
        )
        parts.append(sql.SQL("(SELECT min(submitted_at) FROM requests WHERE {})").format(where))
        params += values
    query = sql.SQL("SELECT least({})").format(sql.SQL(", ").join(parts))
    row = conn.execute(query, params).fetchone()
    return None if row is None else row[0]


def get_request(conn: psycopg.Connection, request_id: str, *, lock: bool = False) -> RequestRow:
    """One request (locked FOR UPDATE with `lock`); NotFound when there is none."""
    suffix = " FOR UPDATE" if lock else ""
    if lock:  # a stuck lock fails the action (psycopg.errors.LockNotAvailable), not the page
        conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    row = conn.execute(
        f"SELECT {_FIELDS} FROM requests WHERE request_id = %s{suffix}",  # noqa: S608 — constants
        (request_id,),
    ).fetchone()
    if row is None:
        raise NotFound(request_id)
    return RequestRow(*row)


def history(conn: psycopg.Connection, request_id: str) -> list[HistoryRow]:
    """Every entry of the request's history, oldest first."""
    rows = conn.execute(
        "SELECT at, actor, action, from_state, to_state, assignee, answer, note"
        " FROM request_history WHERE request_id = %s ORDER BY id",
        (request_id,),
    ).fetchall()
    return [HistoryRow(*row) for row in rows]


def staff_who_act(conn: psycopg.Connection) -> list[str]:
    """Enabled operators and admins by name: who a request can be assigned to."""
    rows = conn.execute(
        "SELECT name FROM console_users WHERE NOT disabled AND role IN ('operator', 'admin')"
        " ORDER BY name LIMIT 1000"
    ).fetchall()
    return [r[0] for r in rows]


# Skip scans (one index probe per distinct value, not a scan of every request): the filter menus.
_CATEGORIES = """
WITH RECURSIVE c AS (
    (SELECT category FROM requests ORDER BY category LIMIT 1)
    UNION ALL
    SELECT (SELECT r.category FROM requests r WHERE r.category > c.category
            ORDER BY r.category LIMIT 1)
    FROM c WHERE c.category IS NOT NULL
)
SELECT category FROM c WHERE category IS NOT NULL LIMIT 100
"""
_CENTRES = """
WITH RECURSIVE c AS (
    (SELECT city, centre FROM requests ORDER BY city, centre LIMIT 1)
    UNION ALL
    SELECT n.city, n.centre FROM c, LATERAL (
        SELECT r.city, r.centre FROM requests r WHERE (r.city, r.centre) > (c.city, c.centre)
        ORDER BY r.city, r.centre LIMIT 1) n
)
SELECT city || '/' || centre FROM c LIMIT 5000
"""


def categories(conn: psycopg.Connection) -> list[str]:
    """The categories requests have (the inbox's filter menu)."""
    return [r[0] for r in conn.execute(_CATEGORIES).fetchall()]


def centres(conn: psycopg.Connection) -> list[str]:
    """CITY/CENTRE of every centre with requests (the inbox's filter menu)."""
    return [r[0] for r in conn.execute(_CENTRES).fetchall()]


def _lock(conn: psycopg.Connection, request_id: str) -> RequestRow:
    return get_request(conn, request_id, lock=True)


def _record(
    conn: psycopg.Connection,
    request: RequestRow,
    *,
    actor: str,
    action: str,
    to_state: str,
    now: datetime,
    assignee: str | None = None,
    answer: str | None = None,
    note: str = "",
) -> None:
    conn.execute(
        "INSERT INTO request_history (request_id, at, actor, action, from_state, to_state,"
        " assignee, answer, note) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (request.request_id, now, actor, action, request.state, to_state, assignee, answer, note),
    )


def assign(
    conn: psycopg.Connection,
    request_id: str,
    assignee: str,
    *,
    actor: str,
    now: datetime,
    note: str = "",
) -> RequestRow:
    """Give the request to `assignee` (received → assigned; later states keep theirs)."""
    request = _lock(conn, request_id)
    after = next_state(request.state, "assign")
    if assignee not in staff_who_act(conn):
        raise AssigneeError(assignee)
    # updated_at is "the last change of state or answer" (the contract's): a re-assignment
    # within a state is staff's business, not news for the resident
    conn.execute(
        "UPDATE requests SET assignee = %s, updated_at = CASE WHEN state = %s THEN updated_at"
        " ELSE %s END, state = %s WHERE request_id = %s",
        (assignee, after, now, after, request_id),
    )
    _record(
        conn,
        request,
        actor=actor,
        action="assign",
        to_state=after,
        now=now,
        assignee=assignee,
        note=note,
    )
    return get_request(conn, request_id)


def answer(
    conn: psycopg.Connection,
    request_id: str,
    text: str,
    *,
    actor: str,
    now: datetime,
    note: str = "",
) -> RequestRow:
    """Store the answer for the resident (`text` checked by model.parse_answer): → answered."""
    request = _lock(conn, request_id)
    after = next_state(request.state, "answer")
    conn.execute(
        "UPDATE requests SET state = %s, answer = %s, updated_at = %s WHERE request_id = %s",
        (after, text, now, request_id),
    )
    _record(
        conn, request, actor=actor, action="answer", to_state=after, now=now, answer=text, note=note
    )
    return get_request(conn, request_id)


def close(
    conn: psycopg.Connection, request_id: str, *, actor: str, now: datetime, note: str = ""
) -> RequestRow:
    """answered → closed (a request is never closed without an answer for the resident)."""
    request = _lock(conn, request_id)
    after = next_state(request.state, "close")
    conn.execute(
        "UPDATE requests SET state = %s, updated_at = %s WHERE request_id = %s",
        (after, now, request_id),
    )
    _record(conn, request, actor=actor, action="close", to_state=after, now=now, note=note)
    return get_request(conn, request_id)


def resident_requests(
    conn: psycopg.Connection, key_id: str, subject: str, limit: int
) -> list[dict[str, Any]]:
    """`requests.status` data: the resident's newest requests (contract answer items), the
    answer only once answered. Pseudonym in, pseudonym-free items out (no text, no phone)."""
    from city.points.ledger import format_ts

    bounded = max(1, min(MAX_STATUS_LIMIT, limit))
    rows = conn.execute(
        "SELECT request_id::text, ticket, category, state, submitted_at, updated_at, answer"
        " FROM requests WHERE key_id = %s AND subject = %s"
        " ORDER BY submitted_at DESC, request_id DESC LIMIT %s",
        (key_id, subject, bounded),
    ).fetchall()
    items = []
    for request_id, ticket, category, state, submitted_at, updated_at, text in rows:
        item: dict[str, Any] = {
            "request_id": request_id,
            "ticket": ticket,
            "category": category,
            "state": state,
            "submitted_at": format_ts(submitted_at),
            "updated_at": format_ts(updated_at),
        }
        if state in ANSWER_STATES and text:
            item["answer"] = text
        items.append(item)
    return items
