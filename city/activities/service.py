"""Activities as staff manage them: the form (pure, bounded, every problem by field), create,
edit, publish and cancel (docs/activities.md, "Pages").

The texts are checked as the kiosk will check them (config/activities.py and the catalogue's
Text rules: Chinese text with Chinese characters, English without), so a saved activity is one
the centre's kiosks accept when it is pushed.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from city.activities.allocation import reason_text
from city.activities.results import send_result
from config.catalogue import CJK_RE

TEXT_FIELDS = (
    "title_zh", "title_en", "place_zh", "place_en",
    "organiser_zh", "organiser_en", "audience_zh", "audience_en",
)  # fmt: skip
FORM_FIELDS = (
    "centre", *TEXT_FIELDS, "starts_at", "ends_at", "capacity", "points", "approval",
)  # fmt: skip
YEARS = (2000, 2100)  # a typo's year 1 or 9999 would overflow a conversion to UTC
MAX_ZH = 60
MAX_EN = 120
MAX_CAPACITY = 100_000
MAX_POINTS = 100_000
CENTRE_PART = r"[A-Za-z0-9_-]{1,64}"
APPROVALS = ("auto", "staff")
STATES = ("draft", "published", "cancelled")


class ActivityError(ValueError):
    """An action the activity's state does not allow; the message key says why."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class ActivityInput:
    """A valid form."""

    city: str
    centre: str
    title_zh: str
    title_en: str
    place_zh: str
    place_en: str
    organiser_zh: str
    organiser_en: str
    audience_zh: str
    audience_en: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    points: int
    approval: str


def _local(value: str, zone: ZoneInfo) -> datetime | None:
    """A datetime-local input (`2026-12-10T08:30`) in the city's time zone."""
    if not 10 <= len(value) <= 19:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is not None or not YEARS[0] <= moment.year <= YEARS[1]:
        return None
    return moment.replace(tzinfo=zone)


def _whole(value: str, low: int, high: int) -> int | None:
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 7:
        return None
    number = int(value)
    return number if low <= number <= high else None


def _text_problem(name: str, text: str) -> tuple[str, dict[str, object]] | None:
    """What is wrong with one text field, as the kiosk's Text rules see it, or None."""
    limit = MAX_ZH if name.endswith("_zh") else MAX_EN
    if not text:
        return ("activities.problem.required", {})
    if len(text) > limit or any(not ch.isprintable() for ch in text):
        return ("activities.problem.too_long", {"limit": limit})
    if name.endswith("_zh") and not CJK_RE.search(text):
        return ("activities.problem.needs_chinese", {})
    if name.endswith("_en") and CJK_RE.search(text):
        return ("activities.problem.no_chinese", {})
    return None


def parse_form(
    form: Mapping[str, str], zone: ZoneInfo
) -> tuple[ActivityInput | None, dict[str, tuple[str, dict[str, object]]]]:
    """The form as an ActivityInput, or the problems: field → (message key, values)."""
    problems: dict[str, tuple[str, dict[str, object]]] = {}
    values: dict[str, Any] = {}
    centre = form.get("centre", "").strip()
    if not re.fullmatch(f"{CENTRE_PART}/{CENTRE_PART}", centre):
        problems["centre"] = ("activities.problem.centre", {})
    else:
        values["city"], values["centre"] = centre.split("/")
    for name in TEXT_FIELDS:
        text = form.get(name, "").strip()
        problem = _text_problem(name, text)
        if problem is not None:
            problems[name] = problem
        values[name] = text
    for name in ("starts_at", "ends_at"):
        moment = _local(form.get(name, "").strip(), zone)
        if moment is None:
            problems[name] = ("activities.problem.time", {})
        values[name] = moment
    if (
        values.get("starts_at")
        and values.get("ends_at")
        and values["ends_at"] <= values["starts_at"]
    ):
        problems["ends_at"] = ("activities.problem.ends_before", {})
    capacity = _whole(form.get("capacity", ""), 1, MAX_CAPACITY)
    if capacity is None:
        problems["capacity"] = ("activities.problem.range", {"low": 1, "high": MAX_CAPACITY})
    values["capacity"] = capacity
    points = _whole(form.get("points", "") or "0", 0, MAX_POINTS)
    if points is None:
        problems["points"] = ("activities.problem.range", {"low": 0, "high": MAX_POINTS})
    values["points"] = points
    approval = form.get("approval", "auto")
    if approval not in APPROVALS:
        problems["approval"] = ("activities.problem.approval", {})
    values["approval"] = approval
    if problems:
        return None, problems
    return ActivityInput(**{f.name: values[f.name] for f in fields(ActivityInput)}), {}


def new_activity_id(starts_at: datetime, zone: ZoneInfo) -> str:
    """`20261210-3fa9c2`: the local start day and 24 random bits (the contract's slug)."""
    return f"{starts_at.astimezone(zone):%Y%m%d}-{secrets.token_hex(3)}"


COLUMNS = (
    "id", "city", "centre", *TEXT_FIELDS, "starts_at", "ends_at", "capacity", "confirmed",
    "approval", "points", "state", "created_at", "created_by", "updated_at", "updated_by",
    "published_at", "cancelled_at",
)  # fmt: skip


def get_activity(
    conn: psycopg.Connection, activity_id: str, *, lock: bool = False
) -> dict[str, Any] | None:
    """One activity row as a dict (locked FOR UPDATE when asked), or None."""
    query = f"SELECT {', '.join(COLUMNS)} FROM activities WHERE id = %s"  # noqa: S608 — fixed text
    row = conn.execute(query + (" FOR UPDATE" if lock else ""), (activity_id,)).fetchone()
    return None if row is None else dict(zip(COLUMNS, row, strict=True))


def lock_for_push(conn: psycopg.Connection, activity_id: str) -> dict[str, Any] | None:
    """The activity, after locking every activity of its centre in id order: the order the
    ingest and the push lock them in, so a staff change that pushes the centre afterwards
    never deadlocks with an ingest worker holding a sibling activity."""
    found = conn.execute(
        "SELECT city, centre FROM activities WHERE id = %s", (activity_id,)
    ).fetchone()
    if found is None:
        return None
    conn.execute(
        "SELECT id FROM activities WHERE city = %s AND centre = %s ORDER BY id FOR UPDATE",
        found,
    ).fetchall()
    return get_activity(conn, activity_id)


def create_activity(
    conn: psycopg.Connection, data: ActivityInput, *, by: str, zone: ZoneInfo
) -> str:
    """A new draft; its id. The caller commits."""
    for _ in range(5):
        activity_id = new_activity_id(data.starts_at, zone)
        row = conn.execute(
            "INSERT INTO activities (id, city, centre, title_zh, title_en, place_zh, place_en,"
            " organiser_zh, organiser_en, audience_zh, audience_en, starts_at, ends_at, capacity,"
            " points, approval, created_by, updated_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s,"
            " %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING RETURNING id",
            (
                activity_id, data.city, data.centre, data.title_zh, data.title_en,
                data.place_zh, data.place_en, data.organiser_zh, data.organiser_en,
                data.audience_zh, data.audience_en, data.starts_at, data.ends_at,
                data.capacity, data.points, data.approval, by, by,
            ),
        ).fetchone()  # fmt: skip
        if row is not None:
            return activity_id
    raise RuntimeError("could not find a free activity id")


def update_activity(
    conn: psycopg.Connection, activity_id: str, data: ActivityInput, *, by: str
) -> dict[str, Any]:
    """Change an activity (not a cancelled one; the centre only while a draft; the capacity
    never below the places taken); the row before. The caller commits."""
    current = lock_for_push(conn, activity_id)
    if current is None:
        raise ActivityError("activities.unknown")
    if current["state"] == "cancelled":
        raise ActivityError("activities.error.cancelled")
    if current["state"] != "draft" and (data.city, data.centre) != (
        current["city"],
        current["centre"],
    ):
        raise ActivityError("activities.error.centre_fixed")
    if data.capacity < current["confirmed"]:
        raise ActivityError("activities.error.capacity", confirmed=current["confirmed"])
    conn.execute(
        "UPDATE activities SET city = %s, centre = %s, title_zh = %s, title_en = %s,"
        " place_zh = %s, place_en = %s, organiser_zh = %s, organiser_en = %s,"
        " audience_zh = %s, audience_en = %s, starts_at = %s, ends_at = %s, capacity = %s,"
        " points = %s, approval = %s, updated_at = now(), updated_by = %s WHERE id = %s",
        (
            data.city, data.centre, data.title_zh, data.title_en, data.place_zh,
            data.place_en, data.organiser_zh, data.organiser_en, data.audience_zh,
            data.audience_en, data.starts_at, data.ends_at, data.capacity, data.points,
            data.approval, by, activity_id,
        ),
    )  # fmt: skip
    return current


def publish_activity(conn: psycopg.Connection, activity_id: str, *, by: str) -> dict[str, Any]:
    """Draft → published (offered at its centre's kiosks); the row. The caller commits."""
    current = lock_for_push(conn, activity_id)
    if current is None:
        raise ActivityError("activities.unknown")
    if current["state"] != "draft":
        raise ActivityError("activities.error.not_draft")
    conn.execute(
        "UPDATE activities SET state = 'published', published_at = now(), updated_at = now(),"
        " updated_by = %s WHERE id = %s",
        (by, activity_id),
    )
    return current


def cancel_activity(conn: psycopg.Connection, activity_id: str, *, by: str) -> int:
    """Cancel it: every sign-up holding or waiting for a place is refused (活动已取消) and its
    kiosk told; how many. The caller commits."""
    current = lock_for_push(conn, activity_id)
    if current is None:
        raise ActivityError("activities.unknown")
    if current["state"] == "cancelled":
        raise ActivityError("activities.error.cancelled")
    reason = reason_text("cancelled")
    rows = conn.execute(
        "UPDATE activity_signups SET state = 'refused', reason = %s, decided_at = now(),"
        " decided_by = %s WHERE activity_id = %s AND state IN ('requested', 'confirmed')"
        " RETURNING signup_id::text, kiosk",
        (reason, by, activity_id),
    ).fetchall()
    for signup_id, kiosk in rows:
        send_result(conn, kiosk, signup_id, "refused", reason, requested_by=by)
    conn.execute(
        "UPDATE activities SET state = 'cancelled', cancelled_at = now(), confirmed = 0,"
        " updated_at = now(), updated_by = %s WHERE id = %s",
        (by, activity_id),
    )
    return len(rows)


LIST = """
SELECT id, city, centre, title_zh, title_en, starts_at, ends_at, capacity, confirmed, state,
       approval, points,
       (SELECT count(*) FROM activity_signups s WHERE s.activity_id = a.id
         AND s.state = 'requested') AS requested
FROM activities a
WHERE (%(city)s::text IS NULL OR (city = %(city)s AND centre = %(centre)s))
  AND (%(state)s::text IS NULL OR state = %(state)s)
  AND (%(past)s OR ends_at > now())
ORDER BY starts_at, id LIMIT %(limit)s OFFSET %(offset)s
"""


def list_activities(
    conn: psycopg.Connection,
    *,
    centre: str | None = None,
    state: str | None = None,
    past: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Activities (of one CITY/CENTRE, in one state; coming ones unless `past`), by start."""
    city, _, name = (centre or "").partition("/")
    cur = conn.execute(
        LIST,
        {
            "city": city or None,
            "centre": name or None,
            "state": state,
            "past": past,
            "limit": limit,
            "offset": offset,
        },
    )
    names = [d.name for d in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def centres(conn: psycopg.Connection) -> list[str]:
    """Every CITY/CENTRE the fleet knows (where an activity can be offered)."""
    return [
        f"{c}/{n}"
        for c, n in conn.execute("SELECT DISTINCT city, centre FROM kiosks ORDER BY 1, 2")
    ]


def last_publication(conn: psycopg.Connection, city: str, centre: str) -> dict[str, Any] | None:
    """The centre's latest push: version, when, by whom, how many kiosks and their states."""
    cur = conn.execute(
        "SELECT p.id, d.version, p.published_at, p.published_by, p.activities, p.kiosks,"
        " p.reason, p.document_id FROM activity_publications p"
        " JOIN config_documents d ON d.id = p.document_id"
        " WHERE p.city = %s AND p.centre = %s ORDER BY p.id DESC LIMIT 1",
        (city, centre),
    )
    row = cur.fetchone()
    if row is None:
        return None
    names = [d.name for d in cur.description or ()]
    found = dict(zip(names, row, strict=True))
    found["states"] = {
        str(s): int(n)
        for s, n in conn.execute(
            "SELECT state, count(*) FROM commands WHERE document_id = %s GROUP BY 1",
            (found["document_id"],),
        )
    }
    return found
