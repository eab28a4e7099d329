"""request.submitted → a `requests` row and its first history entry, in the ingest's transaction.

The ingest's BatchWriter calls `store_requests` with the events it has just inserted
(city/store.py), so a redelivered event never comes here twice; a second event carrying the same
`request_id` (the contract's de-duplication key) changes nothing either: ON CONFLICT DO NOTHING,
and the history gets a row only for requests actually inserted. Rows go in request_id order, so
two workers inserting overlapping requests wait for each other instead of deadlocking. A row the
table's CHECKs refuse fails the batch with a DataError/IntegrityError, and the store quarantines
that message alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from city.reports.rollup import EventLike

EVENT_TYPE = "request.submitted"
COLUMNS = (
    "request_id",
    "event_id",
    "ticket",
    "kiosk",
    "city",
    "centre",
    "category",
    "building",
    "unit",
    "text",
    "callback_sealed",
    "callback_key_id",
    "key_id",
    "subject",
    "session_id",
    "submitted_at",
)
TYPES = (
    "uuid",
    "uuid",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "uuid",
    "timestamptz",
)
_ARRAYS = ", ".join(f"%s::{t}[]" for t in TYPES)
_NAMES = ", ".join(COLUMNS)
# One statement: the new requests (district from the kiosk's inventory row, which the fleet
# update of the same transaction has created by now) and a 'received' history row for each.
INSERT = f"""
WITH incoming ({_NAMES}) AS (SELECT * FROM unnest({_ARRAYS})),
inserted AS (
    INSERT INTO requests ({_NAMES}, district, updated_at)
    SELECT i.*, k.district, now() FROM incoming i LEFT JOIN kiosks k ON k.kiosk = i.kiosk
    ORDER BY i.request_id
    ON CONFLICT (request_id) DO NOTHING
    RETURNING request_id, kiosk
)
INSERT INTO request_history (request_id, actor, action, from_state, to_state)
SELECT request_id, 'kiosk:' || kiosk, 'received', NULL, 'received' FROM inserted
"""  # noqa: S608 — column names and types are the constants above


def row_of(event: EventLike) -> tuple[Any, ...]:
    """The `requests` columns of one contract-valid request.submitted event."""
    data = event.data
    city, centre, _name = event.kiosk.split("/", 2)
    location = data.get("location") or {}
    callback = data.get("callback") or {}
    return (
        data["request_id"],
        event.id,
        data["ticket"],
        event.kiosk,
        city,
        centre,
        data["category"],
        location.get("building"),
        location.get("unit"),
        data["text"],
        callback.get("sealed"),
        callback.get("key_id"),
        data["key_id"],
        data["subject"],
        data["session_id"],
        event.ts,
    )


def store_requests(cur: psycopg.Cursor[Any], events: Sequence[EventLike]) -> None:
    """Insert the requests these newly stored events submitted (the known ones change nothing)."""
    rows: dict[str, tuple[Any, ...]] = {}
    for event in events:
        if event.type == EVENT_TYPE:
            row = row_of(event)
            rows.setdefault(str(row[0]), row)  # the first event of a request_id wins
    if rows:
        ordered = [rows[key] for key in sorted(rows)]
        cur.execute(INSERT, [list(column) for column in zip(*ordered, strict=True)])
