"""The printer driver against its simulator over real pseudo-terminals, and the CLI."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator

import pytest

from common.backoff import Backoff
from drivers.cli import main
from drivers.errors import DeviceDisconnected, DeviceFault, DeviceTimeout
from drivers.printer.device import ReceiptPrinter
from drivers.printer.document import CutPaper, Heading, MaskedName, Qr, Receipt
from drivers.printer.page import QrItem
from drivers.printer.simulator import PrinterSimulator, make_simulator
from drivers.printer.status import FAULT_COVER_OPEN, FAULT_PAPER_OUT
from drivers.simulation import PtySimulatorHost, SimOutput

RECEIPT = Receipt(
    (
        Heading("活动报名回执"),
        MaskedName.of("姓名", "张三"),
        Qr("https://x.example/a/1"),
        CutPaper(),
    )
)
PRINT_WAIT_S = 5.0


class SilentDevice:
    """A printer that never answers."""

    def feed(self, data: bytes, now_s: float) -> None:
        """Swallow host bytes."""

    def poll(self, now_s: float) -> SimOutput:
        """Never any output."""
        return SimOutput()

    def control(self, command: str, now_s: float) -> str:
        """No operator commands."""
        raise ValueError(command)


def _host(scenario: str) -> PtySimulatorHost:
    host = PtySimulatorHost(make_simulator(scenario))
    host.start()
    return host


@pytest.fixture
def host() -> Iterator[PtySimulatorHost]:
    """A normal-scenario printer simulator served on a pty."""
    server = _host("normal")
    yield server
    server.stop()


def _sim(host: PtySimulatorHost) -> PrinterSimulator:
    assert isinstance(host.simulator, PrinterSimulator)
    return host.simulator


def _wait_for_pages(sim: PrinterSimulator, count: int) -> None:
    deadline = time.monotonic() + PRINT_WAIT_S
    while sim.pages_printed < count and time.monotonic() < deadline:
        time.sleep(0.02)


def test_status_over_a_pty_reads_a_ready_printer(host: PtySimulatorHost) -> None:
    """DLE EOT 1..4 go out and four answers come back: ready, nothing wrong."""
    with ReceiptPrinter(host.port_path) as printer:
        status = printer.status()
    assert status.can_print
    assert not status.paper_near_end
    assert _sim(host).status_requests == 4


def test_receipt_arrives_whole_at_the_simulator(host: PtySimulatorHost) -> None:
    """A printed receipt ends as one page with its heading, masked name and QR."""
    with ReceiptPrinter(host.port_path) as printer:
        printer.print_receipt(RECEIPT)
    sim = _sim(host)
    _wait_for_pages(sim, 1)
    (page,) = sim.pages
    assert sim.frame_errors == []
    lines = [
        "".join(r.text for r in item.runs) for item in page if hasattr(item, "runs") and item.runs
    ]
    assert lines[0] == "活动报名回执"
    assert lines[1].startswith("姓名")
    assert lines[1].endswith("张*")
    assert [item.payload for item in page if isinstance(item, QrItem)] == [b"https://x.example/a/1"]


@pytest.mark.parametrize(
    ("scenario", "code"), [("paper_out", FAULT_PAPER_OUT), ("cover_open", FAULT_COVER_OPEN)]
)
def test_paper_out_and_cover_open_are_device_faults(scenario: str, code: int) -> None:
    """print_receipt raises DeviceFault with the condition's code and sends nothing."""
    server = _host(scenario)
    try:
        with ReceiptPrinter(server.port_path) as printer, pytest.raises(DeviceFault) as caught:
            printer.print_receipt(RECEIPT)
        assert caught.value.code == code
        assert _sim(server).discarded_commands == 0
        assert _sim(server).pages_printed == 0
    finally:
        server.stop()


def test_cover_opened_between_receipts_stops_the_second(host: PtySimulatorHost) -> None:
    """Status is read before every receipt, so a cover opened mid-shift is caught."""
    with ReceiptPrinter(host.port_path) as printer:
        printer.print_receipt(RECEIPT)
        _wait_for_pages(_sim(host), 1)  # the bytes are on their way when print_receipt returns
        host.control("open_cover")
        with pytest.raises(DeviceFault) as caught:
            printer.print_receipt(RECEIPT)
        assert caught.value.code == FAULT_COVER_OPEN
        host.control("close_cover")
        printer.print_receipt(RECEIPT)
    _wait_for_pages(_sim(host), 2)
    assert _sim(host).pages_printed == 2


@pytest.mark.parametrize(
    ("scenario", "failed", "paper_detail"),
    [
        ("normal", [], "loaded"),
        ("paper_near_end", [], "near end"),
        ("paper_out", ["paper"], "paper out"),
        ("cover_open", ["cover"], "loaded"),
    ],
)
def test_self_test_reports_each_scenario(
    scenario: str, failed: list[str], paper_detail: str
) -> None:
    """The self-test names the failing checks; near end passes with a warning detail."""
    server = _host(scenario)
    try:
        with ReceiptPrinter(server.port_path) as printer:
            report = printer.self_test()
    finally:
        server.stop()
    assert report.as_dict()["device"] == "printer"
    assert report.ok is (not failed)
    assert [c.name for c in report.checks if not c.ok] == failed
    assert {c.name: c.detail for c in report.checks}["paper"] == paper_detail


def test_silent_printer_times_out_and_fails_the_link_check() -> None:
    """No answer to DLE EOT is DeviceTimeout for status() and a failed link check."""
    server = PtySimulatorHost(SilentDevice())
    server.start()
    try:
        with ReceiptPrinter(server.port_path) as printer:
            with pytest.raises(DeviceTimeout):
                printer.status(timeout_s=0.2)
            report = printer.self_test(timeout_s=0.2)
    finally:
        server.stop()
    assert not report.ok
    assert [(c.name, c.ok) for c in report.checks] == [("status", False)]


def test_cli_probe_prints_status_and_self_test(capsys: pytest.CaptureFixture[str]) -> None:
    """`probe printer URL` prints a status record and a self-test record, one JSON per line."""
    assert (
        main(["probe", "printer", "sim://printer?scenario=paper_near_end", "--timeout", "2"]) == 0
    )
    status, report = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status["kind"] == "status"
    assert status["paper_near_end"] is True
    assert status["can_print"] is True
    assert report["kind"] == "self_test"
    assert report["ok"] is True


def test_cli_print_test_reports_paper_out(capsys: pytest.CaptureFixture[str]) -> None:
    """`print-test` on a printer without paper exits 1 with the fault, nothing printed."""
    assert main(["print-test", "sim://printer?scenario=paper_out"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "paper out" in json.loads(captured.err)["error"]


def test_cli_print_test_prints(capsys: pytest.CaptureFixture[str]) -> None:
    """`print-test` on a ready printer prints the test page."""
    assert main(["print-test", "sim://printer"]) == 0
    assert json.loads(capsys.readouterr().out) == {"kind": "printed", "page": "test"}


def test_unplugged_printer_is_disconnected_then_back_after_replug(host: PtySimulatorHost) -> None:
    """An unplug raises DeviceDisconnected (self-test: link fails); after replug it prints."""
    backoff = Backoff(base_s=0.001, cap_s=0.005, rng=random.Random(3))
    with ReceiptPrinter(host.port_path, backoff=backoff) as printer:
        assert printer.status().can_print
        host.unplug()
        with pytest.raises(DeviceDisconnected):
            printer.print_receipt(RECEIPT)
        assert [(c.name, c.ok) for c in printer.self_test().checks] == [("status", False)]
        host.replug()
        deadline = time.monotonic() + PRINT_WAIT_S
        while True:
            try:
                printer.print_receipt(RECEIPT)
                break
            except DeviceDisconnected:
                assert time.monotonic() < deadline
                time.sleep(0.01)
    _wait_for_pages(_sim(host), 1)
    assert _sim(host).pages_printed == 1


def test_simulate_out_is_for_the_printer_only(capsys: pytest.CaptureFixture[str]) -> None:
    """`simulate KIND --out DIR` is refused for devices that print nothing."""
    assert main(["simulate", "qrscan", "--out", "/nonexistent"]) == 1
    assert "printer" in json.loads(capsys.readouterr().err)["error"]
