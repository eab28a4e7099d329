"""Demonstration ledger for `make screenshots` and the accessibility test: rewards, a few
pseudonyms earning over the last four weeks, redemptions at the demo kiosk (one refused).

Written through city/points/ledger.py, in time order (ids follow time, city/points/staff.py).
The pseudonyms are made-up hex, not computed from any card.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from city.points import ledger
from common.ids import uuid7

DEMO_KEY = "demo-key"
DEMO_KIOSK = "440300/centre-0000/kiosk-00"
REWARDS = (
    ("haircut", "理发一次", "A haircut", 50, 20, True),
    ("rice-5kg", "大米 5 公斤", "Rice, 5 kg", 120, 8, True),
    ("massage", "推拿 30 分钟", "Massage, 30 minutes", 80, None, True),
    ("mooncake", "月饼一盒", "Box of mooncakes", 60, 0, False),
)


def demo_subject(index: int) -> str:
    """The demo pseudonyms: a1a1…, b2b2…, …"""
    pair = "a1b2c3d4e5f6"[2 * index : 2 * index + 2]
    return pair * 32


def seed_points_demo(conn: psycopg.Connection) -> dict[str, str]:
    """Rewards, four residents' entries over 27 days, three redemptions; no path values (the
    module's Screens give concrete paths)."""
    for reward_id, zh, en, points, stock, active in REWARDS:
        ledger.set_reward(
            conn,
            reward_id,
            title_zh=zh,
            title_en=en,
            points=points,
            stock=stock,
            active=active,
            actor="demo",
        )
    start = datetime.now(UTC) - timedelta(days=27)
    residents = [ledger.Resident(DEMO_KEY, demo_subject(i)) for i in range(4)]
    for day in range(0, 27, 3):
        moment = start + timedelta(days=day, hours=2)
        for i, resident in enumerate(residents[: 2 + (day // 3) % 3]):
            ledger.earn(
                conn,
                resident,
                10 + 5 * i,
                source="attendance" if day % 2 else "volunteering",
                reference=f"demo-shift-{day:02d}",
                actor="demo",
                note="社区服务站登记" if i == 0 else "",
                now=moment + timedelta(minutes=i),
            )
    for minutes, (resident, reward_id, points) in enumerate(
        [
            (residents[0], "haircut", 50),
            (residents[1], "rice-5kg", 120),
            (residents[0], "massage", 80),
        ]
    ):
        moment = datetime.now(UTC) - timedelta(hours=3) + timedelta(minutes=minutes)
        ledger.redeem(
            conn,
            resident,
            redemption_id=uuid7(moment.timestamp()),
            reward_id=reward_id,
            points=points,
            kiosk=DEMO_KIOSK,
            call_id=uuid7(moment.timestamp()),
            now=moment,
        )
    return {}
