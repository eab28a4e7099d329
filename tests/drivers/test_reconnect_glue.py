"""One loss wrapper for every device, and the BP meter's one wait on the injected clock."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from common.backoff import Backoff
from drivers.bp.device import BloodPressureMeter
from drivers.errors import DeviceDisconnected, DeviceTimeout
from drivers.reconnect import ReconnectingLink
from drivers.simulation import PtySimulatorHost, make_simulator
from tests.fixtures.pty import PtyPair


class MaxJitter(random.Random):
    """Backoff jitter pinned to its ceiling, so the retry time is known."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_reporting_loss_marks_the_link_lost_once_and_re_raises(raw_pty: PtyPair) -> None:
    """A DeviceDisconnected inside the block closes the link, reports it once, propagates."""
    changes: list[tuple[bool, str]] = []
    links = ReconnectingLink(raw_pty.port, baudrate=9600, on_change=lambda *c: changes.append(c))
    links.acquire()
    with pytest.raises(DeviceDisconnected), links.reporting_loss():
        raise DeviceDisconnected("port gone")
    assert not links.connected
    assert changes == [(True, "port open"), (False, "port gone")]
    links.close()


def test_reporting_loss_lets_other_errors_through_without_a_loss(raw_pty: PtyPair) -> None:
    """A timeout is not a lost port: the link stays open."""
    links = ReconnectingLink(raw_pty.port, baudrate=9600)
    links.acquire()
    with pytest.raises(DeviceTimeout), links.reporting_loss():
        raise DeviceTimeout("slow")
    assert links.connected
    links.close()


def test_bp_meter_waits_for_a_due_reopen_on_the_injected_clock(tmp_path: Path) -> None:
    """The meter's wait for a reopen goes through the injected `sleep`, in the clock's time."""
    port = tmp_path / "meter"
    now = [100.0]
    slept: list[float] = []
    host = PtySimulatorHost(make_simulator("bp-suntech", "normal"), link_path=port)

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds
        host.start()  # the meter is plugged in while we wait

    meter = BloodPressureMeter(
        str(port),
        clock=lambda: now[0],
        sleep=sleep,
        backoff=Backoff(base_s=0.2, rng=MaxJitter()),
    )
    started = time.monotonic()
    try:
        meter.connect()
        assert meter.connected
    finally:
        meter.close()
        host.stop()
    assert slept == [pytest.approx(0.2)]
    assert time.monotonic() - started < 1.0


def test_simulated_unplug_removes_the_port_path_until_replug(tmp_path: Path) -> None:
    """Like udev on a pulled adapter: no dangling link to a freed /dev/pts/N another program
    may be given (drivers then reopened that pty and saw a 'recovered' device)."""
    port = tmp_path / "scanner"
    host = PtySimulatorHost(make_simulator("qrscan", "default"), link_path=port)
    host.start()
    try:
        assert port.is_symlink()
        host.unplug()
        assert not port.exists()
        assert not port.is_symlink()
        host.replug()
        assert port.is_symlink()
    finally:
        host.stop()
    assert not port.is_symlink()
