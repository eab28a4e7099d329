"""The kiosk's points client on real files: calls the contract accepts, answers, plain words."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from common.kiosk_agent import LOCAL_REASONS, answer_path, calls_dir, write_atomically
from edge_agent.contract import SCHEMA_DIR, validate_call
from kiosk.runtime.points_client import (
    PLAIN_WORDS,
    Answer,
    PointsClient,
    Resident,
    answer_of,
    new_redemption_id,
)

RESIDENT = Resident(subject="e" * 64, key_id="k2026")
REPO = Path(__file__).resolve().parents[2]


class FakeAgent:
    """The agent's side of the channel, as files: answers each call with `reply(call)`."""

    def __init__(self, data_dir: Path, reply: Any) -> None:
        self.data_dir = data_dir
        self.reply = reply
        self.calls: list[dict[str, Any]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            for path in calls_dir(self.data_dir).glob("*.call.json"):
                body = json.loads(path.read_text())
                path.unlink()
                self.calls.append(body)
                answer = self.reply(body)
                if answer is not None:
                    write_atomically(answer_path(self.data_dir, body["call_id"]), answer)
            time.sleep(0.01)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


def ok(data: dict[str, Any]) -> Any:
    return lambda call: {
        "call_id": call["call_id"],
        "method": call["method"],
        "status": "ok",
        "answered_at": call["issued_at"],
        "data": data,
    }


def test_every_call_the_client_writes_matches_the_contract(tmp_path: Path) -> None:
    """balance, history, catalogue and redeem write schema-valid calls and read the answer."""
    agent = FakeAgent(tmp_path, ok({"balance": 12}))
    try:
        client = PointsClient(tmp_path, timeout_s=5)
        rid = new_redemption_id()
        for answer in (
            client.balance(RESIDENT),
            client.history(RESIDENT, limit=500),
            client.catalogue(),
            client.redeem(RESIDENT, "rice", 30, rid),
        ):
            assert answer == Answer(True, {"balance": 12})
            assert answer.words() == ""
    finally:
        agent.close()
    for call in agent.calls:
        validate_call(call)
    assert [c["method"] for c in agent.calls] == [
        "points.balance",
        "points.history",
        "points.catalogue",
        "points.redeem",
    ]
    assert agent.calls[1]["params"]["limit"] == 50
    assert agent.calls[3]["params"]["redemption_id"] == rid
    assert list(calls_dir(tmp_path).iterdir()) == []  # answers taken, nothing left behind


def test_an_agent_that_never_answers_is_a_timeout_and_the_call_is_taken_back(
    tmp_path: Path,
) -> None:
    """No agent at all: `timeout` after the expiry and a grace, and no call file left to send."""
    moments = iter(range(10_000))
    client = PointsClient(
        tmp_path,
        timeout_s=2,
        clock=lambda: 1_796_000_000.0 + next(moments) * 0.5,
        sleep=lambda _s: None,
    )
    answer = client.balance(RESIDENT)
    assert (answer.ok, answer.reason) == (False, "timeout")
    assert list(calls_dir(tmp_path).glob("*.call.json")) == []


def test_errors_unknown_reasons_and_foreign_answers(tmp_path: Path) -> None:
    """A reason code becomes plain words; an unknown code is shown as a generic failure."""
    agent = FakeAgent(
        tmp_path,
        lambda call: {
            "call_id": call["call_id"],
            "status": "error",
            "answered_at": call["issued_at"],
            "reason": call["params"].get("reward_id", "timeout"),
        },
    )
    try:
        client = PointsClient(tmp_path, timeout_s=5)
        assert client.redeem(RESIDENT, "insufficient_points", 1, new_redemption_id()).reason == (
            "insufficient_points"
        )
        odd = client.redeem(RESIDENT, "no_such_code", 1, new_redemption_id())
        assert odd.reason == "invalid_call"
        assert odd.words("en")
    finally:
        agent.close()
    assert answer_of({"call_id": "other"}, "mine", "points.balance") is None
    assert answer_of(None, "mine", "points.balance") is None
    assert answer_of(
        {"call_id": "mine", "status": "ok", "method": "points.redeem", "data": {}},
        "mine",
        "points.balance",
    ) == Answer(False, {}, "invalid_call")


def test_every_reason_has_plain_words_in_chinese_and_english() -> None:
    """Each reason the city or the agent can give reads as a sentence in both languages."""
    schema = json.loads((SCHEMA_DIR / "answer.schema.json").read_text())
    reasons = set(schema["properties"]["reason"]["enum"]) | set(LOCAL_REASONS)
    assert reasons <= set(PLAIN_WORDS)
    for reason in reasons:
        words = Answer(False, {}, reason)
        assert words.words("zh").endswith("。"), reason
        assert words.words("en").endswith("."), reason
        assert "_" not in words.words("en"), reason


def test_a_garbled_answer_file_is_not_an_answer(tmp_path: Path) -> None:
    """The agent runs as another user: its files are read bounded and checked."""

    def garble(call: dict[str, Any]) -> None:
        answer_path(tmp_path, call["call_id"]).write_bytes(b"[" * 100_000)

    agent = FakeAgent(tmp_path, garble)
    try:
        answer = PointsClient(tmp_path, timeout_s=0.5).balance(RESIDENT)
    finally:
        agent.close()
    assert (answer.ok, answer.reason) == (False, "timeout")


@pytest.mark.parametrize("module", ["kiosk.runtime.points_client"])
def test_the_points_client_loads_neither_paho_nor_the_agent(module: str) -> None:
    """The kiosk process stays free of the MQTT side (import-linter checks the same statically)."""
    probe = (
        "import importlib, json, sys; importlib.import_module(sys.argv[1]);"
        " print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, module],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert not {m for m in loaded if m.split(".")[0] == "paho" or m.startswith("edge_agent")}
