"""Plaintext MQTT: credentials never, a non-loopback broker only when the config says so."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]
MINIMAL = 'version: 1\nidentity: {city: "440300", centre: c1, kiosk: k1}\n'
PLAINTEXT_REMOTE = (
    "mqtt.broker_url: plaintext mqtt:// to broker.city.example, which is not loopback; "
    "use mqtts:// (or set mqtt.allow_plaintext: true on a closed network)"
)
NO_CREDENTIALS = "credentials are never sent over plaintext mqtt://; use mqtts://"


def problems(tmp_path: Path, mqtt: str) -> list[str]:
    """The problems of a minimal config with this `mqtt:` flow mapping ([] if it loads)."""
    (tmp_path / "pw").write_text("secret\n", encoding="utf-8")
    path = tmp_path / "kiosk.yaml"
    path.write_text(MINIMAL + f"mqtt: {mqtt}\n", encoding="utf-8")
    try:
        load_config(path, env={})
    except ConfigError as exc:
        return [str(p) for p in exc.problems]
    return []


@pytest.mark.parametrize(
    "url", ["mqtt://127.0.0.1:1883", "mqtt://127.8.0.1", "mqtt://localhost", "mqtt://[::1]:1883"]
)
def test_plaintext_to_loopback_without_credentials_is_fine(tmp_path: Path, url: str) -> None:
    """A broker on this machine (tests, a local bridge) may use mqtt:// without a password."""
    assert problems(tmp_path, f"{{broker_url: '{url}'}}") == []


def test_plaintext_to_another_host_needs_allow_plaintext(tmp_path: Path) -> None:
    """mqtt:// off the machine is refused with its path, unless mqtt.allow_plaintext is true."""
    url = "broker_url: 'mqtt://broker.city.example:1883'"
    assert problems(tmp_path, f"{{{url}}}") == [PLAINTEXT_REMOTE]
    assert problems(tmp_path, f"{{{url}, allow_plaintext: true}}") == []


def test_credentials_over_plaintext_are_refused_even_on_loopback(tmp_path: Path) -> None:
    """username and password_file with mqtt:// are refused always, allow_plaintext or not."""
    loopback = "{broker_url: 'mqtt://127.0.0.1', username: kiosk, password_file: pw}"
    assert problems(tmp_path, loopback) == [
        f"mqtt.username: {NO_CREDENTIALS}",
        f"mqtt.password_file: {NO_CREDENTIALS}",
    ]
    remote = "{broker_url: 'mqtt://10.0.0.5', allow_plaintext: true, username: kiosk}"
    assert problems(tmp_path, remote) == [f"mqtt.username: {NO_CREDENTIALS}"]


def test_env_broker_override_is_checked_too(tmp_path: Path) -> None:
    """KIOSK_BROKER_URL pointing mqtt:// at another host is refused like the file's value."""
    path = tmp_path / "kiosk.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={"KIOSK_BROKER_URL": "mqtt://broker.city.example"})
    assert [p.path for p in caught.value.problems] == ["mqtt.broker_url"]


def test_config_check_prints_the_plaintext_problems(tmp_path: Path) -> None:
    """`python -m config check` lists them with their paths and exits non-zero."""
    (tmp_path / "pw").write_text("secret\n", encoding="utf-8")
    path = tmp_path / "kiosk.yaml"
    mqtt = "{broker_url: 'mqtt://broker.city.example:1883', password_file: pw}"
    path.write_text(MINIMAL + f"mqtt: {mqtt}\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "config", "check", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"{path}: mqtt.password_file: {NO_CREDENTIALS}",
        f"{path}: {PLAINTEXT_REMOTE}",
    ]
