"""我要反映 (诉求) on the real app offscreen, by touches (docs/requests.md): the whole flow with
voice on, the ticket printed, my requests from the city and offline, the 适老化 audit of every
step; and the phone number nowhere in clear: not in the outbox file, the kiosk's files, the
logs, the speech or the slip."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from common.sealed_box import open_phone
from drivers.idcard.samples import SAMPLE_CARDS
from edge_agent.contract import validate_event
from tests.kiosk_ui.test_flows import REPO, TOUR_TIMEOUT_S, assert_no_clear_pii, types_of
from tests.kiosk_ui.tours import CALLBACK_PHONE

pytestmark = pytest.mark.ui
RESIDENT = SAMPLE_CARDS["resident"]
DEV_KEYS = (REPO / "config" / "dev-keys" / "city-request-key.DEV-ONLY.txt").read_text()
PRIVATE_KEY = next(
    line.split(": ", 1)[1] for line in DEV_KEYS.splitlines() if line.startswith("private_key:")
)


def run(name: str, tmp_path: Path, env: dict[str, str]) -> tuple[dict[str, Any], list[Any], str]:
    data_dir, notes = tmp_path / "data", tmp_path / "notes.json"
    argv = [sys.executable, "-m", "tests.kiosk_ui.tours", name, str(data_dir), str(notes)]
    done = subprocess.run(
        argv, check=False, env=env, cwd=REPO, capture_output=True, text=True,
        timeout=TOUR_TIMEOUT_S,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    with sqlite3.connect(data_dir / "outbox.sqlite3") as db:
        rows = db.execute("SELECT type, payload FROM events ORDER BY id").fetchall()
    events = [(kind, json.loads(bytes(payload))) for kind, payload in rows]
    return json.loads(notes.read_text(encoding="utf-8")), events, done.stdout + done.stderr


def test_file_a_request_by_touches_then_see_it_and_nothing_in_clear(
    tmp_path: Path, kivy_env: dict[str, str]
) -> None:
    import base64

    notes, events, output = run("requests_flow", tmp_path, kivy_env)
    assert notes["text"] == "楼道灯坏了502"
    assert notes["typing_shown"].endswith(CALLBACK_PHONE)  # while typing: the resident checks it
    assert notes["masked_shown"].endswith("139****5678")
    assert ["回电", "139****5678"] in notes["review"]
    ticket = notes["ticket"]
    assert len(ticket) == 11
    (submitted,) = [p for k, p in events if k == "request.submitted"]
    validate_event(submitted)
    data = submitted["data"]
    assert data["ticket"] == ticket
    assert data["location"] == {"building": "1栋", "unit": "2单元"}
    assert data["text"] == "楼道灯坏了502"
    assert data["callback"]["key_id"] == "dev-req"
    key = base64.b64decode(PRIVATE_KEY)
    assert open_phone(data["callback"]["sealed"], key, data["request_id"]) == CALLBACK_PHONE
    assert "request.submitted" in types_of(events)
    # the ticket read aloud character by character; the phone never, not even masked
    spoken_ticket = "，".join(ticket.replace("-", ""))
    assert any(spoken_ticket in said for said in notes["speech"])
    for said in [*notes["speech"], notes["review_speech"], notes["ticket_speech"]]:
        assert CALLBACK_PHONE not in said
        assert "5678" not in said
    # the slip: ticket, category, location, text; the masked name only, no phone
    slip = notes["slip"]
    for expected in ("诉求回执", ticket, "维修报修", "1栋 2单元", "楼道灯坏了502"):
        assert expected in slip
    assert "*" in slip
    for secret in (CALLBACK_PHONE, "5678", RESIDENT.name, RESIDENT.id_number):
        assert secret not in slip
    assert (tmp_path / "data" / "request-ticket.png").read_bytes().startswith(b"\x89PNG")
    # my requests: the city's answer merged with the one still on its way, then offline
    (mine_new, mine_old) = notes["mine"]
    assert mine_new == [ticket, "已发送，等待受理", ""]  # the city does not know it yet
    assert mine_old == ["7K2MQ-9XD3F", "已答复", "已安排清运，谢谢反映。"]
    assert "没有联网" in notes["offline"]
    assert notes["offline_mine"] == ["waiting"]
    assert notes["after_wipe"] == ["menu", "", 0]
    leftover = " ".join(notes["widget_texts_after_wipe"])
    for secret in (CALLBACK_PHONE, "139****5678", "楼道灯坏了502", ticket):
        assert secret not in leftover
    # nowhere in clear: every file the kiosk wrote (outbox, private store, calls), its logs
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file():
            assert CALLBACK_PHONE.encode() not in path.read_bytes(), path
    assert CALLBACK_PHONE not in output
    assert_no_clear_pii(events, CALLBACK_PHONE, RESIDENT.name, RESIDENT.id_number)


def test_every_requests_step_passes_the_accessibility_audit(
    tmp_path: Path, kivy_env: dict[str, str]
) -> None:
    notes, _events, _output = run("requests_audit", tmp_path, kivy_env)
    audited = notes["audit"]
    steps = {key.split("/")[0] for key in audited}
    assert len(steps) == 15
    modes = {key.split("/")[2] for key in audited}
    assert modes == {"zh-normal", "en-normal", "zh-contrast-large", "en-contrast-large"}
    violations = {key: found for key, found in audited.items() if found}
    assert violations == {}
