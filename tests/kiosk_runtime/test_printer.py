"""The printer worker over a real pty with the ESC/POS simulator: slips print whole, paper-out
mid-print and an open cover become device faults (and recoveries), the resident is told."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from config import config_from_data
from drivers.printer.page import TextLine
from drivers.printer.simulator import PrinterSimulator
from kiosk.core import inputs as i
from kiosk.core.i18n import load_strings
from kiosk.core.slips import BpSlipReading, PrintJob, bp_slip, guide_slip
from kiosk.runtime.devices import PRINTER_STATUS_EVERY_S, DeviceHub
from tests.kiosk_core.support import _ITEMS
from tests.kiosk_runtime.test_devices import Inbox

WAIT_S = 15.0
STATUS_WAIT_S = PRINTER_STATUS_EVERY_S * 3  # a loaded machine: allow a few polls
NOW = datetime(2026, 12, 3, 14, 30, tzinfo=UTC)


class PrinterStates:
    """Device states as the heartbeat would get them."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.ok = threading.Event()

    def set_device_state(self, device: str, state: str) -> None:
        assert device == "printer"
        self.seen.append(state)
        if state == "ok":
            self.ok.set()


def printer_config(tmp_path: Path, query: str = "") -> Any:
    return config_from_data(
        {
            "identity": {"city": "440300", "centre": "c1", "kiosk": "k1"},
            "devices": {
                "printer": {"port": f"sim://printer?scenario=normal{query}", "protocol": "escpos"}
            },
            "camera": {"source": None},
            "paths": {"data_dir": str(tmp_path)},
        },
        source="test",
        base_dir=tmp_path,
        env={},
    )


def start_hub(tmp_path: Path, query: str = "") -> tuple[DeviceHub, Inbox, PrinterStates]:
    inbox, states = Inbox(), PrinterStates()
    hub = DeviceHub(printer_config(tmp_path, query), inbox.post, states=states)
    hub.start()
    assert states.ok.wait(WAIT_S)
    opened = next_of(inbox, i.DeviceRecovered)  # the port's first open
    assert opened == i.DeviceRecovered("printer", 0.0)
    return hub, inbox, states


@pytest.fixture
def printer(tmp_path: Path) -> Iterator[tuple[DeviceHub, Inbox, PrinterStates]]:
    hub, inbox, states = start_hub(tmp_path)
    yield hub, inbox, states
    hub.stop()


def simulator_of(hub: DeviceHub) -> PrinterSimulator:
    host = hub.simulator("printer")
    assert host is not None
    assert isinstance(host.simulator, PrinterSimulator)
    return host.simulator


def page_text(items: list[Any]) -> str:
    return "\n".join("".join(r.text for r in it.runs) for it in items if isinstance(it, TextLine))


def guide_job(job_id: str = "job-guide") -> PrintJob:
    strings = load_strings("zh")
    lines = guide_slip(strings, _ITEMS[1], "网上办理", "福田区政务服务中心", NOW)
    return PrintJob(job_id, "guide", lines)


def bp_job() -> PrintJob:
    strings = load_strings("zh")
    reading = BpSlipReading(128, 84, 72, "正常高值", "保持健康的生活方式。", NOW)
    return PrintJob("job-bp", "bp", bp_slip(strings, "张**", reading, "福田区政务服务中心"))


def next_of(inbox: Inbox, kind: type, timeout_s: float = WAIT_S) -> Any:
    """The first `kind` input not yet claimed, already seen or still to come."""
    claimed: set[int] = getattr(inbox, "claimed", set())
    inbox.claimed = claimed  # type: ignore[attr-defined]
    for number, event in enumerate(inbox.seen):
        if isinstance(event, kind) and number not in claimed:
            claimed.add(number)
            return event
    event = inbox.wait_for(kind, timeout_s)
    claimed.add(len(inbox.seen) - 1)
    return event


def finished(inbox: Inbox) -> i.PrintFinished:
    event = next_of(inbox, i.PrintFinished)
    assert isinstance(event, i.PrintFinished)
    return event


def test_a_guide_and_a_bp_slip_print_whole(
    printer: tuple[DeviceHub, Inbox, PrinterStates],
) -> None:
    """Both slips come out cut, in Chinese (GB 18030), the guide with its QR code."""
    hub, inbox, _states = printer
    hub.print_slip(guide_job())
    assert finished(inbox) == i.PrintFinished("job-guide", "done")
    hub.print_slip(bp_job())
    assert finished(inbox) == i.PrintFinished("job-bp", "done")
    simulator = simulator_of(hub)
    assert simulator.pages_printed == 2
    guide, slip = simulator.pages
    assert "医保异地就医备案" in page_text(guide)
    assert "1. 身份证" in page_text(guide)
    assert any(type(item).__name__ == "QrItem" for item in guide)
    assert "张**" in page_text(slip)
    assert "128/84 mmHg" in page_text(slip)
    assert simulator.frame_errors == []


def test_paper_running_out_mid_print_is_a_fault_then_a_recovery(tmp_path: Path) -> None:
    """The roll ends half-way: not done (ask at the counter), device fault 0x460; new paper →
    recovered without anyone printing."""
    hub, inbox, states = start_hub(tmp_path, "&paper_lines=6")
    try:
        hub.print_slip(guide_job())
        assert finished(inbox).outcome == "unavailable"
        fault = next_of(inbox, i.DeviceFault)
        assert fault == i.DeviceFault("printer", "fault", "0x460", "device fault 0x460: paper out")
        assert "fault" in states.seen
        simulator = simulator_of(hub)
        assert simulator.pages_printed == 0  # never cut: the slip was cut short
        assert simulator.discarded_commands > 0
        hub.simulator("printer").control("load_paper")  # type: ignore[union-attr]
        recovered = next_of(inbox, i.DeviceRecovered, STATUS_WAIT_S)
        assert isinstance(recovered, i.DeviceRecovered)
        assert recovered.device == "printer"
        assert states.seen[-1] == "ok"
        hub.print_slip(bp_job())
        assert finished(inbox).outcome == "done"
    finally:
        hub.stop()


def test_an_open_cover_is_seen_while_idle_and_refuses_a_slip(
    printer: tuple[DeviceHub, Inbox, PrinterStates],
) -> None:
    """Cover open: a fault from the idle status poll; a slip is not sent into it; closed → back."""
    hub, inbox, _states = printer
    host = hub.simulator("printer")
    assert host is not None
    host.control("open_cover")
    fault = next_of(inbox, i.DeviceFault, STATUS_WAIT_S)
    assert fault == i.DeviceFault("printer", "fault", "0x204", "device fault 0x204: cover open")
    hub.print_slip(guide_job("job-cover"))
    assert finished(inbox) == i.PrintFinished("job-cover", "unavailable")
    assert simulator_of(hub).pages_printed == 0
    host.control("close_cover")
    recovered = next_of(inbox, i.DeviceRecovered, STATUS_WAIT_S)
    assert isinstance(recovered, i.DeviceRecovered)
    assert recovered.device == "printer"


def test_an_unplugged_printer_answers_unavailable(
    printer: tuple[DeviceHub, Inbox, PrinterStates],
) -> None:
    """Port gone: the slip is not printed, the link loss is a `disconnected` fault."""
    hub, inbox, _states = printer
    host = hub.simulator("printer")
    assert host is not None
    host.unplug()
    hub.print_slip(guide_job("job-gone"))
    assert finished(inbox) == i.PrintFinished("job-gone", "unavailable")
    fault = next_of(inbox, i.DeviceFault)
    assert isinstance(fault, i.DeviceFault)
    assert fault.kind == "disconnected"


def test_the_self_test_reads_cover_paper_cutter_and_errors(
    printer: tuple[DeviceHub, Inbox, PrinterStates],
) -> None:
    """Diagnostics: the printer's self-test answers with its checks and uses no paper."""
    hub, inbox, _states = printer
    assert hub.configured_devices() == ("printer",)
    hub.self_test("printer")
    done = next_of(inbox, i.SelfTestDone)
    assert isinstance(done, i.SelfTestDone)
    report = done.report
    assert report.device == "printer"
    assert report.ok
    assert [c.name for c in report.checks] == ["status", "cover", "paper", "cutter", "errors"]
    assert simulator_of(hub).pages_printed == 0


def test_no_printer_configured_answers_at_once(tmp_path: Path) -> None:
    """A kiosk without a printer: PrintFinished unavailable, no thread, no wait."""
    inbox = Inbox()
    config = config_from_data(
        {
            "identity": {"city": "440300", "centre": "c1", "kiosk": "k1"},
            "camera": {"source": None},
            "paths": {"data_dir": str(tmp_path)},
        },
        source="test",
        base_dir=tmp_path,
        env={},
    )
    hub = DeviceHub(config, inbox.post)
    hub.print_slip(guide_job("job-none"))
    assert finished(inbox) == i.PrintFinished("job-none", "unavailable")
