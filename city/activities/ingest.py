"""Sign-ups allocated in the ingest transaction (city/store.py's after-insert hook).

The store calls the hook with the batch's newly inserted events only, so a redelivered event
does nothing here. For the `activity.signup` / `activity.cancelled` events of a batch it locks
the activities they name (SELECT … FOR UPDATE, in id order: two workers wait for each other
instead of deadlocking, and the second sees the first's places), reads the sign-ups and
pseudonyms they touch, lets city/activities/allocation.py decide, writes the rows and queues
one `activity_signup_result` per decision — all committed with the events, before the broker
is acknowledged (docs/activities.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg

from city.activities.allocation import (
    ActivityFacts,
    Allocation,
    CancelEvent,
    Existing,
    SignupEvent,
    allocate,
    reason_text,
)
from city.activities.results import send_result

log = logging.getLogger("city.activities")

EVENT_TYPES = ("activity.signup", "activity.cancelled")
AUTO = "auto"  # decided_by / requested_by of the ingest's own decisions

LOCK_ACTIVITIES = """
SELECT id, city, centre, state, starts_at, ends_at, capacity, confirmed, approval
FROM activities WHERE id = ANY(%s) ORDER BY id FOR UPDATE
"""
EXISTING = """
SELECT signup_id::text, activity_id, key_id, subject, state, attended_at IS NOT NULL
FROM activity_signups WHERE signup_id = ANY(%s::uuid[])
"""
HOLDERS = """
SELECT s.activity_id, s.key_id, s.subject, s.signup_id::text FROM activity_signups s
JOIN unnest(%s::text[], %s::text[], %s::text[]) AS w (activity_id, key_id, subject)
  ON s.activity_id = w.activity_id AND s.key_id = w.key_id AND s.subject = w.subject
WHERE s.state IN ('requested', 'confirmed')
"""
INSERT_SIGNUP = """
INSERT INTO activity_signups (signup_id, activity_id, key_id, subject, kiosk, event_id,
       signed_up_at, received_at, state, reason, decided_at, decided_by)
VALUES (%(signup_id)s, %(activity_id)s, %(key_id)s, %(subject)s, %(kiosk)s, %(event_id)s,
        %(at)s, %(now)s, %(state)s, %(reason)s, %(decided_at)s, %(decided_by)s)
ON CONFLICT (signup_id) DO NOTHING RETURNING signup_id
"""
INSERT_TOMBSTONE = """
INSERT INTO activity_signups (signup_id, activity_id, key_id, subject, kiosk, event_id,
       received_at, state, cancelled_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, 'cancelled', %s) ON CONFLICT (signup_id) DO NOTHING
"""
CANCEL = """
UPDATE activity_signups SET state = 'cancelled', cancelled_at = %s
WHERE signup_id = %s AND state <> 'cancelled'
"""
COUNT = "UPDATE activities SET confirmed = %s, places_changed_at = %s WHERE id = %s"


def _moment(text: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def parse_event(row: Any) -> SignupEvent | CancelEvent | None:
    """The allocation's view of a stored event (the contract validated its fields); None for
    anything else."""
    if row.type not in EVENT_TYPES:
        return None
    data = row.data
    at = _moment(row.ts)
    fields = [data.get(k) for k in ("signup_id", "activity_id", "key_id", "subject")]
    if at is None or not all(isinstance(f, str) and f for f in fields):
        return None
    signup_id, activity_id, key_id, subject = (str(f) for f in fields)
    kind = SignupEvent if row.type == "activity.signup" else CancelEvent
    return kind(row.id, signup_id, activity_id, key_id, subject, row.kiosk, at)


class ActivityIngest:
    """The after-insert hook: allocates the batch's sign-ups in its transaction."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.clock = clock

    def __call__(self, cur: psycopg.Cursor[Any], events: Sequence[Any]) -> None:
        parsed = [p for p in (parse_event(e) for e in events) if p is not None]
        if parsed:
            apply_events(cur.connection, parsed, self.clock())


def apply_events(
    conn: psycopg.Connection, events: Sequence[SignupEvent | CancelEvent], now: datetime
) -> Allocation:
    """Decide and write one batch inside the caller's transaction."""
    activity_ids = sorted({e.activity_id for e in events})
    facts = {row[0]: ActivityFacts(*row) for row in conn.execute(LOCK_ACTIVITIES, (activity_ids,))}
    existing = {
        row[0]: Existing(*row)
        for row in conn.execute(EXISTING, (sorted({e.signup_id for e in events}),))
    }
    who = sorted({(e.activity_id, e.key_id, e.subject) for e in events})
    columns = [list(c) for c in zip(*who, strict=True)]
    holders = {(a, k, s): sid for a, k, s, sid in conn.execute(HOLDERS, columns)}
    result = allocate(facts, existing, holders, events, now)
    for new in result.new:
        event = new.event
        decided = new.state != "requested"
        reason = reason_text(new.reason) if new.reason else ""
        inserted = conn.execute(
            INSERT_SIGNUP,
            {
                "signup_id": event.signup_id,
                "activity_id": event.activity_id,
                "key_id": event.key_id,
                "subject": event.subject,
                "kiosk": event.kiosk,
                "event_id": event.event_id,
                "at": event.at,
                "now": now,
                "state": new.state,
                "reason": reason,
                "decided_at": now if decided else None,
                "decided_by": AUTO if decided else None,
            },
        ).fetchone()
        if inserted is None:  # raced in through another worker (an unknown activity: no lock)
            if new.state == "confirmed":
                result.confirmed[event.activity_id] -= 1
            continue
        if new.tell:
            send_result(conn, event.kiosk, event.signup_id, new.state, reason, requested_by=AUTO)
    for cancel in result.cancelled:
        conn.execute(CANCEL, (now, cancel.event.signup_id))
    for tomb in result.tombstones:
        e = tomb.event
        conn.execute(
            INSERT_TOMBSTONE,
            (e.signup_id, e.activity_id, e.key_id, e.subject, e.kiosk, e.event_id, now, now),
        )
    for activity_id in sorted(result.places_changed):
        conn.execute(COUNT, (result.confirmed[activity_id], now, activity_id))
    if result.new or result.cancelled:
        log.info(
            "sign-ups: %d new (%d confirmed), %d cancelled, %d ignored",
            len(result.new),
            sum(n.state == "confirmed" for n in result.new),
            len(result.cancelled),
            result.ignored,
        )
    return result
