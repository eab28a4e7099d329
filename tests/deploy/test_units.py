"""The systemd units and drop-ins: systemd-analyze verify, and the settings the design relies on."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO

DEPLOY = REPO / "deploy"
UI_UNIT = DEPLOY / "systemd" / "civic-kiosk.service"
AGENT_UNIT = DEPLOY / "systemd" / "civic-kiosk-agent.service"
SYSTEM_UNITS = Path("/usr/lib/systemd/system")
STUB_EXECUTABLES = ("usr/bin/cage", "usr/bin/chvt", "opt/civic-kiosk/.venv/bin/python")
UI_COMMAND = (
    "/usr/bin/cage -d -- /opt/civic-kiosk/.venv/bin/python -m kiosk run "
    "--config /etc/civic-kiosk/kiosk.yaml"
)
AGENT_COMMAND = (
    "/opt/civic-kiosk/.venv/bin/python -m edge_agent run --config /etc/civic-kiosk/kiosk.yaml"
)


def unit_settings(path: Path) -> dict[str, dict[str, list[str]]]:
    """Section → key → every value (systemd keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def one(settings: dict[str, dict[str, list[str]]], section: str, key: str) -> str:
    values = settings[section][key]
    assert len(values) == 1, (section, key, values)
    return values[0]


def tmpfiles_lines() -> list[list[str]]:
    """The tmpfiles.d entries, each split into its fields."""
    text = (DEPLOY / "tmpfiles/civic-kiosk.conf").read_text(encoding="utf-8")
    return [line.split() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_systemd_analyze_verify(tmp_path: Path) -> None:
    """Both units pass `systemd-analyze verify` in a root with system units and stub binaries."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    if not (SYSTEM_UNITS / "sysinit.target").exists():
        pytest.skip(f"no system units in {SYSTEM_UNITS} to verify against")
    shutil.copytree(SYSTEM_UNITS, tmp_path / "usr/lib/systemd/system", symlinks=True)
    units = tmp_path / "etc/systemd/system"
    units.mkdir(parents=True)
    for unit in (UI_UNIT, AGENT_UNIT):
        shutil.copy(unit, units / unit.name)
    for stub in STUB_EXECUTABLES:
        path = tmp_path / stub
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n", encoding="utf-8")
        path.chmod(0o755)
    result = subprocess.run(
        [analyze, "verify", f"--root={tmp_path}", UI_UNIT.name, AGENT_UNIT.name],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    # verify exits 0 on unknown keys and unparsable values: any message is a finding.
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_verify_catches_mistakes(tmp_path: Path) -> None:
    """The verify test is not vacuous: a misspelt key in a unit is reported."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    broken = tmp_path / "broken.service"
    broken.write_text("[Service]\nExecStart=/bin/true\nWatchdogSecs=30\n", encoding="utf-8")
    result = subprocess.run(
        [analyze, "verify", str(broken)], capture_output=True, text=True, check=False, timeout=30
    )
    assert "WatchdogSecs" in result.stderr


def test_ui_unit_is_a_watched_kiosk_session() -> None:
    """The UI: notify + watchdog from the app (cage's child), restart always, tty1 via logind."""
    unit = unit_settings(UI_UNIT)
    service = {key: values[-1] for key, values in unit["Service"].items()}
    assert one(unit, "Service", "ExecStart") == UI_COMMAND
    assert service["Type"] == "notify"
    assert service["NotifyAccess"] == "all"
    assert 10 <= int(service["WatchdogSec"]) <= 60
    assert service["Restart"] == "always"
    assert (service["User"], service["PAMName"], service["TTYPath"]) == (
        "kiosk",
        "civic-kiosk",
        "/dev/tty1",
    )
    assert "getty@tty1.service" in unit["Unit"]["Conflicts"]
    assert unit["Unit"]["StartLimitIntervalSec"] == ["0"]
    assert service["UMask"] == "0007"
    assert service["LimitCORE"] == "0"


def test_ui_unit_has_no_network() -> None:
    """The UI unit may open only local sockets: AF_UNIX and AF_NETLINK (udev), no IP at all."""
    unit = unit_settings(UI_UNIT)
    families = set(one(unit, "Service", "RestrictAddressFamilies").split())
    assert families == {"AF_UNIX", "AF_NETLINK"}
    assert one(unit, "Service", "IPAddressDeny") == "any"
    assert "IPAddressAllow" not in unit["Service"]


def test_agent_unit_is_sandboxed() -> None:
    """The agent: always restarted, unprivileged, read-only system except its data directory."""
    unit = unit_settings(AGENT_UNIT)
    service = {key: values[-1] for key, values in unit["Service"].items()}
    assert one(unit, "Service", "ExecStart") == AGENT_COMMAND
    assert service["Restart"] == "always"
    assert (service["User"], service["Group"]) == ("kiosk-agent", "civic-kiosk")
    assert "/var/lib/civic-kiosk" in unit["Service"]["ReadWritePaths"]
    assert service["StateDirectory"] == "civic-kiosk"
    for key, value in {
        "ProtectSystem": "strict",
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ProtectHome": "yes",
        "CapabilityBoundingSet": "",
        "UMask": "0007",
    }.items():
        assert service[key] == value, key
    # the heartbeat reads the clock state with adjtimex(2), which @system-service leaves out
    assert "adjtimex" in service["SystemCallFilter"].split()


def test_both_units_read_the_installed_config() -> None:
    """Both processes get the same config file and share the outbox directory."""
    for path in (UI_UNIT, AGENT_UNIT):
        service = unit_settings(path)["Service"]
        assert "KIOSK_CONFIG=/etc/civic-kiosk/kiosk.yaml" in service["Environment"]
        assert any(
            value.lstrip("-").startswith("/etc/default/") for value in service["EnvironmentFile"]
        )


def test_tmpfiles_share_the_data_directory() -> None:
    """The outbox directory is set-gid civic-kiosk and owned by the agent."""
    lines = tmpfiles_lines()
    assert ["d", "/var/lib/civic-kiosk", "2770", "kiosk-agent", "civic-kiosk", "-", "-"] in lines
    assert all(len(fields) == 7 for fields in lines)


def test_private_directory_is_the_kiosk_users_alone() -> None:
    """The BP history's directory is 0700 kiosk:kiosk in tmpfiles and in the UI unit."""
    lines = tmpfiles_lines()
    assert ["d", "/var/lib/civic-kiosk-ui", "0700", "kiosk", "kiosk", "-", "-"] in lines
    service = unit_settings(UI_UNIT)["Service"]
    assert one({"Service": service}, "Service", "StateDirectory") == "civic-kiosk-ui"
    assert one({"Service": service}, "Service", "StateDirectoryMode") == "0700"
    example = (REPO / "config" / "kiosk.example.yaml").read_text(encoding="utf-8")
    assert "private_dir: /var/lib/civic-kiosk-ui" in example


def test_journald_and_logind_drop_ins() -> None:
    """journald is persistent and capped; logind spawns no gettys and never suspends."""
    journald = configparser.ConfigParser()
    journald.optionxform = str  # type: ignore[assignment,method-assign]
    journald.read(DEPLOY / "journald/civic-kiosk.conf", encoding="utf-8")
    journal = journald["Journal"]
    assert journal["Storage"] == "persistent"
    for key in ("SystemMaxUse", "SystemKeepFree", "MaxRetentionSec", "RateLimitBurst"):
        assert journal[key]
    logind = configparser.ConfigParser()
    logind.optionxform = str  # type: ignore[assignment,method-assign]
    logind.read(DEPLOY / "lockdown/logind.conf", encoding="utf-8")
    login = logind["Login"]
    assert login["NAutoVTs"] == "0"
    assert login["HandleSuspendKey"] == login["HandleLidSwitch"] == login["IdleAction"] == "ignore"


def test_logrotate_config(tmp_path: Path) -> None:
    """logrotate accepts the file (debug mode, with the kiosk users mapped to root here)."""
    logrotate = shutil.which("logrotate") or next(
        (p for p in ("/usr/sbin/logrotate", "/sbin/logrotate") if Path(p).exists()), None
    )
    if logrotate is None:
        pytest.skip("logrotate is not installed")
    text = (DEPLOY / "logrotate/civic-kiosk").read_text(encoding="utf-8")
    assert "su kiosk civic-kiosk" in text
    logs = tmp_path / "log"
    logs.mkdir()
    (logs / "kiosk.log").write_text("line\n", encoding="utf-8")
    conf = tmp_path / "civic-kiosk"
    conf.write_text(
        text.replace("su kiosk civic-kiosk", "su root root").replace(
            "/var/log/civic-kiosk", str(logs)
        ),
        encoding="utf-8",
    )
    result = subprocess.run(
        [logrotate, "--debug", "--state", str(tmp_path / "state"), str(conf)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr.lower(), result.stderr
    assert f"{logs}/kiosk.log" in result.stderr + result.stdout
