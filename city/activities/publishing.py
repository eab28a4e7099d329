"""A centre's coming activities pushed to its kiosks as the signed `set_config` kind
`activities` (docs/contract/README.md; docs/activities.md, "Pushing").

The document is built from the `activities` rows, with `places_left` from the allocation, and
validated with the kiosk's own validator (config/activities.py, the base layer the city may
import, as city/upload.py does for catalogues) before it is kept in `config_documents` and
queued to every kiosk of the centre. A newer document supersedes an older one not yet
delivered (cancelled, never re-sent after it).

When: at once when staff publish, edit or cancel an activity; and when places change at
ingest, from the dispatcher's tick, debounced per centre: a centre whose places changed is
pushed again when its last push is at least REPUBLISH_INTERVAL_S old, so a rush of sign-ups
costs one document per centre per interval, and no change waits longer than that.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from city.rollouts import auto_promote
from config.activities import MAX_ACTIVITIES, activities_from_bytes
from config.loader import ConfigError

log = logging.getLogger("city.activities")

REPUBLISH_INTERVAL_S = 30.0
CANCELLED_MARK = ("（已取消）", " (cancelled)")

# The centre's activities the kiosks should list: coming (the kiosk hides ended ones too), and
# cancelled ones that were published, marked and with no places, so a resident who signed up
# sees it on the kiosk. Locked: the ingest changes `confirmed` only under these row locks, so
# places_left and the clearing of places_changed_at agree (same id order as the ingest).
CENTRE_ROWS = """
SELECT id, title_zh, title_en, place_zh, place_en, organiser_zh, organiser_en, audience_zh,
       audience_en, starts_at, ends_at, capacity, confirmed, state
FROM activities
WHERE city = %(city)s AND centre = %(centre)s AND ends_at > %(now)s
  AND (state = 'published' OR (state = 'cancelled' AND published_at IS NOT NULL))
ORDER BY id FOR UPDATE
"""
SUPERSEDE = """
UPDATE commands SET state = 'cancelled', updated_at = now()
WHERE type = 'set_config' AND args ->> 'kind' = 'activities' AND kiosk = ANY(%s)
  AND state IN ('waiting', 'expired')
"""


class DocumentRefused(ValueError):
    """The centre's document would not pass the kiosk's validator (the message says where);
    nothing is queued. The staff form checks the same rules, so this means a row was written
    some other way."""


@dataclass(frozen=True)
class Publication:
    """One push: the document's version, how many activities, to how many kiosks."""

    id: int
    version: str
    document_id: int
    activities: int
    kiosks: int


def _offset_time(moment: datetime) -> str:
    """ISO 8601 with its offset, as config/activities.py asks (UTC: +00:00)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _entry(row: tuple[Any, ...]) -> dict[str, Any]:
    (activity_id, title_zh, title_en, place_zh, place_en, org_zh, org_en, aud_zh, aud_en,
     starts, ends, capacity, confirmed, state) = row  # fmt: skip
    cancelled = state == "cancelled"
    return {
        "id": activity_id,
        "title": {
            "zh": title_zh + (CANCELLED_MARK[0] if cancelled else ""),
            "en": title_en + (CANCELLED_MARK[1] if cancelled else ""),
        },
        "starts_at": _offset_time(starts),
        "ends_at": _offset_time(ends),
        "place": {"zh": place_zh, "en": place_en},
        "organiser": {"zh": org_zh, "en": org_en},
        "audience": {"zh": aud_zh, "en": aud_en},
        "capacity": capacity,
        "places_left": 0 if cancelled else max(0, capacity - confirmed),
    }


def version_for(centre: str, serial: int) -> str:
    """`act-CENTRE-N`: unique over every centre (N is the publication's id), ≤ 64 characters."""
    return f"act-{centre[:40]}-{serial}"


def publish_centre(
    conn: psycopg.Connection,
    city: str,
    centre: str,
    *,
    by: str,
    reason: str = "staff",
    now: datetime | None = None,
) -> Publication | None:
    """Build, validate, keep and queue the centre's document; None when it lists nothing (the
    contract's document needs one activity at least: the kiosks then keep the last one, whose
    activities have all ended). The caller commits."""
    moment = now or datetime.now(UTC)
    rows = conn.execute(CENTRE_ROWS, {"city": city, "centre": centre, "now": moment}).fetchall()
    conn.execute(
        "UPDATE activities SET places_changed_at = NULL WHERE city = %s AND centre = %s"
        " AND places_changed_at IS NOT NULL",
        (city, centre),
    )
    entries = sorted((_entry(r) for r in rows), key=lambda e: (e["starts_at"], e["id"]))
    entries = entries[:MAX_ACTIVITIES]
    if not entries:
        return None
    serial_row = conn.execute(
        "SELECT nextval(pg_get_serial_sequence('activity_publications', 'id'))"
    ).fetchone()
    assert serial_row is not None
    serial = int(serial_row[0])
    version = version_for(centre, serial)
    document = {"kind": "activities", "version": version, "activities": entries}
    content = json.dumps(document, ensure_ascii=False, indent=1)
    try:
        activities_from_bytes(content.encode("utf-8"), "activities")  # what the kiosk accepts
    except ConfigError as exc:
        raise DocumentRefused(f"{city}/{centre}: {exc}") from None
    summary = {"city": city, "centre": centre, "activities": len(entries)}
    doc_row = conn.execute(
        "INSERT INTO config_documents (kind, version, content, sha256, summary, uploaded_by)"
        " VALUES ('activities', %s, %s, %s, %s::jsonb, %s) RETURNING id",
        (
            version,
            content,
            hashlib.sha256(content.encode("utf-8")).hexdigest(),
            json.dumps(summary, ensure_ascii=False),
            by,
        ),
    ).fetchone()
    assert doc_row is not None
    document_id = int(doc_row[0])
    kiosks = [
        str(r[0])
        for r in conn.execute(
            "SELECT kiosk FROM kiosks WHERE city = %s AND centre = %s ORDER BY kiosk",
            (city, centre),
        )
    ]
    conn.execute(SUPERSEDE, (kiosks,))
    args = json.dumps({"kind": "activities", "version": version})
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO commands (id, kiosk, type, args, document_id, state, requested_by)"
            " VALUES (%s, %s, 'set_config', %s::jsonb, %s, 'waiting', %s)",
            [(str(uuid.uuid4()), kiosk, args, document_id, by) for kiosk in kiosks],
        )
    conn.execute(
        "INSERT INTO activity_publications (id, city, centre, document_id, activities, kiosks,"
        " reason, published_at, published_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (serial, city, centre, document_id, len(entries), len(kiosks), reason, moment, by),
    )
    return Publication(serial, version, document_id, len(entries), len(kiosks))


DUE = """
SELECT a.city, a.centre FROM activities a
WHERE a.places_changed_at IS NOT NULL
GROUP BY a.city, a.centre
HAVING coalesce((SELECT max(p.published_at) FROM activity_publications p
                 WHERE p.city = a.city AND p.centre = a.centre), '-infinity') <= %s
ORDER BY 1, 2
"""


def republish_due(
    conn: psycopg.Connection,
    now: datetime | None = None,
    interval_s: float = REPUBLISH_INTERVAL_S,
) -> list[Publication]:
    """Push again every centre whose places changed and whose last push is old enough; each
    centre commits on its own."""
    moment = now or datetime.now(UTC)
    due = conn.execute(DUE, (moment - timedelta(seconds=interval_s),)).fetchall()
    conn.commit()
    done = []
    for city, centre in due:
        try:
            publication = publish_centre(conn, city, centre, by="auto", reason="places", now=moment)
        except DocumentRefused as exc:
            conn.rollback()
            log.error("activities not pushed again: %s", exc)  # once: the change is dropped
            conn.execute(
                "UPDATE activities SET places_changed_at = NULL WHERE city = %s AND centre = %s",
                (city, centre),
            )
            conn.commit()
            continue
        conn.commit()
        if publication is not None:
            log.info("activities of %s/%s pushed again: places changed", city, centre)
            done.append(publication)
    return done


def dispatcher_tick(conn: psycopg.Connection) -> None:
    """The dispatcher's periodic work (city/commands.py `on_tick`): automatic promotion of
    staged rollouts, then the debounced pushes of changed places."""
    auto_promote(conn)
    conn.commit()
    republish_due(conn)
