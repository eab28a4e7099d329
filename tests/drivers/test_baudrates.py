"""Baud-rate defaults live once in drivers; a caller passes a configured rate or None (issue 11)."""

from __future__ import annotations

import pytest

from drivers.bp.device import BloodPressureMeter
from drivers.bp.protocol import get_protocol
from drivers.idcard import device as idcard_device
from drivers.idcard.device import IdCardReader
from drivers.qrscan import device as qrscan_device
from drivers.qrscan.device import QrScanner


def test_none_means_each_devices_own_default() -> None:
    """`baudrate=None` (a config without one) opens at the device's documented default."""
    assert IdCardReader("loop://", baudrate=None)._links.baudrate == 115200
    assert idcard_device.DEFAULT_BAUDRATE == 115200
    assert QrScanner("loop://", baudrate=None)._link.baudrate == 9600
    assert qrscan_device.DEFAULT_BAUDRATE == 9600
    for protocol in ("suntech", "omron9030"):
        meter = BloodPressureMeter("loop://", protocol=protocol, baudrate=None)
        assert meter._link.baudrate == get_protocol(protocol).baudrate == 9600


@pytest.mark.parametrize("rate", [19200, 57600])
def test_a_configured_rate_wins(rate: int) -> None:
    """A rate from config is used as given."""
    assert IdCardReader("loop://", baudrate=rate)._links.baudrate == rate
    assert QrScanner("loop://", baudrate=rate)._link.baudrate == rate
    assert BloodPressureMeter("loop://", baudrate=rate)._link.baudrate == rate
