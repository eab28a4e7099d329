"""Ports open exclusively (issue 10 item 15): a second opener is told the port is in use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.errors import DeviceDisconnected, PortInUse
from drivers.idcard.device import IdCardReader
from drivers.link import SerialLink
from tests.fixtures.pty import PtyPair

REPO = Path(__file__).resolve().parents[2]


def test_second_open_of_a_real_pty_raises_port_in_use(raw_pty: PtyPair) -> None:
    """The same pty opened twice: the second open fails with PortInUse saying so."""
    with (
        SerialLink(raw_pty.port, baudrate=115200),
        pytest.raises(PortInUse, match="in use by another program") as caught,
    ):
        SerialLink(raw_pty.port, baudrate=115200)
    assert isinstance(caught.value, DeviceDisconnected)  # the kiosk's reconnect logic still applies


def test_port_is_free_again_once_closed(raw_pty: PtyPair) -> None:
    """Closing the holder releases the lock: the next open succeeds."""
    SerialLink(raw_pty.port, baudrate=115200).close()
    with SerialLink(raw_pty.port, baudrate=115200) as link:
        link.write(b"\x00")


def test_technician_probe_on_a_port_the_kiosk_holds_says_so(raw_pty: PtyPair) -> None:
    """`python -m drivers probe idcard PORT` while a reader holds PORT: exit 1, clear message."""
    with IdCardReader(raw_pty.port) as kiosk_reader:
        kiosk_reader._links.acquire()  # the kiosk's reader holds the port open
        done = subprocess.run(
            [sys.executable, "-m", "drivers", "probe", "idcard", raw_pty.port, "--timeout", "1"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    assert done.stdout == ""
    message = json.loads(done.stderr.splitlines()[-1])["error"]
    assert "is in use by another program" in message
    assert raw_pty.port in message
