"""The publishing pages and kiosk buttons over the real app (TestClient), a real PostgreSQL and a
real Mosquitto: roles, CSRF, upload errors with paths, plan and diff, rollout, audit."""

from __future__ import annotations

import json
import queue
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion
from starlette.testclient import TestClient

from city.config import city_config_from_data
from city.console.app import create_app
from testbed.broker import MosquittoBroker
from testbed.console import add_staff, console_config_data, write_secret
from testbed.fleet_seed import kiosk_row
from tests.edge_agent.conftest import DEV_KEY
from tests.fixtures.console import console_login, csrf_from

pytestmark = [pytest.mark.postgres, pytest.mark.broker]

CATALOGUE = Path(__file__).resolve().parents[3] / "config" / "catalogue.yaml"
KIOSK = "440300/c1/k1"


def _client(db: str, tmp_path: Path, **extra: Any) -> Iterator[TestClient]:
    add_staff(db)
    data = console_config_data(db, write_secret(tmp_path / "secret"), extra=extra)
    config = city_config_from_data(data, source="test", base_dir=tmp_path, env={})
    app = create_app(config, (tmp_path / "secret").read_bytes().strip())
    with TestClient(app, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def signed_client(city_db: str, tmp_path: Path, mosquitto: MosquittoBroker) -> Iterator[TestClient]:
    """The console with the development key and this test's broker."""
    yield from _client(
        city_db,
        tmp_path,
        broker={"url": mosquitto.url},
        console={"signing_key_file": str(DEV_KEY)},
        publishing={"dispatch_interval_s": 0.1},
    )


@pytest.fixture
def inbox(mosquitto: MosquittoBroker) -> Iterator[queue.Queue[tuple[str, bytes]]]:
    got: queue.Queue[tuple[str, bytes]] = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    ready: queue.Queue[None] = queue.Queue()
    client.on_subscribe = lambda *_: ready.put(None)
    client.on_message = lambda _c, _u, m: got.put((m.topic, bytes(m.payload)))
    client.connect(mosquitto.host, mosquitto.port)
    client.subscribe("gov-kiosk/v1/+/+/+/commands", qos=1)
    client.loop_start()
    ready.get(timeout=10)
    yield got
    client.disconnect()
    client.loop_stop()


def _online(db: str, *kiosks: str) -> None:
    with psycopg.connect(db) as conn:
        for kiosk in kiosks:
            kiosk_row(conn, kiosk, district="福田区")
        conn.commit()


def _audit(db: str) -> list[tuple[str, str, str]]:
    with psycopg.connect(db) as conn:
        rows = conn.execute("SELECT actor, action, subject FROM audit_log ORDER BY id").fetchall()
    return [(a, b, c) for a, b, c in rows]


def _upload(client: TestClient, content: bytes, kind: str = "catalogue") -> Any:
    token = csrf_from(client.get("/publish").text)
    return client.post(
        "/publish/upload",
        data={"csrf": token, "kind": kind},
        files={"file": ("catalogue.yaml", content, "application/yaml")},
        follow_redirects=False,
    )


def test_a_rollout_from_upload_to_applied_state_is_signed_sent_and_audited(
    signed_client: TestClient, city_db: str, inbox: queue.Queue[tuple[str, bytes]]
) -> None:
    _online(city_db, KIOSK, "440300/c2/k2")
    assert console_login(signed_client, "operator").status_code == 303
    answer = _upload(signed_client, CATALOGUE.read_bytes())
    assert answer.status_code == 303
    document_url = answer.headers["location"]
    page = signed_client.get(document_url + "?to=all&first_centre=c1&staged=1")
    assert page.status_code == 200
    assert "第一阶段：中心 c1，1 台；第二阶段：其余 1 台" in page.text
    assert "2 台正在运行 2026.11.1" in page.text
    assert "平台没有该版本的内容" in page.text  # shipped with the kiosks, never published
    document_id = document_url.rsplit("/", 1)[1]
    answer = signed_client.post(
        "/publish/rollouts",
        data={
            "csrf": csrf_from(page.text),
            "document_id": document_id,
            "to": "all",
            "first_centre": "c1",
            "staged": "1",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    rollout_url = answer.headers["location"]
    topic, payload = inbox.get(timeout=10)
    assert topic == f"gov-kiosk/v1/{KIOSK}/commands"
    message = json.loads(payload)
    assert message["command"]["type"] == "set_config"
    assert message["command"]["target"] == KIOSK
    targets = signed_client.get(rollout_url + "/targets").text
    assert re.search(r'data-kiosk="440300/c1/k1" data-state="(sent|waiting)"', targets)
    assert 'data-kiosk="440300/c2/k2" data-state="held"' in targets
    actions = [a for _, a, _ in _audit(city_db)]
    assert actions[-2:] == ["publish.upload", "publish.rollout"]
    page = signed_client.get(rollout_url)
    assert 'id="promote" disabled' in page.text  # stage 1 has not applied it yet


def test_upload_problems_are_listed_with_their_paths(signed_client: TestClient) -> None:
    console_login(signed_client, "operator")
    document = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))
    document["items"][4]["category"] = "nope"
    answer = _upload(signed_client, yaml.safe_dump(document, allow_unicode=True).encode())
    assert answer.status_code == 422
    assert "<code>items[4].category</code>" in answer.text
    assert "unknown category" in answer.text
    bomb = b"version: '1'\na: &a [x, x, x, x, x, x, x, x, x]\n" + b"".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n".encode()
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    assert _upload(signed_client, bomb, "ui_texts").status_code == 422


def test_viewers_look_operators_act_and_posts_need_the_token(
    signed_client: TestClient, city_db: str
) -> None:
    _online(city_db, KIOSK)
    console_login(signed_client, "viewer")
    page = signed_client.get(f"/kiosks/{KIOSK}")
    assert "只有操作员可以发送命令" in page.text
    assert 'data-command="ping"' not in page.text
    token = csrf_from(page.text)
    refused = signed_client.post(
        f"/publish/kiosks/{KIOSK}/commands", data={"csrf": token, "type": "ping"}
    )
    assert refused.status_code == 403
    assert signed_client.get("/publish").status_code == 200
    assert 'action="/publish/upload"' not in signed_client.get("/publish").text
    signed_client.post("/logout", data={"csrf": token})

    console_login(signed_client, "operator")
    page = signed_client.get(f"/kiosks/{KIOSK}")
    for command in ("ping", "run_diagnostics", "restart_kiosk"):
        assert f'data-command="{command}"' in page.text
    confirm = signed_client.get(f"/publish/kiosks/{KIOSK}/restart")
    assert 'id="restart-confirm"' in confirm.text
    no_token = signed_client.post(f"/publish/kiosks/{KIOSK}/commands", data={"type": "ping"})
    assert no_token.status_code == 403
    bad = signed_client.post(
        f"/publish/kiosks/{KIOSK}/commands",
        data={"csrf": csrf_from(page.text), "type": "format_disk"},
    )
    assert bad.status_code == 400
    sent = signed_client.post(
        f"/publish/kiosks/{KIOSK}/commands",
        data={"csrf": csrf_from(page.text), "type": "restart_kiosk"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert ("otto", "command.send", KIOSK) in _audit(city_db)
    deadline = time.monotonic() + 10
    partial = ""
    while time.monotonic() < deadline:
        partial = signed_client.get(f"/publish/kiosks/{KIOSK}/commands").text
        if 'data-state="sent"' in partial:
            break
        time.sleep(0.1)
    assert 'data-command="restart_kiosk" data-state="sent"' in partial


def test_english_pages_are_complete(signed_client: TestClient, city_db: str) -> None:
    _online(city_db, KIOSK)
    console_login(signed_client, "operator")
    signed_client.get("/lang/en?next=/publish")
    page = signed_client.get("/publish")
    assert "Upload a new version" in page.text
    assert "发布" not in page.text.replace("发布事项", "")  # no Chinese label left over
    kiosk = signed_client.get(f"/kiosks/{KIOSK}").text
    assert "Run diagnostics" in kiosk


def test_without_a_signing_key_commands_are_refused_with_the_reason(
    city_db: str, tmp_path: Path
) -> None:
    _online(city_db, KIOSK)
    for client in _client(city_db, tmp_path, console={"signing_key_file": None}):
        console_login(client, "operator")
        page = client.get("/publish")
        assert "无法发送命令" in page.text
        assert "console.signing_key_file" in page.text
        kiosk_page = client.get(f"/kiosks/{KIOSK}")
        answer = client.post(
            f"/publish/kiosks/{KIOSK}/commands",
            data={"csrf": csrf_from(kiosk_page.text), "type": "ping"},
        )
        assert answer.status_code == 503
        with psycopg.connect(city_db) as conn:
            assert conn.execute("SELECT count(*) FROM commands").fetchone() == (0,)


def test_the_kiosk_command_list_shows_each_devices_self_test(
    signed_client: TestClient, city_db: str
) -> None:
    _online(city_db, KIOSK)
    devices = [
        {"device": "idcard", "ok": True, "duration_s": 1.4,
         "checks": [{"name": "sam_status", "ok": True, "detail": "90 00"}]},
        {"device": "qrscan", "ok": False, "duration_s": 5.0,
         "checks": [{"name": "status", "ok": False, "detail": "no answer in 5 s"}]},
    ]  # fmt: skip
    results = [
        ("ping", "applied", None, {"pong": True}),
        ("run_diagnostics", "applied", None, {"devices": devices, "missing": ["camera"]}),
        ("run_diagnostics", "failed", "execution_failed", {"problem": "no self-test in 40 s"}),
        ("restart_kiosk", "rejected", "bad_signature", None),
    ]
    with psycopg.connect(city_db) as conn:
        for index, (ctype, state, reason, detail) in enumerate(results):
            conn.execute(
                "INSERT INTO commands (id, kiosk, type, state, reason, detail, requested_by,"
                " created_at) VALUES (gen_random_uuid(), %s, %s, %s, %s, %s::jsonb, 'otto',"
                " now() + %s * interval '1 second')",
                (KIOSK, ctype, state, reason, json.dumps(detail) if detail else None, index),
            )
        conn.commit()
    console_login(signed_client, "viewer")
    partial = signed_client.get(f"/publish/kiosks/{KIOSK}/commands")
    assert partial.status_code == 200
    assert 'data-device="qrscan"' in partial.text
    assert "no answer in 5 s" in partial.text
    assert "未回复的设备：camera" in partial.text
    assert "no self-test in 40 s" in partial.text
    assert "签名无效" in partial.text


def test_a_large_rollout_lists_what_needs_a_look_first_and_filters_by_state(
    signed_client: TestClient, city_db: str
) -> None:
    from city.publish.demo import seed_publish_demo
    from testbed.fleet_seed import seed_fleet

    with psycopg.connect(city_db) as conn:
        seed_fleet(conn, 240)
        conn.commit()
        seed_publish_demo(conn)
    console_login(signed_client, "viewer")
    page = signed_client.get("/publish/rollouts/2").text
    rows = re.findall(r'<tr data-kiosk="([^"]+)" data-state="([^"]+)"', page)
    assert len(rows) == 200  # of 240: the refusal first, then what is under way
    assert rows[0] == ("440300/centre-0011/kiosk-03", "rejected")
    assert rows[-1][1] == "applied"
    assert "显示 200 / 240 台" in page
    only = signed_client.get("/publish/rollouts/2/targets?state=waiting").text
    states = set(re.findall(r'<tr data-kiosk="[^"]+" data-state="([^"]+)"', only))
    assert states == {"waiting"}
    assert signed_client.get("/publish/rollouts/2?state=bogus").status_code == 400
