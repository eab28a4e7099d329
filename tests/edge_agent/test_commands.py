"""Signed city commands: each rejection reason, atomic set_config + rollback, MQTT round trip."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.publish as mqtt_publish
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge_agent.actions import DIAGNOSTICS_WAIT_S, PENDING_DIAGNOSTICS_FILE, Actions
from edge_agent.commands import (
    CommandRejected,
    Verifier,
    load_private_key,
    load_public_key,
    make_command,
    sign_command,
)
from edge_agent.contract import Identity, new_event, validate_event
from edge_agent.outbox import Outbox
from testbed.broker import MosquittoBroker
from tests.edge_agent.conftest import (
    DEV_KEY,
    DEV_PUBLIC_KEY,
    PREFIX,
    REPO,
    TARGET,
    CitySubscriber,
    write_config,
)
from tests.edge_agent.test_agent_broker import AGENT_ENV, AgentThread

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
KEY = load_private_key(DEV_KEY)


def signed(command_type: str = "ping", target: str = TARGET, **kwargs: Any) -> bytes:
    args = kwargs.pop("args", {})
    command = make_command(command_type, target, args, now=kwargs.pop("now", NOW), **kwargs)
    return json.dumps(sign_command(KEY, command)).encode()


@pytest.fixture
def verifier(tmp_sqlite: Path) -> Verifier:
    box = Outbox(tmp_sqlite, Identity("440300", "c1", "k1"))
    return Verifier(load_public_key(DEV_PUBLIC_KEY, None), TARGET, 60.0, box.remember_nonce)


def reason(verifier: Verifier, payload: bytes, now: datetime = NOW) -> str:
    with pytest.raises(CommandRejected) as rejected:
        verifier.verify(payload, now.timestamp())
    return rejected.value.reason


def test_good_command_verifies_once_then_is_a_replay(verifier: Verifier) -> None:
    """A correctly signed, targeted, current command passes; the same bytes again are replayed."""
    payload = signed()
    assert verifier.verify(payload, NOW.timestamp())["type"] == "ping"
    assert reason(verifier, payload) == "replayed"


def test_nonce_cache_survives_a_restart(tmp_sqlite: Path) -> None:
    """A replay is caught by a new Verifier on the same outbox file (agent restarted)."""
    payload = signed()
    for expected in (None, "replayed"):
        box = Outbox(tmp_sqlite, Identity("440300", "c1", "k1"))
        check = Verifier(load_public_key(DEV_PUBLIC_KEY, None), TARGET, 60.0, box.remember_nonce)
        if expected is None:
            check.verify(payload, NOW.timestamp())
        else:
            assert reason(check, payload) == expected
        box.close()


def test_forged_signature_is_rejected(verifier: Verifier) -> None:
    """Signed with another key, or tampered after signing: bad_signature."""
    other = Ed25519PrivateKey.generate()
    forged = sign_command(other, make_command("ping", TARGET, now=NOW))
    assert reason(verifier, json.dumps(forged).encode()) == "bad_signature"
    tampered = json.loads(signed())
    tampered["command"]["args"] = {"x": 1}
    assert reason(verifier, json.dumps(tampered).encode()) == "bad_signature"
    tampered["signature"] = "not base64!"
    assert reason(verifier, json.dumps(tampered).encode()) == "bad_signature"


def test_no_configured_key_means_nothing_runs(tmp_sqlite: Path) -> None:
    """Without a city key every command is rejected: the transport is never trusted alone."""
    box = Outbox(tmp_sqlite, Identity("440300", "c1", "k1"))
    keyless = Verifier(None, TARGET, 60.0, box.remember_nonce)
    assert reason(keyless, signed()) == "bad_signature"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"\xff\xfe not json", "malformed"),
        (b"[]", "malformed"),
        (b'{"command": {}, "signature": 5}', "malformed"),
    ],
)
def test_malformed_messages_are_rejected(verifier: Verifier, payload: bytes, expected: str) -> None:
    """Garbage on the commands topic is rejected as malformed, never executed."""
    assert reason(verifier, payload) == expected


def test_unknown_wrong_target_expired_and_future_commands(verifier: Verifier) -> None:
    """Each check gives its own reason."""
    assert reason(verifier, signed("format_disk")) == "unknown_type"
    assert reason(verifier, signed(target="440300/c1/other")) == "wrong_kiosk"
    late = NOW.replace(hour=9)
    assert reason(verifier, signed(expires_in_s=300), late) == "expired"
    early = NOW.replace(hour=7)
    assert reason(verifier, signed(), early) == "not_yet_valid"
    body = make_command("ping", TARGET, now=NOW)
    body["extra"] = True
    assert reason(verifier, json.dumps(sign_command(KEY, body)).encode()) == "malformed"


def make_actions(tmp_path: Path, **kwargs: Any) -> Actions:
    return Actions(
        tmp_path / "data",
        {"catalogue": tmp_path / "catalogue.yaml", "ui_texts": tmp_path / "data" / "ui.yaml"},
        **kwargs,
    )


def ran(actions: Actions, command: dict[str, Any]) -> dict[str, Any]:
    """The result of a command answered at once (every type but run_diagnostics)."""
    result = actions.run(command)
    assert result is not None
    return result


def set_config(kind: str, version: str, content: str) -> dict[str, Any]:
    return make_command(
        "set_config", TARGET, {"kind": kind, "version": version, "content": content}
    )


def check_result(data: dict[str, Any]) -> None:
    event = new_event(
        "command.result",
        data,
        identity=Identity("440300", "c1", "k1"),
        boot_id="7a1f5a0e-5b7c-4c8e-9d3a-2f6c1b0e4d11",
        seq=1,
    )
    validate_event(event)


def test_set_config_swaps_atomically_and_records_the_version(tmp_path: Path) -> None:
    """A good catalogue replaces the file whole, its version is recorded, the kiosk is told."""
    actions = make_actions(tmp_path)
    (tmp_path / "catalogue.yaml").write_text("version: '1'\nservices: []\n")
    result = ran(actions, set_config("catalogue", "2", "version: '2'\nservices: [a]\n"))
    check_result(result)
    assert result["status"] == "ok"
    assert (tmp_path / "catalogue.yaml").read_text() == "version: '2'\nservices: [a]\n"
    assert actions.versions() == {"catalogue": "2"}
    reload = json.loads((tmp_path / "data" / "requests" / "reload_config.json").read_text())
    assert reload["kind"] == "catalogue"
    assert not list(tmp_path.glob(".catalogue.yaml.tmp*"))


@pytest.mark.parametrize(
    ("version", "content"),
    [
        ("3", "version: '3'\nservices: [unclosed\n"),
        ("3", "[1, 2]"),
        ("3", "version: '4'\n"),
        ("", "version: ''\n"),
    ],
)
def test_bad_set_config_leaves_the_old_file(tmp_path: Path, version: str, content: str) -> None:
    """Malformed YAML, wrong shape or a version mismatch: rejected, the old file untouched."""
    actions = make_actions(tmp_path)
    (tmp_path / "catalogue.yaml").write_text("version: '1'\n")
    result = ran(actions, set_config("catalogue", version, content))
    check_result(result)
    assert (result["status"], result["reason"]) == ("rejected", "invalid_payload")
    assert (tmp_path / "catalogue.yaml").read_text() == "version: '1'\n"
    assert actions.versions() == {}


def test_failure_after_swap_rolls_back(tmp_path: Path) -> None:
    """If the post-swap check fails, the previous file is restored and the result says so."""

    def refuse(_kind: str, _path: Path) -> None:
        raise ValueError("kiosk cannot load it")

    actions = make_actions(tmp_path, after_swap=refuse)
    (tmp_path / "catalogue.yaml").write_text("version: '1'\n")
    result = ran(actions, set_config("catalogue", "2", "version: '2'\n"))
    check_result(result)
    assert (result["status"], result["reason"]) == ("failed", "execution_failed")
    assert (tmp_path / "catalogue.yaml").read_text() == "version: '1'\n"


def test_custom_validator_hook_is_used(tmp_path: Path) -> None:
    """A validator hook for ui_texts can refuse a well-formed document."""

    def needs_zh(content: bytes) -> None:
        if b"zh:" not in content:
            raise ValueError("missing zh texts")

    actions = make_actions(tmp_path, validators={"ui_texts": needs_zh})
    bad = ran(actions, set_config("ui_texts", "1", "version: '1'\nen: {}\n"))
    assert bad["reason"] == "invalid_payload"
    good = ran(actions, set_config("ui_texts", "1", "version: '1'\nzh: {}\n"))
    assert good["status"] == "ok"


def test_restart_and_diagnostics_leave_requests_for_the_kiosk(tmp_path: Path) -> None:
    """restart_kiosk and run_diagnostics write request files the kiosk process watches.

    run_diagnostics is answered later, with the kiosk's self-test reports (item 16).
    """
    actions = make_actions(tmp_path, diagnostics=lambda: {"outbox_depth": 0})
    result = actions.run(make_command("restart_kiosk", TARGET))
    assert result is not None
    check_result(result)
    assert result["status"] == "ok"
    assert actions.run(make_command("run_diagnostics", TARGET)) is None
    for kind in ("restart_kiosk", "run_diagnostics"):
        assert (tmp_path / "data" / "requests" / f"{kind}.json").exists()


REPORT = {
    "device": "idcard",
    "ok": True,
    "duration_s": 0.12,
    "checks": [
        {"name": "sam_status", "ok": True, "detail": ""},
        {"name": "sam_id", "ok": True, "detail": "05.01-20240101-0000012345-0000067890"},
    ],
}


class Clock:
    """A wall clock the test moves."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def answer(tmp_path: Path, body: object) -> None:
    """The kiosk's answer file, as kiosk/runtime/requests.write_diagnostics_result writes it."""
    path = tmp_path / "data" / "requests" / "run_diagnostics.result.json"
    path.write_text(json.dumps(body), encoding="utf-8")


def test_run_diagnostics_result_carries_the_kiosks_per_device_reports(tmp_path: Path) -> None:
    """The kiosk's reports become the detail of one contract-valid command.result."""
    actions = make_actions(tmp_path, diagnostics=lambda: {"outbox_depth": 0})
    command = make_command("run_diagnostics", TARGET)
    assert actions.run(command) is None
    assert actions.collect_diagnostics() == []  # nothing from the kiosk yet
    answer(tmp_path, {"command_id": command["id"], "devices": [REPORT], "missing": ["bp"]})
    (result,) = actions.collect_diagnostics()
    check_result(result)
    assert (result["status"], result["command_id"]) == ("ok", command["id"])
    assert result["detail"]["devices"] == [REPORT]
    assert result["detail"]["missing"] == ["bp"]
    assert result["detail"]["agent"] == {"outbox_depth": 0}
    assert actions.collect_diagnostics() == []  # once only


def test_run_diagnostics_without_a_kiosk_answer_fails_after_the_wait(tmp_path: Path) -> None:
    """No answer within DIAGNOSTICS_WAIT_S: a failed result saying the kiosk did not report."""
    clock = Clock()
    actions = make_actions(tmp_path, clock=clock)
    command = make_command("run_diagnostics", TARGET)
    actions.run(command)
    clock.now += actions.diagnostics_wait_s - 1
    assert actions.collect_diagnostics() == []
    clock.now += 1
    (result,) = actions.collect_diagnostics()
    check_result(result)
    assert (result["status"], result["reason"]) == ("failed", "execution_failed")
    assert "did not report" in result["detail"]["problem"]


@pytest.mark.parametrize(
    "body",
    [
        "not an object",
        {"command_id": 5},
        {"devices": [REPORT]},
        {"command_id": "x" * 10_000, "devices": [REPORT]},
    ],
)
def test_a_malformed_kiosk_answer_is_dropped(tmp_path: Path, body: object) -> None:
    """Answers without a matching command id never produce a result; the file is removed."""
    actions = make_actions(tmp_path)
    actions.run(make_command("run_diagnostics", TARGET))
    answer(tmp_path, body)
    assert actions.collect_diagnostics() == []
    assert not (tmp_path / "data" / "requests" / "run_diagnostics.result.json").exists()


def test_kiosk_report_strings_are_sanitised_and_capped(tmp_path: Path) -> None:
    """Control characters go, texts are capped, unknown devices and extra checks are dropped."""
    actions = make_actions(tmp_path)
    command = make_command("run_diagnostics", TARGET)
    actions.run(command)
    noisy = {
        "device": "bp",
        "ok": True,
        "duration_s": True,
        "checks": [{"name": "n\x00" * 50, "ok": "yes", "detail": "\u202e" + "d" * 500}] * 20,
    }
    body = {"command_id": command["id"], "devices": [noisy, {**REPORT, "device": "fax"}]}
    answer(tmp_path, body)
    (result,) = actions.collect_diagnostics()
    check_result(result)
    (report,) = result["detail"]["devices"]
    assert report["ok"] is False  # a check whose ok is not true fails the device
    assert report["duration_s"] is None
    assert len(report["checks"]) == 8
    assert report["checks"][0]["name"] == "n" * 32
    assert report["checks"][0]["detail"] == "d" * 120


@pytest.mark.broker
def test_commands_over_mqtt_are_answered_with_reasons(
    tmp_path: Path, mosquitto: MosquittoBroker, city: CitySubscriber
) -> None:
    """Signed (by the CLI) ping -> ok; forged and replayed -> rejected with reason, as events."""
    path = write_config(tmp_path / "kiosk", mosquitto.url)
    runner = AgentThread(path)
    try:
        assert city.wait_for(lambda: any(s["type"] == "agent.online" for s in city.status))
        out = subprocess.run(
            [
                *(sys.executable, "-m", "edge_agent", "sign", "--key", str(DEV_KEY)),
                *("--type", "ping", "--target", TARGET),
            ],
            cwd=REPO,
            env=AGENT_ENV,
            capture_output=True,
            check=True,
            timeout=30,
        ).stdout
        forged = json.loads(out)
        forged["command"]["args"] = {"evil": True}
        topic = f"{PREFIX}/440300/c1/k1/commands"
        for payload in (out, out, json.dumps(forged).encode()):
            mqtt_publish.single(topic, payload, qos=1, hostname=mosquitto.host, port=mosquitto.port)

        def results() -> list[dict[str, Any]]:
            return [e["data"] for e in city.unique("command.result").values()]

        assert city.wait_for(lambda: len(results()) == 3)
        assert [(r["status"], r["reason"]) for r in results()] == [
            ("ok", None),
            ("rejected", "replayed"),
            ("rejected", "bad_signature"),
        ]
    finally:
        runner.close()


def test_the_agent_validates_catalogues_like_the_shipped_one(tmp_path: Path) -> None:
    """A replacement catalogue with mistakes is rejected with its problems; a real one swaps."""
    from edge_agent.agent import DEFAULT_VALIDATORS

    shipped = (Path(__file__).resolve().parents[2] / "config" / "catalogue.yaml").read_text(
        encoding="utf-8"
    )
    actions = make_actions(tmp_path, validators=dict(DEFAULT_VALIDATORS))
    (tmp_path / "catalogue.yaml").write_text(shipped, encoding="utf-8")
    broken = shipped.replace("category: ", "category: x-", 1)
    version = yaml.safe_load(shipped)["version"]
    bad = ran(actions, set_config("catalogue", version, broken))
    check_result(bad)
    assert (bad["status"], bad["reason"]) == ("rejected", "invalid_payload")
    assert "category" in bad["detail"]["problem"]
    assert (tmp_path / "catalogue.yaml").read_text(encoding="utf-8") == shipped
    renewed = shipped.replace(f'version: "{version}"', 'version: "2026.12-test"', 1)
    good = ran(actions, set_config("catalogue", "2026.12-test", renewed))
    assert good["status"] == "ok", good


def test_a_pending_diagnostics_run_survives_an_agent_restart(tmp_path: Path) -> None:
    """The agent restarts while the kiosk runs its self-tests: the new agent still answers."""
    clock = Clock()
    command = make_command("run_diagnostics", TARGET)
    assert make_actions(tmp_path, clock=clock).run(command) is None
    restarted = make_actions(tmp_path, clock=clock)  # a new process, the same data dir
    answer(tmp_path, {"command_id": command["id"], "devices": [REPORT], "missing": []})
    (result,) = restarted.collect_diagnostics()
    check_result(result)
    assert (result["status"], result["command_id"]) == ("ok", command["id"])
    assert make_actions(tmp_path, clock=clock).collect_diagnostics() == []  # answered once


def test_a_pending_run_left_by_a_stopped_agent_still_times_out(tmp_path: Path) -> None:
    """No answer and a restart: the failed result still comes, after the original wait."""
    clock = Clock()
    command = make_command("run_diagnostics", TARGET)
    make_actions(tmp_path, clock=clock).run(command)
    clock.now += DIAGNOSTICS_WAIT_S
    (result,) = make_actions(tmp_path, clock=clock).collect_diagnostics()
    assert (result["command_id"], result["status"]) == (command["id"], "failed")


@pytest.mark.parametrize(
    "content",
    [b"", b"[1, 2]", b'{"a": "soon"}', b'{"' + b"x" * 5000 + b'": 1}', b"\xff", b"[" * 100_000],
)
def test_an_odd_pending_file_is_ignored(tmp_path: Path, content: bytes) -> None:
    """The pending file is the agent's own, but a torn or tampered one never stops it."""
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / PENDING_DIAGNOSTICS_FILE).write_bytes(content)
    assert make_actions(tmp_path).collect_diagnostics() == []
