"""Device workers turn simulated hardware on real ptys into the core's inputs."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import config_from_data
from kiosk.core import inputs as i
from kiosk.core.machine import Command
from kiosk.runtime.devices import DeviceHub

WAIT_S = 15.0


def dev_config(tmp_path: Path, idcard: str = "absent") -> object:
    return config_from_data(
        {
            "identity": {"city": "440300", "centre": "c1", "kiosk": "k1"},
            "devices": {
                "idcard": {"port": f"sim://idcard?scenario={idcard}", "protocol": "sam"},
                "bp": {"port": "sim://bp-suntech?scenario=normal", "protocol": "suntech"},
                "qrscan": {"port": "sim://qrscan?scenario=default", "protocol": "suffix"},
            },
            "camera": {"source": None},
            "paths": {"data_dir": str(tmp_path)},
        },
        source="test",
        base_dir=tmp_path,
        env={},
    )


class Inbox:
    """Collects posted inputs; `wait_for` blocks on a real queue, never a sleep loop."""

    def __init__(self) -> None:
        self.queue: queue.Queue[i.Input] = queue.Queue()
        self.seen: list[i.Input] = []

    def post(self, event: i.Input) -> None:
        self.queue.put(event)

    def wait_for(self, kind: type, timeout_s: float = WAIT_S) -> i.Input:
        deadline = time.monotonic() + timeout_s
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                event = self.queue.get(timeout=remaining)
            except queue.Empty:
                break
            self.seen.append(event)
            if isinstance(event, kind):
                return event
        raise AssertionError(f"no {kind.__name__} within {timeout_s} s; saw {self.seen!r}")


class States:
    """A device-state sink that lets a test wait until a port is open."""

    def __init__(self) -> None:
        self.ok = {name: threading.Event() for name in ("idcard", "bp", "qrscan")}

    def set_device_state(self, device: str, state: str) -> None:
        if state == "ok":
            self.ok[device].set()


@pytest.fixture
def states() -> States:
    return States()


@pytest.fixture
def hub_and_inbox(tmp_path: Path, states: States) -> Iterator[tuple[DeviceHub, Inbox]]:
    inbox = Inbox()
    hub = DeviceHub(dev_config(tmp_path), inbox.post, states=states)  # type: ignore[arg-type]
    hub.start()
    yield hub, inbox
    hub.stop()


def test_a_placed_card_is_reported_once_per_presentation(
    hub_and_inbox: tuple[DeviceHub, Inbox],
) -> None:
    """Inserting a card yields one CardIdentity; it stays on the reader without repeats."""
    hub, inbox = hub_and_inbox
    simulator = hub.simulator("idcard")
    assert simulator is not None
    simulator.control("insert resident")
    card = inbox.wait_for(i.CardIdentity)
    assert isinstance(card, i.CardIdentity)
    assert card.card_type == "resident"
    assert card.id_number_valid
    assert card.id_number not in repr(card)
    assert card.name not in repr(card)
    with pytest.raises(AssertionError):
        inbox.wait_for(i.CardIdentity, timeout_s=2.5)


def test_a_measurement_streams_cuff_pressure_then_the_result(
    hub_and_inbox: tuple[DeviceHub, Inbox],
) -> None:
    """START_BP runs one measurement: cuff pressures, then a BpMeasured with vitals."""
    hub, inbox = hub_and_inbox
    hub.execute(Command.START_BP)
    pressure = inbox.wait_for(i.CuffPressure)
    assert isinstance(pressure, i.CuffPressure)
    result = inbox.wait_for(i.BpMeasured)
    assert isinstance(result, i.BpMeasured)
    assert result.ok
    assert result.device_protocol == "suntech"


def test_a_scanned_code_reaches_the_core_as_kind_and_length_only(
    hub_and_inbox: tuple[DeviceHub, Inbox], states: States
) -> None:
    """The token stays in the driver; the core gets QrShown(kind, length, source)."""
    hub, inbox = hub_and_inbox
    simulator = hub.simulator("qrscan")
    assert simulator is not None
    # pyserial flushes input on open (docs/design.md §2.4): scan only once the port is open.
    assert states.ok["qrscan"].wait(WAIT_S)
    simulator.control("present https://service.example/t/abcdef")
    shown = inbox.wait_for(i.QrShown)
    assert shown == i.QrShown(
        kind="url", length=len("https://service.example/t/abcdef"), source="scanner"
    )


def test_unplug_and_replug_become_fault_and_recovery(
    hub_and_inbox: tuple[DeviceHub, Inbox], states: States
) -> None:
    """A vanished reader is a DeviceFault(disconnected); its return a DeviceRecovered."""
    hub, inbox = hub_and_inbox
    simulator = hub.simulator("idcard")
    assert simulator is not None
    assert states.ok["idcard"].wait(WAIT_S)  # the reader was plugged in at boot
    simulator.unplug()
    fault = inbox.wait_for(i.DeviceFault)
    assert isinstance(fault, i.DeviceFault)
    assert (fault.device, fault.kind) == ("idcard", "disconnected")
    simulator.replug()
    recovered = inbox.wait_for(i.DeviceRecovered)
    # on a loaded machine another port's first open may only be reported now
    while isinstance(recovered, i.DeviceRecovered) and recovered.device != "idcard":
        recovered = inbox.wait_for(i.DeviceRecovered)
    assert isinstance(recovered, i.DeviceRecovered)
    assert recovered.device == "idcard"


def self_test_reports(inbox: Inbox, count: int) -> dict[str, i.SelfTestDone]:
    """The next `count` SelfTestDone inputs by device."""
    reports: dict[str, i.SelfTestDone] = {}
    while len(reports) < count:
        done = inbox.wait_for(i.SelfTestDone)
        assert isinstance(done, i.SelfTestDone)
        reports[done.report.device] = done
    return reports


def test_self_tests_ask_each_device_and_report_per_device(
    hub_and_inbox: tuple[DeviceHub, Inbox], states: States
) -> None:
    """SELF_TEST_* commands run real checks on the worker threads; the camera is not configured."""
    hub, inbox = hub_and_inbox
    for name in ("idcard", "bp", "qrscan"):
        assert states.ok[name].wait(WAIT_S)
    for command in (
        Command.SELF_TEST_IDCARD,
        Command.SELF_TEST_BP,
        Command.SELF_TEST_QRSCAN,
        Command.SELF_TEST_CAMERA,
    ):
        hub.execute(command)
    reports = {d: r.report for d, r in self_test_reports(inbox, 4).items()}
    assert [c.name for c in reports["idcard"].checks] == ["sam_status", "sam_id"]
    assert reports["idcard"].ok
    assert [c.name for c in reports["bp"].checks] == ["port", "device_status"]
    assert reports["bp"].ok
    assert reports["qrscan"].ok
    assert not reports["camera"].ok
    assert reports["camera"].checks[0].detail == "not configured"
    assert not any(isinstance(e, i.BpMeasured | i.CuffPressure) for e in inbox.seen)
    assert hub.configured_devices() == ("idcard", "bp", "qrscan")


def test_bp_measure_self_test_runs_a_measurement_only_on_request(
    hub_and_inbox: tuple[DeviceHub, Inbox], states: States
) -> None:
    """SELF_TEST_BP_MEASURE adds a measurement check; its values never reach the core."""
    hub, inbox = hub_and_inbox
    assert states.ok["bp"].wait(WAIT_S)
    hub.execute(Command.SELF_TEST_BP_MEASURE)
    done = inbox.wait_for(i.SelfTestDone, timeout_s=60.0)
    assert isinstance(done, i.SelfTestDone)
    assert [(c.name, c.ok) for c in done.report.checks][-1] == ("measurement", True)
    assert not any(isinstance(e, i.BpMeasured) for e in inbox.seen)
