"""Contract-valid request.submitted events (诉求) for the city's request tests, as a kiosk files
them: a fresh request_id and ticket, the call-back number sealed to the development request
key (config/dev-keys/city-request-key.DEV-ONLY.txt, key id "dev-req")."""

from __future__ import annotations

import base64
import functools
import secrets
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from city.config import DEFAULT_CONTRACT_DIR
from city.contract import Contract, load_contract
from city.messages import decode_message
from city.requests.ingest import store_requests
from city.requests.keys import RequestKey, load_request_key
from city.store import BatchWriter
from common.sealed_box import seal_phone
from testbed.city_events import ROOT, KioskSim, batch, uuid7

REPO = Path(__file__).resolve().parents[1]
DEV_KEY_FILE = REPO / "config" / "dev-keys" / "city-request-key.DEV-ONLY.txt"
DEV_KEY_ID = "dev-req"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RESIDENT = "ab" * 32


def dev_key() -> RequestKey:
    """The development request key (private half: only the city side opens numbers)."""
    return load_request_key(DEV_KEY_FILE, DEV_KEY_ID)


def new_ticket() -> str:
    """50 random bits as Crockford base32 in two groups of five, as the kiosk mints them."""
    value = secrets.randbits(50)
    chars = "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in range(10))
    return f"{chars[:5]}-{chars[5:]}"


def request_data(
    *,
    phone: str | None = None,
    subject: str = RESIDENT,
    category: str = "repairs",
    text: str = "楼道灯坏了",
    location: dict[str, str] | None = None,
    request_id: str | None = None,
    key_id: str = DEV_KEY_ID,
    public_key: bytes | None = None,
) -> dict[str, Any]:
    """A request.submitted `data` (with the phone sealed when given)."""
    request_id = request_id or uuid7()
    data: dict[str, Any] = {
        "request_id": request_id,
        "ticket": new_ticket(),
        "category": category,
        "text": text,
        "subject": subject,
        "key_id": "k2026",
        "session_id": str(uuid.uuid4()),
    }
    if location is not None:
        data["location"] = location
    if phone is not None:
        public = public_key or base64.b64decode(dev_key().public_base64)
        data["callback"] = {"key_id": key_id, "sealed": seal_phone(phone, public, request_id)}
    return data


def request_submitted(sim: KioskSim, **kwargs: Any) -> dict[str, Any]:
    """The kiosk's next request.submitted event (kwargs: request_data's)."""
    return sim.event("request.submitted", request_data(**kwargs))


@functools.cache
def _contract() -> Contract:
    return load_contract(DEFAULT_CONTRACT_DIR)


def file_requests(conn: psycopg.Connection, sim: KioskSim, *events: dict[str, Any]) -> None:
    """Store `events` from `sim` as the ingest would (decoded, checked, the requests hook run)."""
    contract = _contract()
    decoded = decode_message(
        sim.topic(),
        batch(*events),
        topic_root=ROOT,
        contract=contract,
        max_payload_bytes=10**7,
        raw_cap_bytes=4096,
    )
    if decoded.quarantined:
        raise ValueError(f"not contract-valid: {[q.reason for q in decoded.quarantined]}")
    BatchWriter(conn, after_insert=store_requests).write([decoded], datetime.now(UTC))


def file_request(db_url: str, sim: KioskSim | None = None, **kwargs: Any) -> dict[str, Any]:
    """One request filed (kwargs: request_data's) on a new connection; its event."""
    sim = sim or KioskSim()
    event = request_submitted(sim, **kwargs)
    with psycopg.connect(db_url) as conn:
        file_requests(conn, sim, event)
    return event


BULK_REQUESTS = """
WITH k AS (SELECT row_number() OVER (ORDER BY kiosk) - 1 AS i, kiosk, city, centre, district
           FROM kiosks),
-- a working city: the last two days' requests still waiting (half of them assigned), the last
-- fortnight's answered, older ones closed but for a stuck one in 500
a AS (SELECT g, (g * 7919) %% 525600 AS age_min FROM generate_series(1, %(n)s) g),
g AS (SELECT g, CASE WHEN age_min < 2880 OR g %% 500 = 0
                     THEN (CASE WHEN g %% 2 = 0 THEN 'received' ELSE 'assigned' END)
                     WHEN age_min < 20160 THEN 'answered' ELSE 'closed' END AS state,
             now() - age_min * interval '1 min' AS at
      FROM a)
INSERT INTO requests (request_id, event_id, ticket, kiosk, city, centre, district, category,
    building, unit, text, callback_sealed, callback_key_id, key_id, subject, session_id,
    submitted_at, received_at, state, assignee, answer, updated_at)
SELECT gen_random_uuid(), gen_random_uuid(),
    upper(substr(md5(g::text), 1, 5)) || '-' || upper(substr(md5(g::text), 6, 5)),
    k.kiosk, k.city, k.centre, k.district,
    (ARRAY['repairs', 'sanitation', 'dispute', 'elderly_care', 'other'])[1 + g %% 5],
    (1 + g %% 30)::text || '栋', NULL, '楼道灯坏了，晚上看不见台阶。', NULL, NULL, 'k2026',
    lpad(to_hex(g %% 50000), 64, '0'), gen_random_uuid(), g.at, g.at, g.state,
    CASE WHEN g.state <> 'received' THEN %(assignee)s END,
    CASE WHEN g.state IN ('answered', 'closed') THEN '已处理完毕，感谢您的反映。' END, g.at
FROM g JOIN k ON k.i = g.g %% %(kiosks)s
"""


def seed_request_volume(conn: psycopg.Connection, n: int, assignee: str = "otto") -> None:
    """`n` requests over the last year at the fleet's kiosks, as a working city has them (the
    last two days' waiting, a stuck one in 500 older), written by PostgreSQL itself: the
    console bench's volume for the requests pages. Tickets are md5
    hex upper-cased (the table's Crockford pattern allows them: no I, L, O, U in hex)."""
    row = conn.execute("SELECT count(*) FROM kiosks").fetchone()
    kiosks = int(row[0]) if row else 0
    if kiosks == 0:
        raise ValueError("seed the fleet first: requests are filed at its kiosks")
    conn.execute(BULK_REQUESTS, {"n": n, "kiosks": kiosks, "assignee": assignee})
