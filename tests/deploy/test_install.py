"""deploy/install.sh --root DIR --no-start: what lands where, and what it refuses."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.deploy.conftest import EXAMPLE_CONFIG, INSTALL, REPO, run_install

EXPECTED_FILES = {
    "etc/civic-kiosk/kiosk.yaml": 0o640,
    "var/lib/civic-kiosk/catalogue.yaml": 0o644,
    "etc/systemd/system/civic-kiosk.service": 0o644,
    "etc/systemd/system/civic-kiosk-agent.service": 0o644,
    "etc/pam.d/civic-kiosk": 0o644,
    "etc/udev/rules.d/99-civic-kiosk.rules": 0o644,
    "etc/tmpfiles.d/civic-kiosk.conf": 0o644,
    "etc/default/civic-kiosk": 0o644,
    "etc/default/civic-kiosk-agent": 0o644,
    "etc/systemd/journald.conf.d/civic-kiosk.conf": 0o644,
    "etc/systemd/logind.conf.d/civic-kiosk.conf": 0o644,
    "etc/sysctl.d/90-civic-kiosk.conf": 0o644,
    "etc/default/grub.d/civic-kiosk.cfg": 0o644,
    "etc/logrotate.d/civic-kiosk": 0o644,
    "usr/local/sbin/civic-kiosk-ctl": 0o755,
    "opt/civic-kiosk/deploy/install.sh": 0o755,
    "opt/civic-kiosk/kiosk/runtime/systemd.py": 0o644,
    "opt/civic-kiosk/requirements/lock.txt": 0o644,
    "opt/civic-kiosk/scripts/make_font.py": 0o644,
}
EXPECTED_DIRS = {
    "etc/civic-kiosk": 0o750,
    "var/lib/civic-kiosk": 0o2770,
    "var/log/civic-kiosk": 0o2770,
}


def tree_digest(root: Path) -> dict[str, tuple[int, str]]:
    """Mode and content hash of every file and directory under root."""
    digest: dict[str, tuple[int, str]] = {}
    for path in sorted(root.rglob("*")):
        mode = stat.S_IMODE(path.lstat().st_mode)
        content = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        digest[str(path.relative_to(root))] = (mode, content)
    return digest


def test_files_land_with_their_modes(
    installed: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """Units, config, rules, drop-ins and the code are where the services expect them."""
    root, _ = installed
    for relative, mode in {**EXPECTED_FILES, **EXPECTED_DIRS}.items():
        path = root / relative
        assert path.exists(), relative
        assert stat.S_IMODE(path.stat().st_mode) == mode, relative
    for unit in ("civic-kiosk.service", "civic-kiosk-agent.service"):
        shipped = (REPO / "deploy/systemd" / unit).read_bytes()
        assert (root / "etc/systemd/system" / unit).read_bytes() == shipped


def test_installed_config_is_the_given_one(
    installed: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """The config is checked with `python -m config check` and copied byte for byte."""
    root, result = installed
    assert f"{EXAMPLE_CONFIG}: ok" in result.stdout
    assert (root / "etc/civic-kiosk/kiosk.yaml").read_bytes() == EXAMPLE_CONFIG.read_bytes()
    shipped = REPO / "config" / "catalogue.yaml"
    assert (root / "var/lib/civic-kiosk/catalogue.yaml").read_bytes() == shipped.read_bytes()


def test_code_copied_without_dev_state(
    installed: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """The kiosk gets the code, never the developer's venv, git history, caches or tests."""
    app = installed[0] / "opt/civic-kiosk"
    for absent in (".venv", ".git", "build", "tests", ".mypy_cache", ".pytest_cache"):
        assert not (app / absent).exists(), absent
    assert not list(app.rglob("__pycache__"))


def test_system_changes_are_printed_not_run(
    installed: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """With --root, apt, useradd, pip, udevadm and systemctl are only printed."""
    out = installed[1].stdout
    for command in (
        "would run: env DEBIAN_FRONTEND=noninteractive apt-get install",
        "would run: useradd --system --gid kiosk",
        "would run: useradd --system --gid kiosk-agent",
        "would run: /opt/civic-kiosk/.venv/bin/python -m pip install",
        "would run: /opt/civic-kiosk/.venv/bin/python /opt/civic-kiosk/scripts/make_font.py",
        "would run: udevadm control --reload",
        "would run: systemctl mask sleep.target suspend.target hibernate.target",
        "would run: systemctl disable getty@tty1.service",
        "would run: systemctl enable civic-kiosk-agent.service civic-kiosk.service",
    ):
        assert command in out, command
    assert "systemctl restart civic-kiosk" not in out  # --no-start
    for package in ("cage", "xwayland", "libpam-systemd", "fonts-noto-cjk", "espeak-ng"):
        assert f" {package}" in out


def test_missing_city_files_are_listed(
    installed: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """Keys and certificates the config names but nobody put in place are named, with their key."""
    err = installed[1].stderr
    assert "missing mqtt.tls.key_file: /etc/civic-kiosk/tls/kiosk.key" in err
    assert "missing privacy.pseudonym_key_file: /etc/civic-kiosk/pseudonym.key" in err


def test_second_run_changes_nothing(tmp_path: Path) -> None:
    """Installing twice leaves the same tree and writes no file the second time."""
    first = run_install(tmp_path, "--config", EXAMPLE_CONFIG)
    assert first.returncode == 0, first.stderr
    before = tree_digest(tmp_path)
    second = run_install(tmp_path, "--config", EXAMPLE_CONFIG)
    assert second.returncode == 0, second.stderr
    assert "install: wrote" not in second.stdout
    assert tree_digest(tmp_path) == before


def test_local_edits_kept_and_config_backed_up(tmp_path: Path) -> None:
    """Edited udev rules and env files survive a reinstall; a changed config keeps the old one."""
    assert run_install(tmp_path, "--config", EXAMPLE_CONFIG).returncode == 0
    rules = tmp_path / "etc/udev/rules.d/99-civic-kiosk.rules"
    rules.write_text('SUBSYSTEM=="tty", ENV{CIVIC_KIOSK_ROLE}="bp"\n', encoding="utf-8")
    env_file = tmp_path / "etc/default/civic-kiosk"
    env_file.write_text("XKB_DEFAULT_LAYOUT=us\n", encoding="utf-8")
    changed = tmp_path / "kiosk.yaml"
    changed.write_text(
        EXAMPLE_CONFIG.read_text(encoding="utf-8").replace("kiosk: k07", "kiosk: k08"),
        encoding="utf-8",
    )
    result = run_install(tmp_path, "--config", changed)
    assert result.returncode == 0, result.stderr
    assert "ENV{CIVIC_KIOSK_ROLE}" in rules.read_text(encoding="utf-8")
    assert env_file.read_text(encoding="utf-8") == "XKB_DEFAULT_LAYOUT=us\n"
    installed_config = tmp_path / "etc/civic-kiosk/kiosk.yaml"
    assert "kiosk: k08" in installed_config.read_text(encoding="utf-8")
    previous = tmp_path / "etc/civic-kiosk/kiosk.yaml.prev"
    assert previous.read_bytes() == EXAMPLE_CONFIG.read_bytes()


def test_udev_rules_option_replaces_the_file(tmp_path: Path) -> None:
    """--udev-rules installs the technician's per-kiosk file over the existing one."""
    root = tmp_path / "root"
    assert run_install(root, "--config", EXAMPLE_CONFIG).returncode == 0
    mine = tmp_path / "mine.rules"
    mine.write_text('SUBSYSTEM=="tty", ENV{CIVIC_KIOSK_ROLE}="idcard"\n', encoding="utf-8")
    result = run_install(root, "--config", EXAMPLE_CONFIG, "--udev-rules", mine)
    assert result.returncode == 0, result.stderr
    installed = root / "etc/udev/rules.d/99-civic-kiosk.rules"
    assert installed.read_bytes() == mine.read_bytes()


def test_key_files_get_private_modes(tmp_path: Path) -> None:
    """City keys already in /etc/civic-kiosk are made readable only by their owner group."""
    tls = tmp_path / "etc/civic-kiosk/tls"
    tls.mkdir(parents=True)
    key = tls / "kiosk.key"
    key.write_text("not a real key\n", encoding="utf-8")
    key.chmod(0o666)
    result = run_install(tmp_path, "--config", EXAMPLE_CONFIG)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o640
    assert f"would run: chown root:kiosk-agent {key}" in result.stdout
    assert "missing mqtt.tls.key_file" not in result.stderr


def bad_config(tmp_path: Path, old: str, new: str) -> Path:
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_bad_config_refused_with_paths(tmp_path: Path) -> None:
    """A config with errors stops the install, names each problem by path, and writes nothing."""
    config = bad_config(tmp_path, "idle_timeout_s: 60", "idle_timeot_s: 60")
    config.write_text(
        config.read_text(encoding="utf-8").replace("baudrate: 115200", "baudrate: fast"),
        encoding="utf-8",
    )
    root = tmp_path / "root"
    result = run_install(root, "--config", config)
    assert result.returncode != 0
    assert (
        f"{config}: ui.idle_timeot_s: unknown key; did you mean 'idle_timeout_s'?" in result.stdout
    )
    assert f"{config}: devices.idcard.baudrate:" in result.stdout
    assert "it was not installed" in result.stderr
    assert list(root.rglob("*")) == []
    assert "would run" not in result.stdout


def test_data_dir_elsewhere_refused(tmp_path: Path) -> None:
    """A valid config whose data_dir is not the sandboxed one is refused with its path."""
    config = bad_config(tmp_path, "data_dir: /var/lib/civic-kiosk", "data_dir: /srv/kiosk")
    result = run_install(tmp_path / "root", "--config", config)
    assert result.returncode != 0
    assert f"{config}: paths.data_dir: must be /var/lib/civic-kiosk" in result.stderr
    assert list((tmp_path / "root").rglob("*")) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--config FILE is required"),
        (("--config", "/nonexistent/kiosk.yaml"), "/nonexistent/kiosk.yaml: no such file"),
        (("--config", str(EXAMPLE_CONFIG), "--bogus"), "unknown option --bogus"),
    ],
)
def test_usage_errors(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    """Missing or unknown arguments stop the install with a message saying which."""
    result = run_install(tmp_path, *args)
    assert result.returncode != 0
    assert message in result.stderr


def test_not_root_without_root_option() -> None:
    """Without --root an unprivileged user is refused before anything happens."""
    with tempfile.TemporaryDirectory() as shared:
        # The checkout may sit in a directory only root can enter (e.g. made by mktemp -d):
        # give the unprivileged user its own readable copies of the script and the config.
        os.chmod(shared, 0o755)
        install = Path(shutil.copy(INSTALL, shared))
        config = Path(shutil.copy(EXAMPLE_CONFIG, shared))
        command = ["bash", str(install), "--config", str(config)]
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                pytest.skip("running as root without setpriv to drop privileges")
            command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "run as root" in result.stderr


def test_scripts_parse_and_shellcheck() -> None:
    """install.sh and civic-kiosk-ctl parse with bash -n and pass shellcheck when it is there."""
    scripts = [INSTALL, REPO / "deploy/bin/civic-kiosk-ctl"]
    for script in scripts:
        subprocess.run(["bash", "-n", str(script)], check=True)
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (bash -n passed)")
    result = subprocess.run(
        [shellcheck, *map(str, scripts)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


def test_unstable_port_warned_not_refused(tmp_path: Path) -> None:
    """A kernel tty name installs, with a warning naming the config key and the stable name."""
    config = bad_config(tmp_path, "port: /dev/kiosk-idcard", "port: /dev/ttyUSB0")
    result = run_install(tmp_path / "root", "--config", config)
    assert result.returncode == 0, result.stderr
    assert "devices.idcard.port: /dev/ttyUSB0 can change between boots" in result.stderr
    assert "use /dev/kiosk-idcard" in result.stderr


def test_bad_catalogue_refused(tmp_path: Path) -> None:
    """--catalogue is checked with the config; a broken one stops the install."""
    catalogue = tmp_path / "catalogue.yaml"
    catalogue.write_text("kind: catalogue\nversion: 1\nitems: nonsense\n", encoding="utf-8")
    result = run_install(tmp_path / "root", "--config", EXAMPLE_CONFIG, "--catalogue", catalogue)
    assert result.returncode != 0
    assert f"{catalogue}: " in result.stdout
    assert not (tmp_path / "root/etc").exists()


def test_ctl_usage() -> None:
    """civic-kiosk-ctl explains itself and rejects unknown commands."""
    ctl = REPO / "deploy/bin/civic-kiosk-ctl"
    shown = subprocess.run(
        ["bash", str(ctl), "--help"], capture_output=True, text=True, check=False
    )
    assert shown.returncode == 0
    assert "civic-kiosk-ctl commission [N]" in shown.stdout
    wrong = subprocess.run(
        ["bash", str(ctl), "frobnicate"], capture_output=True, text=True, check=False
    )
    assert wrong.returncode == 2
    assert "unknown command frobnicate" in wrong.stderr
