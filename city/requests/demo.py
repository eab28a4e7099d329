"""Demonstration requests for the console's screens (`make screenshots`, the accessibility test,
the console bench): a dozen requests in every state, filed through the ingest's own hook and
worked on through the store's actions, as the city would have them.

Call-back numbers are sealed to the repository's DEVELOPMENT request key
(config/dev-keys/city-request-key.DEV-ONLY.txt, which the test bed's console config names), and
the numbers are made up."""

# ruff: noqa: E501 — one demo request per line

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import psycopg

from city.requests import store
from city.requests.ingest import EVENT_TYPE, store_requests
from common.ids import uuid7
from common.sealed_box import seal_phone

DEV_KEY_ID = "dev-req"
DEV_PUBLIC_KEY = "OwWEUSgWXSMUCki0RPmD9Qljj7gktCzxYbD3Glvv71c="  # the DEV-ONLY file's public half
DEMO_SUBJECT = "5e" * 32
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

# (centre, kiosk, category, building, unit, text, call back, hours ago, what staff did)
DEMO = [
    ("centre-0000", "kiosk-00", "repairs", "5栋", "2单元", "楼道灯坏了好几天，晚上看不见台阶，老人上下楼很危险。", True, 2, ""),
    ("centre-0000", "kiosk-01", "sanitation", "3栋", None, "垃圾桶满了没人清理，气味很大。", False, 5, "assign"),
    ("centre-0000", "kiosk-00", "elderly_care", "8栋", "1单元", "独居老人想申请助餐服务，不知道怎么报名。", True, 26, "answer"),
    ("centre-0001", "kiosk-00", "dispute", None, None, "楼上装修噪音太大，中午也不停。", False, 50, "close"),
    ("centre-0001", "kiosk-02", "repairs", "12栋", "3单元", "电梯经常停在六楼不动。", True, 75, "assign"),
    ("centre-0002", "kiosk-00", "other", None, None, "希望社区多组织一些书法活动。", False, 100, "close"),
    ("centre-0000", "kiosk-01", "repairs", "2栋", "1单元", "单元门禁坏了，门一直关不上。", False, 8, ""),
    ("centre-0002", "kiosk-01", "sanitation", "6栋", None, "小区花园里有很多积水，蚊子多。", True, 30, "answer"),
    ("centre-0001", "kiosk-00", "elderly_care", "1栋", "2单元", "想了解家庭医生签约怎么办理。", False, 140, "close"),
    ("centre-0003", "kiosk-04", "repairs", "9栋", None, "消防通道被车堵住了。", False, 1, ""),
]  # fmt: skip
ANSWERS = {
    "elderly_care": "已为您登记助餐服务，社区工作人员会在三个工作日内上门确认。",
    "dispute": "已联系物业和装修业主，午休时间（12:00-14:00）停止施工。",
    "other": "感谢建议，下月起每周六上午在活动室开设书法班。",
    "sanitation": "已安排保洁人员清理积水并喷洒消毒。",
}


class _Event(NamedTuple):
    id: str
    kiosk: str
    type: str
    ts: str
    data: dict[str, Any]


def _ticket(seed: int) -> str:
    chars = "".join(CROCKFORD[(seed * 7 + i * 13) % 32] for i in range(10))
    return f"{chars[:5]}-{chars[5:]}"


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def seed_requests_demo(conn: psycopg.Connection) -> dict[str, str]:
    """The demo requests; path values {"request_id": a request with a call back, assigned}."""
    now = datetime.now(UTC)
    public = base64.b64decode(DEV_PUBLIC_KEY)
    events = []
    for index, (centre, kiosk, category, building, unit, text, call, hours, _) in enumerate(DEMO):
        request_id = uuid7()
        data: dict[str, Any] = {
            "request_id": request_id,
            "ticket": _ticket(index + 3),
            "category": category,
            "text": text,
            "subject": DEMO_SUBJECT if index % 3 == 0 else f"{index:02x}" * 32,
            "key_id": "k2026",
            "session_id": str(uuid.uuid4()),
        }
        location = {k: v for k, v in (("building", building), ("unit", unit)) if v}
        if location:
            data["location"] = location
        if call:
            phone = f"1395550{index:04d}"
            data["callback"] = {
                "key_id": DEV_KEY_ID,
                "sealed": seal_phone(phone, public, request_id),
            }
        moment = now - timedelta(hours=hours, minutes=index * 7)
        events.append(
            _Event(str(uuid.uuid4()), f"440300/{centre}/{kiosk}", EVENT_TYPE, _ts(moment), data)
        )
    with conn.cursor() as cur:
        store_requests(cur, events)
    staff = store.staff_who_act(conn)
    shown = events[4].data["request_id"]
    if not staff:
        return {"request_id": shown}
    for event, row in zip(events, DEMO, strict=True):
        action = row[-1]
        request_id = event.data["request_id"]
        when = datetime.fromisoformat(event.ts.replace("Z", "+00:00")) + timedelta(minutes=20)
        if action in ("assign", "answer", "close"):
            store.assign(conn, request_id, staff[0], actor=staff[-1], now=when, note="")
        if action in ("answer", "close"):
            text = ANSWERS.get(event.data["category"], "已处理完毕，感谢您的反映。")
            store.answer(conn, request_id, text, actor=staff[0], now=when + timedelta(hours=3))
        if action == "close":
            store.close(conn, request_id, actor=staff[0], now=when + timedelta(hours=20))
    return {"request_id": shown}
