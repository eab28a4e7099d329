"""kiosk.runtime.systemd against a real AF_UNIX datagram socket standing in for systemd."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.runtime import systemd

RECV_TIMEOUT_S = 5.0


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A bound datagram socket at a filesystem path, named in NOTIFY_SOCKET."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(RECV_TIMEOUT_S)
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        yield sock


def receive(sock: socket.socket) -> str:
    return sock.recv(4096).decode("utf-8")


def test_ready_watchdog_stopping_reach_the_socket(notify_socket: socket.socket) -> None:
    """Each call sends exactly its sd_notify assignment, in order."""
    assert systemd.notify_ready()
    assert systemd.notify_watchdog()
    assert systemd.notify_stopping()
    assert [receive(notify_socket) for _ in range(3)] == ["READY=1", "WATCHDOG=1", "STOPPING=1"]


def test_status_is_one_bounded_line(notify_socket: socket.socket) -> None:
    """Newlines cannot smuggle extra assignments into STATUS, and long text is capped."""
    assert systemd.notify_status("outbox 3 events\nREADY=1")
    assert receive(notify_socket) == "STATUS=outbox 3 events READY=1"
    assert systemd.notify_status("x" * 1000)
    assert receive(notify_socket) == "STATUS=" + "x" * systemd.STATUS_MAX_CHARS


def test_status_keeps_utf8_text(notify_socket: socket.socket) -> None:
    """Chinese status text arrives as UTF-8."""
    assert systemd.notify_status("就绪")
    assert receive(notify_socket) == "STATUS=就绪"


def test_abstract_socket_names_are_supported(monkeypatch: pytest.MonkeyPatch) -> None:
    """`@name` in NOTIFY_SOCKET addresses the abstract socket `\\0name`."""
    name = f"civic-kiosk-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(RECV_TIMEOUT_S)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert systemd.notify_watchdog()
        assert receive(sock) == "WATCHDOG=1"


def test_no_ops_outside_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without NOTIFY_SOCKET every call returns False and raises nothing."""
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert not systemd.notify_ready()
    assert not systemd.notify_watchdog()
    assert not systemd.notify_stopping()
    assert not systemd.notify_status("idle")


@pytest.mark.parametrize("value", ["", "@", "relative/path", "vsock:2:1234"])
def test_unusable_addresses_are_ignored(value: str) -> None:
    """Empty, bare `@`, relative and vsock addresses are not ours to speak to."""
    assert systemd.notify_socket_address({"NOTIFY_SOCKET": value}) is None
    assert not systemd.notify("READY=1", {"NOTIFY_SOCKET": value})


def test_dead_socket_fails_quietly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A socket path nobody listens on gives False and one warning per failure streak."""
    monkeypatch.setattr(systemd, "_failing", False)
    env = {"NOTIFY_SOCKET": str(tmp_path / "gone")}
    with caplog.at_level("WARNING", logger=systemd.__name__):
        assert not systemd.notify("WATCHDOG=1", env)
        assert not systemd.notify("WATCHDOG=1", env)
    assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 1
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(env["NOTIFY_SOCKET"])
        assert systemd.notify("WATCHDOG=1", env)


def test_watchdog_interval_from_usec() -> None:
    """WATCHDOG_USEC without WATCHDOG_PID is the interval in seconds."""
    assert systemd.watchdog_interval_s({"WATCHDOG_USEC": "30000000"}) == 30.0


def test_watchdog_interval_for_self_or_parent() -> None:
    """WATCHDOG_PID may name this process or its parent (cage is the unit's main process)."""
    env = {"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "100"}
    assert systemd.watchdog_interval_s(env, pid=100, ppid=1) == 20.0
    assert systemd.watchdog_interval_s(env, pid=200, ppid=100) == 20.0
    assert systemd.watchdog_interval_s(env, pid=200, ppid=300) is None


def test_watchdog_interval_real_pids() -> None:
    """Without injected pids the real getpid/getppid are compared."""
    env = {"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": str(os.getpid())}
    assert systemd.watchdog_interval_s(env) == 1.0


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"WATCHDOG_USEC": ""},
        {"WATCHDOG_USEC": "0"},
        {"WATCHDOG_USEC": "-5"},
        {"WATCHDOG_USEC": "soon"},
        {"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "not-a-pid"},
    ],
)
def test_watchdog_disabled(env: dict[str, str]) -> None:
    """Missing, zero, negative or garbled watchdog variables mean no watchdog."""
    assert systemd.watchdog_interval_s(env, pid=1, ppid=1) is None


def test_child_of_the_main_process_pings(tmp_path: Path) -> None:
    """As under cage: a child process whose parent is WATCHDOG_PID sees the interval and pings."""
    path = tmp_path / "notify"
    child = (
        "from kiosk.runtime import systemd\n"
        "interval = systemd.watchdog_interval_s()\n"
        "assert interval == 30.0, interval\n"
        "assert systemd.notify_ready() and systemd.notify_watchdog()\n"
    )
    env = {
        **os.environ,
        "NOTIFY_SOCKET": str(path),
        "WATCHDOG_USEC": "30000000",
        "WATCHDOG_PID": str(os.getpid()),  # this test process plays cage
    }
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(RECV_TIMEOUT_S)
        result = subprocess.run(
            [sys.executable, "-c", child],
            env=env,
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            timeout=RECV_TIMEOUT_S * 6,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert [receive(sock), receive(sock)] == ["READY=1", "WATCHDOG=1"]
