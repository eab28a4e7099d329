"""TLS setup errors: one clear message naming the file, the status file says why, no traceback."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from common.kiosk_agent import STATUS_FILE
from config import load_config
from edge_agent.agent import Agent
from edge_agent.link import (
    LinkError,
    LinkSettings,
    MqttLink,
    TlsSettings,
    TlsSetupError,
    tls_context,
)
from tests.edge_agent.conftest import write_config
from tests.edge_agent.test_agent_broker import run_cli
from tests.edge_agent.test_tls import make_pki
from tests.fixtures.broker import MosquittoBroker, TlsFiles, free_port

STATUS_WAIT_S = 20.0


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA, server and client certificates."""
    return make_pki(tmp_path_factory.mktemp("pki"))


def test_unusable_tls_files_raise_tls_setup_errors_naming_the_config_key(
    tmp_path: Path, pki: dict[str, Path]
) -> None:
    """Missing CA, missing client certificate, key of another certificate: each says which."""
    cases = {
        "CA file not found": TlsSettings(tmp_path / "missing-ca.pem"),
        "client certificate not found": TlsSettings(
            pki["ca"], tmp_path / "missing.crt", pki["client_key"]
        ),
        "client key does not match": TlsSettings(pki["ca"], pki["client"], pki["server_key"]),
    }
    for expected, settings in cases.items():
        with pytest.raises(TlsSetupError, match=expected) as caught:
            tls_context(settings)
        assert isinstance(caught.value, LinkError)
        assert "mqtt.tls." in caught.value.reason
    assert tls_context(TlsSettings(pki["ca"], pki["client"], pki["client_key"])) is not None


def test_agent_run_with_a_missing_ca_file_exits_with_one_message(tmp_path: Path) -> None:
    """`run` exits 2 with one log line, no traceback; status file and `status` show the reason."""
    tls = {"ca_file": str(tmp_path / "no-such-ca.pem")}
    config = write_config(tmp_path / "kiosk", f"mqtts://127.0.0.1:{free_port()}", mqtt={"tls": tls})
    done = run_cli("run", "--config", str(config))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "cannot start: tls: CA file not found" in lines[0]
    assert "mqtt.tls.ca_file" in lines[0]
    status = json.loads((tmp_path / "kiosk" / "data" / STATUS_FILE).read_text())
    assert status["link"] == "stopped"
    assert status["last_error"].startswith("tls: CA file not found")
    shown = run_cli("status", "--config", str(config), check=True)
    assert json.loads(shown.stdout)["last_error"].startswith("tls: CA file not found")


def test_key_mismatch_stops_the_agent_before_any_attempt(
    tmp_path: Path, pki: dict[str, Path]
) -> None:
    """Agent.run raises TlsSetupError at once, having written the reason to the status file."""
    tls = {
        "ca_file": str(pki["ca"]),
        "cert_file": str(pki["client"]),
        "key_file": str(pki["ca_key"]),
    }
    config = write_config(tmp_path / "kiosk", f"mqtts://127.0.0.1:{free_port()}", mqtt={"tls": tls})
    agent = Agent(load_config(config, env={}))
    with pytest.raises(TlsSetupError, match="does not match"):
        agent.run(threading.Event())
    status = json.loads((tmp_path / "kiosk" / "data" / STATUS_FILE).read_text())
    assert "does not match" in status["last_error"]
    assert agent.status.connects == 0


@pytest.mark.broker
def test_missing_client_certificate_is_reported_as_such(
    tmp_path: Path, pki: dict[str, Path]
) -> None:
    """A broker that requires a client certificate: the reason says so, not 'connection lost'."""
    broker = MosquittoBroker(
        workdir=tmp_path / "mosquitto",
        tls=TlsFiles(pki["ca"], pki["server"], pki["server_key"], require_client_cert=True),
    )
    broker.start()
    try:
        link = MqttLink(
            LinkSettings(url=broker.url, client_id="no-cert", tls=TlsSettings(pki["ca"]))
        )
        reasons: list[str] = []
        try:
            link.connect()
            deadline = time.monotonic() + STATUS_WAIT_S
            while not reasons and time.monotonic() < deadline:
                reasons = [getattr(e, "reason", "") for e in link.poll(0.1)]
        except LinkError as exc:  # TLS 1.2 refuses during the handshake itself
            reasons = [exc.reason]
        finally:
            link.abort()
        assert reasons
        assert "client certificate" in reasons[0]
        assert "lost" not in reasons[0]

        config = write_config(
            tmp_path / "kiosk", broker.url, mqtt={"tls": {"ca_file": str(pki["ca"])}}
        )
        agent = Agent(load_config(config, env={}))
        stop = threading.Event()
        thread = threading.Thread(target=agent.run, args=(stop,), daemon=True)
        thread.start()
        status_path = tmp_path / "kiosk" / "data" / STATUS_FILE
        deadline = time.monotonic() + STATUS_WAIT_S
        last_error = ""
        while "client certificate" not in last_error and time.monotonic() < deadline:
            time.sleep(0.1)  # the agent writes its status file once a second
            if status_path.exists():
                last_error = json.loads(status_path.read_text()).get("last_error") or ""
        stop.set()
        thread.join(timeout=10)
        assert "client certificate" in last_error
    finally:
        broker.stop()


@pytest.mark.parametrize(
    ("content", "expected"),
    [(None, "password file not found"), (b"\xff\xfe", "not UTF-8"), (b"  \n", "empty")],
)
def test_an_unusable_password_file_stops_the_agent_with_one_message(
    tmp_path: Path, pki: dict[str, Path], content: bytes | None, expected: str
) -> None:
    """Like the TLS files: exit 2, one line naming the file and key, the status file says so."""
    password = tmp_path / "mqtt-password"
    if content is not None:
        password.write_bytes(content)
    mqtt = {"username": "kiosk", "password_file": str(password), "tls": {"ca_file": str(pki["ca"])}}
    config = write_config(tmp_path / "kiosk", f"mqtts://127.0.0.1:{free_port()}", mqtt=mqtt)
    done = run_cli("run", "--config", str(config))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert expected in lines[0]
    assert "mqtt.password_file" in lines[0]
    status = json.loads((tmp_path / "kiosk" / "data" / STATUS_FILE).read_text())
    assert expected in status["last_error"]
    watched = run_cli("watch", "--config", str(config), "--timeout", "1")
    assert watched.returncode == 2
    assert "Traceback" not in watched.stderr
