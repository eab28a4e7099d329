"""The scanner driver against its simulator over real pseudo-terminals, including unplugs."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator

import pytest

from common.backoff import Backoff
from drivers.errors import DeviceTimeout
from drivers.qrscan.device import QrScanner
from drivers.qrscan.frames import TRIGGER_OFF, TRIGGER_ON, encode_menu_command
from drivers.qrscan.simulator import READ_DELAY_S, SCENARIOS, make_simulator
from drivers.qrscan.token import KindRule
from drivers.simulation import PtySimulatorHost, SimOutput

DEFAULT_CODE = SCENARIOS["default"].code_in_view
SCAN_TIMEOUT_S = 5.0


class SilentDevice:
    """A scanner that never answers anything."""

    def feed(self, data: bytes, now_s: float) -> None:
        """Swallow host bytes."""

    def poll(self, now_s: float) -> SimOutput:
        """Never any output."""
        return SimOutput()

    def control(self, command: str, now_s: float) -> str:
        """No operator commands."""
        raise ValueError(command)


def fast_backoff() -> Backoff:
    """Reconnect attempts every few milliseconds, seeded."""
    return Backoff(base_s=0.005, cap_s=0.02, rng=random.Random(7))


@pytest.fixture
def host() -> Iterator[PtySimulatorHost]:
    """A default-scenario scanner simulator served on a pty."""
    server = PtySimulatorHost(make_simulator("default"))
    server.start()
    yield server
    server.stop()


def test_simulator_answers_trigger_after_read_delay() -> None:
    """Sans-I/O: the code comes out READ_DELAY_S after SYN T CR, once, suffixed."""
    sim = make_simulator("default")
    assert sim.poll(0.0).data == b""
    sim.feed(TRIGGER_ON[:1], 0.0)
    sim.feed(TRIGGER_ON[1:], 0.0)
    early = sim.poll(0.0)
    assert early.data == b""
    assert early.wake_at_s == pytest.approx(READ_DELAY_S)
    assert sim.poll(READ_DELAY_S).data == (DEFAULT_CODE or "").encode() + b"\r"
    assert sim.poll(1.0).data == b""
    sim.feed(TRIGGER_ON + TRIGGER_OFF, 2.0)
    assert sim.poll(3.0).data == b""


def test_simulator_echoes_menu_commands_and_rejects_unknown_control() -> None:
    """Menu commands are echoed with ACK; unknown operator commands raise ValueError."""
    sim = make_simulator("default", suffix="lf")
    sim.feed(b"noise" + encode_menu_command("TRGMOD0"), 0.0)
    assert sim.poll(0.0).data == b"TRGMOD0\x06!"
    assert sim.control("present 42", 0.0) == "presented 2 chars"
    assert sim.poll(0.0).data == b"42\n"
    with pytest.raises(ValueError, match="present"):
        sim.control("dance", 0.0)
    assert sim.control("scenario nonprintable", 0.0) == "scenario nonprintable"
    sim.feed(TRIGGER_ON, 1.0)
    assert sim.poll(2.0).data.startswith(b"AB\x07CD\n")
    with pytest.raises(ValueError, match="unknown qrscan scenario"):
        make_simulator("nope")


def test_trigger_and_scan_over_sim_url() -> None:
    """`sim://qrscan` → trigger → one classified code; then nothing more."""
    with QrScanner("sim://qrscan?scenario=default") as scanner:
        assert scanner.trigger()
        scanned = scanner.scan(SCAN_TIMEOUT_S)
        assert scanned is not None
        assert scanned.token.reveal() == DEFAULT_CODE
        assert scanned.kind == "url"
        assert scanner.scan(0.2) is None


@pytest.mark.parametrize("scenario", ["garbage_bursts", "nonprintable", "oversize"])
def test_bad_lines_are_discarded_and_the_code_still_arrives(scenario: str) -> None:
    """Garbage, control bytes and oversize lines are dropped; the real code follows."""
    with QrScanner(f"sim://qrscan?scenario={scenario}", max_payload=512) as scanner:
        scanner.trigger()
        scanned = scanner.scan(SCAN_TIMEOUT_S)
        assert scanned is not None
        assert scanned.token.reveal() == DEFAULT_CODE
        assert scanner.frame_errors >= 1


def test_medical_code_scenario_with_deployment_rule() -> None:
    """A deployment prefix rule classifies the simulated medical insurance code."""
    rules = [KindRule("MIC", "medical_insurance_code")]
    with QrScanner("sim://qrscan?scenario=medical_code", kind_rules=rules) as scanner:
        scanner.trigger()
        scanned = scanner.scan(SCAN_TIMEOUT_S)
        assert scanned is not None
        assert scanned.kind == "medical_insurance_code"


def test_present_via_control_and_lf_suffix(host: PtySimulatorHost) -> None:
    """An operator `present` reaches an open driver without any trigger."""
    with QrScanner(host.port_path) as scanner:
        assert scanner.scan(0.05) is None  # opens the port first: pyserial flushes on open
        host.control("present 6227001234567890")
        scanned = scanner.scan(SCAN_TIMEOUT_S)
        assert scanned is not None
        assert (scanned.kind, scanned.length) == ("numeric", 16)


def test_configure_returns_the_menu_echo(host: PtySimulatorHost) -> None:
    """A menu command returns the scanner's ACKed echo; no reply is a DeviceTimeout."""
    with QrScanner(host.port_path) as scanner:
        reply = scanner.configure("TRGMOD0")
        assert reply.ok
        assert reply.text == "TRGMOD0"
    silent = PtySimulatorHost(SilentDevice())
    silent.start()
    try:
        with QrScanner(silent.port_path) as scanner, pytest.raises(DeviceTimeout):
            scanner.configure("TRGMOD0", timeout_s=0.2)
    finally:
        silent.stop()


def test_unplug_and_replug_recovers_and_retriggers(host: PtySimulatorHost) -> None:
    """Pulling the cable reports loss once; after replug the trigger is re-sent and scans resume."""
    changes: list[bool] = []
    with QrScanner(
        host.port_path,
        on_link_change=lambda connected, _reason: changes.append(connected),
        backoff=fast_backoff(),
    ) as scanner:
        scanner.trigger()
        assert scanner.scan(SCAN_TIMEOUT_S) is not None
        host.unplug()
        assert scanner.scan(0.3) is None
        assert not scanner.connected
        host.replug()
        scanned = scanner.scan(SCAN_TIMEOUT_S)
        assert scanned is not None
        assert scanned.token.reveal() == DEFAULT_CODE
    assert changes == [True, False, True]


def test_unplug_scenario_reconnects_by_itself() -> None:
    """The `unplug` scenario drops the port after a scan; the driver reopens and reads again."""
    changes: list[bool] = []
    with QrScanner(
        "sim://qrscan?scenario=unplug",
        on_link_change=lambda connected, _reason: changes.append(connected),
        backoff=fast_backoff(),
    ) as scanner:
        scanner.trigger()
        first = scanner.scan(SCAN_TIMEOUT_S)
        second = scanner.scan(SCAN_TIMEOUT_S)
    assert first is not None
    assert second is not None
    assert changes[:3] == [True, False, True]


def test_trigger_while_unplugged_does_not_raise(host: PtySimulatorHost) -> None:
    """trigger() on a vanished port returns False and takes effect after reconnect."""
    with QrScanner(host.port_path, backoff=fast_backoff()) as scanner:
        assert scanner.scan(0.05) is None
        host.unplug()
        assert scanner.scan(0.1) is None
        assert scanner.trigger() is False
        host.replug()
        assert scanner.scan(SCAN_TIMEOUT_S) is not None


def test_scan_logs_never_contain_the_payload(caplog: pytest.LogCaptureFixture) -> None:
    """Everything logged while scanning bad and good lines is free of payload text."""
    caplog.set_level(logging.DEBUG)
    with QrScanner("sim://qrscan?scenario=nonprintable", backoff=fast_backoff()) as scanner:
        scanner.trigger()
        scanned = scanner.scan(SCAN_TIMEOUT_S)
        assert scanned is not None
        logging.getLogger("test").info("scanned %s", scanned)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "discarded" in text
    assert DEFAULT_CODE is not None
    assert DEFAULT_CODE not in text
    assert "T0K3N" not in text
    assert "AB\x07CD" not in text
