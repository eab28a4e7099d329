"""Kiosk configuration: typed, strict, every problem reported with its path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, KioskConfig, load_config

REPO = Path(__file__).resolve().parents[2]
SHIPPED_KIOSK_CONFIGS = sorted(
    p
    for p in (REPO / "config").glob("*.yaml")
    if "catalogue" not in p.name and "activities" not in p.name
)

MINIMAL = """\
version: 1
identity: {city: "440300", centre: c1, kiosk: k1}
"""

FOUR_MISTAKES = """\
version: 1
identity:
  city: "440 300"
  centre: c1
  kiosk: k1
devices:
  idcard:
    port: ttyUSB0
    protocol: sam
ui:
  idle_timeot_s: 30
  text_scale: 5
"""


def write(tmp_path: Path, text: str, name: str = "kiosk.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=env or {})
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("path", SHIPPED_KIOSK_CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_is_valid(path: Path) -> None:
    """config/dev.yaml and config/kiosk.example.yaml load without problems."""
    assert isinstance(load_config(path, env={}), KioskConfig)


def test_minimal_config_takes_the_defaults(tmp_path: Path) -> None:
    """Only identity is required; everything else has a default in config/model.py."""
    config = load_config(write(tmp_path, MINIMAL), env={})
    assert config.identity.kiosk == "k1"
    assert config.ui.idle_timeout_s == 60
    assert config.ui.countdown_s == 20
    assert config.mqtt.broker_url.startswith("mqtt://")


def test_four_mistakes_give_four_path_qualified_problems(tmp_path: Path) -> None:
    """Every mistake is reported in one run, each with its dotted path."""
    problems = problems_of(write(tmp_path, FOUR_MISTAKES))
    assert len(problems) == 4
    paths = [p.split(":")[0] for p in problems]
    assert paths == ["identity.city", "devices.idcard.port", "ui.idle_timeot_s", "ui.text_scale"]
    assert "did you mean 'idle_timeout_s'" in problems[2]


def test_check_command_prints_problems_and_fails(tmp_path: Path) -> None:
    """`python -m config check` prints four lines for four mistakes and exits non-zero."""
    bad = write(tmp_path, FOUR_MISTAKES)
    result = subprocess.run(
        [sys.executable, "-m", "config", "check", str(bad)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 4
    assert all(line.startswith(f"{bad}: ") for line in lines)
    assert f"{bad}: devices.idcard.port: " in result.stdout


def test_check_command_accepts_shipped_files() -> None:
    """`python -m config check` exits 0 on every shipped config."""
    result = subprocess.run(
        [sys.executable, "-m", "config", "check", *map(str, SHIPPED_KIOSK_CONFIGS)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout


def test_missing_identity_and_wrong_types(tmp_path: Path) -> None:
    """Required sections and wrong scalar types are named precisely."""
    problems = problems_of(
        write(tmp_path, "version: 1\nmqtt: {keepalive_s: fast}\nui: {voice: 'yes'}\n")
    )
    assert "identity: required" in problems
    assert any(p.startswith("mqtt.keepalive_s: expected int") for p in problems)
    assert any(p.startswith("ui.voice: expected bool") for p in problems)


def test_unknown_device_protocol_is_rejected(tmp_path: Path) -> None:
    """A BP protocol we do not implement is an error at devices.bp.protocol."""
    text = MINIMAL + "devices:\n  bp: {port: /dev/ttyUSB1, protocol: acme}\n"
    assert problems_of(write(tmp_path, text)) == [
        "devices.bp.protocol: 'acme' is not one of suntech, omron9030"
    ]


def test_duplicate_keys_and_yaml_syntax_errors_are_reported(tmp_path: Path) -> None:
    """A duplicated key is not silently overwritten; a syntax error names its line."""
    dup = problems_of(write(tmp_path, MINIMAL + "ui: {}\nui: {}\n", "dup.yaml"))
    assert len(dup) == 1
    assert "duplicate key 'ui'" in dup[0]
    syntax = problems_of(write(tmp_path, "identity: [unclosed\n", "syntax.yaml"))
    assert "line" in syntax[0]


def test_tls_is_required_for_mqtts_and_plaintext_with_tls_files_is_refused(
    tmp_path: Path,
) -> None:
    """mqtts needs a CA; TLS files with mqtt:// would be a silent plaintext fallback."""
    mqtts = problems_of(write(tmp_path, MINIMAL + "mqtt: {broker_url: 'mqtts://b:8883'}\n", "a"))
    assert mqtts == ["mqtt.tls.ca_file: required for mqtts:// (server verification)"]
    ca = write(tmp_path, "dummy", "ca.pem")
    text = MINIMAL + f"mqtt: {{broker_url: 'mqtt://b:1883', tls: {{ca_file: {ca}}}}}\n"
    assert problems_of(write(tmp_path, text, "b")) == [
        "mqtt.broker_url: TLS files are set but the URL is mqtt://; use mqtts://"
    ]


def test_environment_overrides_win_over_the_file(tmp_path: Path) -> None:
    """KIOSK_BROKER_URL and KIOSK_DATA_DIR replace the file's values, and are validated."""
    path = write(tmp_path, MINIMAL + "paths: {data_dir: /nowhere}\n")
    env = {"KIOSK_BROKER_URL": "mqtt://127.0.0.1:2883", "KIOSK_DATA_DIR": str(tmp_path / "d")}
    config = load_config(path, env=env)
    assert config.mqtt.broker_url == "mqtt://127.0.0.1:2883"
    assert config.paths.data_dir == tmp_path / "d"
    assert problems_of(path, {"KIOSK_BROKER_URL": "http://x"}) == [
        "mqtt.broker_url: expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]"
    ]


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    """paths.data_dir 'data' in /x/kiosk.yaml means /x/data, wherever the process runs."""
    config = load_config(write(tmp_path, MINIMAL + "paths: {data_dir: data}\n"), env={})
    assert config.paths.data_dir == tmp_path / "data"


def test_config_objects_are_frozen(tmp_path: Path) -> None:
    """Parsed once, never mutated: assignment fails, mappings are read-only."""
    config = load_config(REPO / "config" / "dev.yaml", env={})
    with pytest.raises(AttributeError):
        config.ui.language = "en"  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.devices["x"] = config.devices["bp"]  # type: ignore[index]


def test_short_pseudonym_key_is_rejected(tmp_path: Path) -> None:
    """A pseudonym key under 32 bytes would make pseudonyms guessable."""
    text = MINIMAL + "privacy: {pseudonym_key: abcd}\n"
    assert problems_of(write(tmp_path, text)) == [
        "privacy.pseudonym_key: must be hex or base64 of at least 32 bytes"
    ]
