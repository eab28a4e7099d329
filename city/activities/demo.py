"""Demonstration rows for the activities screens (`make screenshots`, the accessibility test):
activities at the demo kiosk's centre in every state, and sign-ups allocated by the ingest's
own code (city/activities/ingest.py) from events as three of its kiosks would send them."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

from city.activities.allocation import CancelEvent, SignupEvent
from city.activities.ingest import apply_events
from city.activities.publishing import publish_centre
from city.activities.roster import mark_attended, refuse
from city.activities.service import ActivityInput, create_activity, publish_activity

DEMO_ACTIVITY = "demo-taichi"
CITY, CENTRE = "440300", "centre-0000"
ZONE = ZoneInfo("Asia/Shanghai")


def _uuid7(at: datetime) -> str:
    ms = int(at.timestamp() * 1000)
    rand = int.from_bytes(os.urandom(10))
    value = (ms << 80) | (0x7 << 76) | ((rand >> 62) & 0xFFF) << 64 | (0b10 << 62)
    return str(uuid.UUID(int=value | (rand & (2**62 - 1))))


def _subject(n: int) -> str:
    return hashlib.sha256(f"demo-resident-{n}".encode()).hexdigest()


def _activity(title: tuple[str, str], place: tuple[str, str], *, days: int, hour: int,
              capacity: int, points: int, approval: str = "auto") -> ActivityInput:  # fmt: skip
    day = datetime.now(ZONE).replace(hour=hour, minute=30, second=0, microsecond=0)
    starts = day + timedelta(days=days)
    return ActivityInput(
        CITY, CENTRE, title[0], title[1], place[0], place[1], "社区老年协会",
        "Seniors' association", "60岁以上居民", "Residents aged 60 and over", starts,
        starts + timedelta(hours=1, minutes=30), capacity, points, approval,
    )  # fmt: skip


def seed_activities_demo(conn: psycopg.Connection) -> dict[str, str]:
    """Four activities (published, staff-approved, draft, cancelled) and a roster."""
    conn.execute(
        "INSERT INTO activities (id, city, centre, title_zh, title_en, place_zh, place_en,"
        " organiser_zh, organiser_en, audience_zh, audience_en, starts_at, ends_at, capacity,"
        " points, state, published_at, created_by, updated_by) VALUES (%s, %s, %s, '太极拳晨练',"
        " 'Morning tai chi', '中心一楼活动室', 'Activity room, ground floor', '社区老年协会',"
        " 'Seniors'' association', '60岁以上居民', 'Residents aged 60 and over', %s, %s, 12,"
        " 10, 'published', now(), 'otto', 'otto')",
        (
            DEMO_ACTIVITY, CITY, CENTRE,
            datetime.now(ZONE).replace(hour=8, minute=30, second=0, microsecond=0)
            + timedelta(days=3),
            datetime.now(ZONE).replace(hour=9, minute=30, second=0, microsecond=0)
            + timedelta(days=3),
        ),
    )  # fmt: skip
    phone = create_activity(
        conn,
        _activity(("智能手机使用课", "Smartphone class"), ("二楼电脑室", "Computer room"),
                  days=5, hour=14, capacity=15, points=5, approval="staff"),
        by="otto", zone=ZONE,
    )  # fmt: skip
    publish_activity(conn, phone, by="otto")
    create_activity(
        conn,
        _activity(("中医义诊", "Free TCM consultation"), ("中心大厅", "Main hall"),
                  days=9, hour=9, capacity=40, points=0),
        by="otto", zone=ZONE,
    )  # fmt: skip
    gone = create_activity(
        conn,
        _activity(("书法兴趣班", "Calligraphy club"), ("三楼教室", "Classroom, 2nd floor"),
                  days=2, hour=15, capacity=20, points=5),
        by="otto", zone=ZONE,
    )  # fmt: skip
    publish_activity(conn, gone, by="otto")
    conn.execute(
        "UPDATE activities SET state = 'cancelled', cancelled_at = now() WHERE id = %s", (gone,)
    )
    now = datetime.now(UTC)
    events: list[SignupEvent | CancelEvent] = []
    signups = []
    for n in range(15):  # the 13th and later find it full; one resident signs up twice
        at = now - timedelta(hours=30 - n)
        kiosk = f"{CITY}/{CENTRE}/kiosk-0{n % 3}"
        signup_id = _uuid7(at)
        subject = _subject(1 if n == 14 else n)
        events.append(
            SignupEvent(_uuid7(at), signup_id, DEMO_ACTIVITY, "k2026", subject, kiosk, at)
        )
        signups.append(signup_id)
    for n in range(4):
        at = now - timedelta(hours=10 - n)
        events.append(
            SignupEvent(_uuid7(at), _uuid7(at), phone, "k2026", _subject(20 + n),
                        f"{CITY}/{CENTRE}/kiosk-01", at)
        )  # fmt: skip
    apply_events(conn, events, now)
    time.sleep(0.002)
    late = now - timedelta(hours=2)
    apply_events(
        conn,
        [CancelEvent(_uuid7(late), signups[3], DEMO_ACTIVITY, "k2026", _subject(3),
                     f"{CITY}/{CENTRE}/kiosk-00", late)],
        now,
    )  # fmt: skip
    refuse(
        conn,
        DEMO_ACTIVITY,
        signups[5],
        by="otto",
        reason="请先到服务台登记 (please register at the desk first)",
    )
    mark_attended(conn, DEMO_ACTIVITY, signups[0], by="otto")
    mark_attended(conn, DEMO_ACTIVITY, signups[1], by="otto")
    publish_centre(conn, CITY, CENTRE, by="otto")
    conn.execute(
        "UPDATE commands c SET state = 'applied', sent_at = now(), result_at = now()"
        " FROM kiosks k WHERE c.kiosk = k.kiosk AND k.presence = 'online'"
        " AND c.type IN ('activity_signup_result', 'set_config') AND c.state = 'waiting'"
        " AND c.kiosk LIKE %s",
        (f"{CITY}/{CENTRE}/%",),
    )
    conn.commit()
    return {"activity_id": DEMO_ACTIVITY}
