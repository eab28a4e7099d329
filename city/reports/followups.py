"""Follow-ups (整改) of 差评: listed, answered and closed by city staff.

The ingest opens one per rating event at level 1-2 (city/reports/rollup.py, keyed on the event
id). Status: open → answered (someone wrote what was done) → closed; closing an open item
needs the answer in the same step, so nothing is closed without one. A follow-up is overdue
when it was not answered by its due day (local), or still is not.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

from city.reports.filters import FilterError, ReportFilter
from city.reports.labels import Lang, code_label, level_label
from city.reports.rollup import FollowUp
from city.reports.scope import day_scope, query
from city.reports.table import Cell, Column, Report, Table

Status = Literal["open", "answered", "closed"]
StatusFilter = Literal["all", "open", "answered", "closed", "overdue"]
STATUS_FILTERS: tuple[StatusFilter, ...] = ("all", "open", "answered", "closed", "overdue")
MAX_ANSWER_CHARS = 2000
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
LIST_LIMIT = 5000


class AnswerError(ValueError):
    """The answer cannot be stored; the message says why."""


def parse_answer(text: str) -> str:
    """An answer: 1-2000 characters after trimming, no control characters but line breaks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise AnswerError("the answer must not be empty")
    if len(text) > MAX_ANSWER_CHARS:
        raise AnswerError(f"the answer is longer than {MAX_ANSWER_CHARS} characters")
    if CONTROL.search(text):
        raise AnswerError("the answer holds control characters")
    return text


def parse_status(text: str | None) -> StatusFilter:
    """'' → all; otherwise one of STATUS_FILTERS."""
    value = (text or "all").strip() or "all"
    for option in STATUS_FILTERS:
        if value == option:
            return option
    raise FilterError("status: expected one of " + ", ".join(STATUS_FILTERS))


def parse_event_id(text: str) -> str:
    """A follow-up's id: the rating event's UUID."""
    try:
        return str(uuid.UUID(text.strip()))
    except (ValueError, AttributeError):
        raise FilterError("not a follow-up id") from None


@dataclass(frozen=True)
class FollowUpRow(FollowUp):
    """One follow-up as listed: the 差评 it follows up, and where its answer stands."""

    status: Status
    answer: str | None
    answered_by: str | None
    answered_at: datetime | None
    closed_by: str | None
    closed_at: datetime | None

    def overdue(self, today: date, zone: ZoneInfo) -> bool:
        """Not answered by the due day (or still not answered after it)."""
        if self.answered_at is None:
            return today > self.due_day
        return self.answered_at.astimezone(zone).date() > self.due_day


SELECT = (
    "SELECT event_id, kiosk, city, centre, item, level, reasons, rated_at, rated_day, due_day,"
    " status, answer, answered_by, answered_at, closed_by, closed_at FROM report_followups"
)


def _row(values: tuple[Any, ...]) -> FollowUpRow:
    event_id, *rest = values
    row = list(rest)
    row[5] = tuple(row[5])
    return FollowUpRow(str(event_id), *row)


def list_followups(
    conn: psycopg.Connection,
    f: ReportFilter,
    status: StatusFilter = "all",
    *,
    today: date,
    limit: int | None = LIST_LIMIT,
    offset: int = 0,
) -> list[FollowUpRow]:
    """Follow-ups of 差评 given in the period, oldest due first (`limit` from `offset`;
    None: all of them, for exports)."""
    where, params = day_scope(f, "rated_day")
    if status == "overdue":
        where = sql.SQL("{} AND status = 'open' AND due_day < %s").format(where)
        params.append(today)
    elif status != "all":
        where = sql.SQL("{} AND status = %s").format(where)
        params.append(status)
    cur = conn.execute(
        query(
            SELECT + " WHERE {where} ORDER BY due_day, rated_at, event_id LIMIT %s OFFSET %s",
            where,
        ),
        [*params, limit, offset],
    )
    return [_row(v) for v in cur.fetchall()]


def followup_counts(conn: psycopg.Connection, f: ReportFilter, *, today: date) -> dict[str, int]:
    """How many follow-ups of the period are in each status filter (all, open, …, overdue)."""
    where, params = day_scope(f, "rated_day")
    row = conn.execute(
        query(
            "SELECT count(*), count(*) FILTER (WHERE status = 'open'),"
            " count(*) FILTER (WHERE status = 'answered'),"
            " count(*) FILTER (WHERE status = 'closed'),"
            " count(*) FILTER (WHERE status = 'open' AND due_day < %s)"
            " FROM report_followups WHERE {where}",
            where,
        ),
        [today, *params],
    ).fetchone()
    return dict(zip(STATUS_FILTERS, row or (0,) * 5, strict=True))


def get_followup(conn: psycopg.Connection, event_id: str) -> FollowUpRow | None:
    """One follow-up by id."""
    values = conn.execute(SELECT + " WHERE event_id = %s", (event_id,)).fetchone()
    return None if values is None else _row(values)


def answer_followup(
    conn: psycopg.Connection, event_id: str, answer: str, by: str, now: datetime
) -> bool:
    """open → answered with `answer` (not committed here); False if it is not open."""
    text = parse_answer(answer)
    cur = conn.execute(
        "UPDATE report_followups SET status = 'answered', answer = %s, answered_by = %s,"
        " answered_at = %s WHERE event_id = %s AND status = 'open'",
        (text, by, now, event_id),
    )
    return cur.rowcount == 1


def close_followup(
    conn: psycopg.Connection, event_id: str, by: str, now: datetime, answer: str | None = None
) -> bool:
    """answered → closed, or open → closed with `answer` in the same step (not committed).

    False when there is no such open/answered follow-up, or it is open and no answer is given.
    """
    if answer is not None and answer.strip():
        text = parse_answer(answer)
        cur = conn.execute(
            "UPDATE report_followups SET status = 'closed', answer = %s, answered_by = %s,"
            " answered_at = %s, closed_by = %s, closed_at = %s"
            " WHERE event_id = %s AND status = 'open'",
            (text, by, now, by, now, event_id),
        )
        if cur.rowcount == 1:
            return True
    cur = conn.execute(
        "UPDATE report_followups SET status = 'closed', closed_by = %s, closed_at = %s"
        " WHERE event_id = %s AND status = 'answered'",
        (by, now, event_id),
    )
    return cur.rowcount == 1


def followups_report(
    conn: psycopg.Connection,
    f: ReportFilter,
    status: StatusFilter = "all",
    *,
    today: date,
    timezone: str,
    lang: Lang = "zh",
) -> Report:
    """The follow-up list as one table (answers are staff text: the export makes them safe)."""
    zone = ZoneInfo(timezone)
    rows: list[tuple[Cell, ...]] = []
    yes, no = ("是", "否") if lang == "zh" else ("yes", "no")
    for r in list_followups(conn, f, status, today=today, limit=None):
        rows.append(
            (
                r.event_id,
                r.city,
                r.centre,
                r.kiosk,
                r.item,
                level_label(r.level, lang),
                "；".join(code_label("reason", x, lang) for x in r.reasons),
                r.rated_at.astimezone(zone).replace(tzinfo=None),
                r.due_day,
                code_label("status", r.status, lang),
                yes if r.overdue(today, zone) else no,
                r.answer,
                r.answered_by,
                None
                if r.answered_at is None
                else r.answered_at.astimezone(zone).replace(tzinfo=None),
                r.closed_by,
                None if r.closed_at is None else r.closed_at.astimezone(zone).replace(tzinfo=None),
            )
        )
    columns = (
        Column("id", "编号", "ID"),
        Column("city", "城市", "City"),
        Column("centre", "服务中心", "Centre"),
        Column("kiosk", "终端", "Kiosk"),
        Column("item", "服务事项", "Service item"),
        Column("level", "评价等级", "Level"),
        Column("reasons", "差评原因", "Reasons"),
        Column("rated_at", "评价时间", "Rated at"),
        Column("due_day", "整改期限", "Due"),
        Column("status", "状态", "Status"),
        Column("overdue", "是否逾期", "Overdue"),
        Column("answer", "整改答复", "Answer"),
        Column("answered_by", "答复人", "Answered by"),
        Column("answered_at", "答复时间", "Answered at"),
        Column("closed_by", "办结人", "Closed by"),
        Column("closed_at", "办结时间", "Closed at"),
    )
    table = Table("followups", ("差评整改", "Follow-ups of poor ratings"), columns, rows)
    return Report(
        "followups",
        ("差评整改清单", "Follow-up list"),
        (f.first, f.last),
        f.centre_label(),
        (table,),
    )
