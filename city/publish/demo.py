"""Demonstration rows for the publishing screens (`make screenshots`, the accessibility test):
two catalogue versions, a finished rollout and a staged one caught mid-way, and commands with
a diagnostics report on the console's demo kiosk. Written straight into the tables, as the
dispatcher and the ingest would have (no broker runs for screenshots)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from city.commands import queue_command
from city.rollouts import create_rollout, promote, store_document
from city.selector import Selector
from city.upload import ValidDocument, parse_upload

CATALOGUE = Path(__file__).resolve().parents[2] / "config" / "catalogue.yaml"
DEMO_KIOSK = "440300/centre-0000/kiosk-00"
V1, V2 = "440300-2025.03.1", "440300-2025.12.1"
DEMO_DEVICES = [
    {"device": "idcard", "ok": True, "duration_s": 1.42,
     "checks": [{"name": "sam_status", "ok": True, "detail": "90 00"},
                {"name": "sam_id", "ok": True, "detail": "05.01-20231120"}]},
    {"device": "bp", "ok": False, "duration_s": 20.0,
     "checks": [{"name": "port", "ok": True, "detail": "/dev/ttyUSB1"},
                {"name": "device_status", "ok": False, "detail": "timeout after 20 s"}]},
    {"device": "qrscan", "ok": True, "duration_s": 0.8,
     "checks": [{"name": "port", "ok": True, "detail": "/dev/ttyACM0"},
                {"name": "status", "ok": True, "detail": "ready"}]},
]  # fmt: skip


def _document(text: str) -> ValidDocument:
    parsed = parse_upload("catalogue", text.encode("utf-8"))
    if not isinstance(parsed, ValidDocument):
        raise ValueError(f"the demo catalogue does not validate: {parsed}")
    return parsed


def _answer(conn: psycopg.Connection, where: str, state: str, reason: str | None = None) -> None:
    now = datetime.now(UTC)
    conn.execute(
        "UPDATE commands SET state = %s, reason = %s, sent_at = %s, expires_at = %s,"  # noqa: S608 — fixed text
        f" result_at = CASE WHEN %s IN ('applied', 'rejected') THEN %s END WHERE {where}",
        (state, reason, now - timedelta(minutes=3), now + timedelta(minutes=2), state, now),
    )


def seed_publish_demo(conn: psycopg.Connection) -> None:
    """Documents 1 and 2, rollouts 1 (done) and 2 (staged, mid-way), the demo kiosk's commands."""
    text = CATALOGUE.read_text(encoding="utf-8")
    v1 = store_document(conn, _document(text), "ada")
    newer = text.replace(V1, V2).replace("popularity: 9800", "popularity: 10800", 1)
    v2 = store_document(conn, _document(newer), "otto")
    first = create_rollout(conn, v1, Selector("all"), by="ada", staged=False)
    _answer(conn, f"rollout_id = {first}", "applied")
    conn.execute(
        "INSERT INTO kiosk_config (kiosk, kind, version, since)"
        " SELECT kiosk, 'catalogue', %s, now() FROM kiosks ON CONFLICT DO NOTHING",
        (V1,),
    )
    second = create_rollout(
        conn, v2, Selector("all"), by="otto", first_centre="centre-0000", auto_promote=False
    )
    _answer(conn, f"rollout_id = {second}", "applied")
    promote(conn, second, "otto")
    stage2 = f"rollout_id = {second} AND state = 'waiting'"
    _answer(conn, f"{stage2} AND kiosk LIKE '440300/centre-000%%'", "applied")
    rejecting = f"{stage2} AND kiosk = '440300/centre-0011/kiosk-03'"
    _answer(conn, rejecting, "rejected", "bad_signature")
    _answer(conn, f"{stage2} AND kiosk LIKE '440300/centre-001%%'", "sent")
    conn.execute(  # offline kiosks keep waiting; the rest were just sent
        "UPDATE commands c SET state = 'sent', sent_at = now() FROM kiosks k"
        " WHERE c.kiosk = k.kiosk AND c.rollout_id = %s AND c.state = 'waiting'"
        " AND k.presence = 'online'",
        (second,),
    )
    # what each kiosk runs, as the ingest records it from the applied results
    conn.execute(
        "UPDATE kiosk_config kc SET version = %s FROM commands c WHERE c.kiosk = kc.kiosk"
        " AND c.rollout_id = %s AND c.state = 'applied' AND kc.kind = 'catalogue'",
        (V2, second),
    )
    conn.execute(
        "UPDATE kiosks k SET catalogue_version = kc.version FROM kiosk_config kc"
        " WHERE kc.kiosk = k.kiosk AND kc.kind = 'catalogue'"
    )
    ping = queue_command(conn, DEMO_KIOSK, "ping", requested_by="otto")
    diagnostics = queue_command(conn, DEMO_KIOSK, "run_diagnostics", requested_by="otto")
    _answer(conn, f"id IN ('{ping}', '{diagnostics}')", "applied")
    detail = {"devices": DEMO_DEVICES, "missing": ["camera"], "requested": True}
    conn.execute(
        "UPDATE commands SET detail = %s::jsonb WHERE id = %s", (json.dumps(detail), diagnostics)
    )
    conn.commit()
