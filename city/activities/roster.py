"""An activity's roster: the sign-ups (pseudonyms only, never names), staff decisions, attendance
and the CSV / .xlsx export (city/reports/export.py's writers, formula-safe).

Every staff decision locks the activity row first, as the ingest does, so a decision and an
allocation never both take the last place. Attendance credits the activity's red points through
city/points/ledger.py (source `attendance`, reference `activity:ID`): the ledger's unique
(account, source, reference) makes a second credit impossible.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from city.activities.allocation import reason_text
from city.activities.results import send_result
from city.activities.service import ActivityError, get_activity
from city.points.ledger import Resident, earn
from city.reports.labels import Lang
from city.reports.table import Cell, Column, Report, Table

MAX_STAFF_REASON = 200
ROSTER_STATES = ("requested", "confirmed", "refused", "cancelled")

ROSTER = """
SELECT s.signup_id::text, s.key_id, s.subject, s.kiosk, s.signed_up_at, s.received_at,
       s.state, s.reason, s.decided_at, s.decided_by, s.cancelled_at, s.attended_at,
       s.attended_by, s.points_credited, c.state AS delivery
FROM activity_signups s
LEFT JOIN LATERAL (
    SELECT state FROM commands WHERE type = 'activity_signup_result'
      AND args ->> 'signup_id' = s.signup_id::text
    ORDER BY state = 'cancelled', created_at DESC LIMIT 1  -- a superseded answer is never latest
) c ON true
WHERE s.activity_id = %(activity)s AND (%(state)s::text IS NULL OR s.state = %(state)s)
ORDER BY s.signed_up_at NULLS LAST, s.event_id, s.signup_id
LIMIT %(limit)s OFFSET %(offset)s
"""


def roster(
    conn: psycopg.Connection,
    activity_id: str,
    *,
    state: str | None = None,
    limit: int | None = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The sign-ups in allocation order (first come first), with their answer's delivery."""
    cur = conn.execute(
        ROSTER,
        {"activity": activity_id, "state": state, "limit": limit, "offset": offset},
    )
    names = [d.name for d in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def counts(conn: psycopg.Connection, activity_id: str) -> dict[str, int]:
    """Sign-ups per state (and `attended`)."""
    found = dict.fromkeys(ROSTER_STATES, 0)
    for state, number in conn.execute(
        "SELECT state, count(*) FROM activity_signups WHERE activity_id = %s GROUP BY 1",
        (activity_id,),
    ):
        found[str(state)] = int(number)
    row = conn.execute(
        "SELECT count(*) FROM activity_signups WHERE activity_id = %s AND attended_at IS NOT NULL",
        (activity_id,),
    ).fetchone()
    found["attended"] = int(row[0]) if row else 0
    return found


def _signup(conn: psycopg.Connection, activity_id: str, signup_id: str) -> dict[str, Any]:
    cur = conn.execute(
        "SELECT signup_id::text, kiosk, key_id, subject, state, attended_at FROM activity_signups"
        " WHERE activity_id = %s AND signup_id = %s FOR UPDATE",
        (activity_id, signup_id),
    )
    row = cur.fetchone()
    if row is None:
        raise ActivityError("activities.signup.unknown")
    names = [d.name for d in cur.description or ()]
    return dict(zip(names, row, strict=True))


def confirm(conn: psycopg.Connection, activity_id: str, signup_id: str, *, by: str) -> None:
    """Staff give a requested or refused sign-up a place (while one is left); the kiosk is told.
    The caller commits."""
    activity = get_activity(conn, activity_id, lock=True)
    if activity is None:
        raise ActivityError("activities.unknown")
    if activity["state"] != "published":
        raise ActivityError("activities.error.not_published")
    signup = _signup(conn, activity_id, signup_id)
    if signup["state"] not in ("requested", "refused"):
        raise ActivityError("activities.error.cannot_confirm")
    if activity["confirmed"] >= activity["capacity"]:
        raise ActivityError("activities.error.full")
    other = conn.execute(
        "SELECT 1 FROM activity_signups WHERE activity_id = %s AND key_id = %s AND subject = %s"
        " AND state IN ('requested', 'confirmed') AND signup_id <> %s",
        (activity_id, signup["key_id"], signup["subject"], signup_id),
    ).fetchone()
    if other is not None:
        raise ActivityError("activities.error.duplicate")
    conn.execute(
        "UPDATE activity_signups SET state = 'confirmed', reason = '', decided_at = now(),"
        " decided_by = %s WHERE signup_id = %s",
        (by, signup_id),
    )
    conn.execute(
        "UPDATE activities SET confirmed = confirmed + 1, places_changed_at = now() WHERE id = %s",
        (activity_id,),
    )
    send_result(conn, signup["kiosk"], signup_id, "confirmed", requested_by=by)


def refuse(
    conn: psycopg.Connection, activity_id: str, signup_id: str, *, by: str, reason: str = ""
) -> None:
    """Staff refuse a requested or confirmed sign-up (a confirmed one frees its place), with
    plain words for the resident (default: 工作人员未能确认您的报名). The caller commits."""
    activity = get_activity(conn, activity_id, lock=True)
    if activity is None:
        raise ActivityError("activities.unknown")
    signup = _signup(conn, activity_id, signup_id)
    if signup["state"] not in ("requested", "confirmed") or signup["attended_at"] is not None:
        raise ActivityError("activities.error.cannot_refuse")
    # one printable line: the kiosk drops an answer whose reason has a newline or a control
    words = " ".join("".join(ch if ch.isprintable() else " " for ch in reason).split())
    words = words[:MAX_STAFF_REASON] or reason_text("staff")
    conn.execute(
        "UPDATE activity_signups SET state = 'refused', reason = %s, decided_at = now(),"
        " decided_by = %s WHERE signup_id = %s",
        (words, by, signup_id),
    )
    if signup["state"] == "confirmed":
        conn.execute(
            "UPDATE activities SET confirmed = confirmed - 1, places_changed_at = now()"
            " WHERE id = %s",
            (activity_id,),
        )
    send_result(conn, signup["kiosk"], signup_id, "refused", words, requested_by=by)


def mark_attended(
    conn: psycopg.Connection, activity_id: str, signup_id: str, *, by: str
) -> tuple[bool, int]:
    """Mark a confirmed sign-up attended and credit the activity's points once; (newly marked,
    points credited now). The caller commits."""
    activity = get_activity(conn, activity_id)
    if activity is None:
        raise ActivityError("activities.unknown")
    signup = _signup(conn, activity_id, signup_id)
    if signup["state"] != "confirmed":
        raise ActivityError("activities.error.not_confirmed")
    if signup["attended_at"] is not None:
        return False, 0
    credited = 0
    if activity["points"] > 0:
        _balance, done = earn(
            conn,
            Resident(signup["key_id"], signup["subject"]),
            activity["points"],
            source="attendance",
            reference=f"activity:{activity_id}",
            actor=by,
            note=activity["title_zh"],
        )
        credited = activity["points"] if done else 0
    conn.execute(
        "UPDATE activity_signups SET attended_at = now(), attended_by = %s, points_credited = %s"
        " WHERE signup_id = %s",
        (by, credited, signup_id),
    )
    return True, credited


STATE_WORDS: dict[str, tuple[str, str]] = {
    "requested": ("待确认", "Waiting for staff"),
    "confirmed": ("已确认", "Confirmed"),
    "refused": ("未通过", "Refused"),
    "cancelled": ("已取消", "Cancelled"),
}
EXPORT_COLUMNS = (
    Column("order", "序号", "No."),
    Column("signed_up_at", "报名时间", "Signed up at"),
    Column("key_id", "密钥编号", "Key id"),
    Column("subject", "居民假名", "Resident pseudonym"),
    Column("kiosk", "终端", "Kiosk"),
    Column("state", "状态", "State"),
    Column("reason", "原因", "Reason"),
    Column("decided_at", "决定时间", "Decided at"),
    Column("decided_by", "决定人", "Decided by"),
    Column("attended_at", "签到时间", "Attended at"),
    Column("points", "积分", "Points"),
)


def _local(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    return None if moment is None else moment.astimezone(zone).replace(tzinfo=None)


def roster_report(
    conn: psycopg.Connection, activity: dict[str, Any], zone: ZoneInfo, lang: Lang
) -> Report:
    """The whole roster as one table (pseudonyms, never names) for to_csv / to_xlsx."""
    pick = 0 if lang == "zh" else 1
    rows: list[tuple[Cell, ...]] = []
    for number, s in enumerate(roster(conn, activity["id"], limit=None), start=1):
        rows.append(
            (
                number,
                _local(s["signed_up_at"], zone),
                s["key_id"],
                s["subject"],
                s["kiosk"],
                STATE_WORDS[s["state"]][pick],
                s["reason"] or None,
                _local(s["decided_at"], zone),
                s["decided_by"],
                _local(s["attended_at"], zone),
                s["points_credited"],
            )
        )
    title = activity["title_zh"] if lang == "zh" else activity["title_en"]
    day = activity["starts_at"].astimezone(zone).date()
    table = Table("roster", ("报名名单", "Roster"), EXPORT_COLUMNS, rows)
    return Report(
        f"roster-{activity['id']}",
        (f"{title} 报名名单", f"{title}: roster"),
        (day, day),
        f"{activity['city']}/{activity['centre']}",
        (table,),
    )
