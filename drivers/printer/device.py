"""The receipt printer API: `status()`, `print_receipt()`, `self_test()` over a serial port.

Before printing, the four DLE EOT status bytes are read: paper out and cover open raise
`DeviceFault` (with the codes of `drivers.printer.status`) instead of sending a receipt into a
printer that would lose it. Receipt bytes go out in chunks so a slow 9600-baud link never holds
a write for longer than pyserial's write timeout.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from common.backoff import Backoff
from common.selftest import DeviceKind, SelfTestReport
from drivers.errors import DeviceTimeout
from drivers.printer.document import Receipt, render
from drivers.printer.frames import StatusKind, StatusRequest, encode
from drivers.printer.status import PrinterStatus, is_status_byte, parse_status
from drivers.reconnect import LinkStateListener, ReconnectingLink
from drivers.selftest import CheckRunner

DEFAULT_BAUDRATE = 115200  # USB-serial kiosk printer modules; 9600 on old RS-232 ones
STATUS_TIMEOUT_S = 1.0
WRITE_CHUNK_BYTES = 1024
MAX_RECEIPT_BYTES = 256 * 1024
PRINTER_DEVICE: DeviceKind = "printer"


class ReceiptPrinter:
    """One ESC/POS printer on a serial port; calls are serialised."""

    def __init__(
        self,
        url: str,
        *,
        baudrate: int | None = None,
        on_link_change: LinkStateListener | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._link = ReconnectingLink(
            url,
            baudrate=baudrate or DEFAULT_BAUDRATE,
            on_change=on_link_change,
            backoff=backoff,
            clock=clock,
        )
        self._lock = threading.Lock()
        self.stray_bytes = 0

    @property
    def connected(self) -> bool:
        """True while the port is open."""
        return self._link.connected

    def status(self, timeout_s: float = STATUS_TIMEOUT_S) -> PrinterStatus:
        """Ask DLE EOT 1..4 and read the answers; DeviceTimeout if the printer stays silent."""
        with self._lock:
            return self._status(timeout_s)

    def _status(self, timeout_s: float) -> PrinterStatus:
        link = self._link.acquire()
        replies: dict[StatusKind, int] = {}
        with self._link.reporting_loss():
            link.reset_input()
            for kind in StatusKind:
                link.write(encode(StatusRequest(kind)))
                replies[kind] = self._read_status_byte(timeout_s, kind)
        return parse_status(replies)

    def _read_status_byte(self, timeout_s: float, kind: StatusKind) -> int:
        link = self._link.acquire()
        deadline = self._clock() + timeout_s
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise DeviceTimeout(f"no answer to DLE EOT {int(kind)}")
            data = link.read(min(remaining, 0.25))
            for index, value in enumerate(data):
                if is_status_byte(value):
                    # Anything after the answer is stray too: one request, one byte.
                    self.stray_bytes += len(data) - index - 1
                    return value
                self.stray_bytes += 1

    def print_receipt(self, receipt: Receipt, *, timeout_s: float = STATUS_TIMEOUT_S) -> None:
        """Check status, then send the receipt; DeviceFault if the printer cannot print it."""
        self.print_bytes(render(receipt), timeout_s=timeout_s)

    def print_bytes(self, data: bytes, *, timeout_s: float = STATUS_TIMEOUT_S) -> None:
        """Check status, then send already-encoded ESC/POS bytes."""
        if len(data) > MAX_RECEIPT_BYTES:
            raise ValueError(f"a receipt is at most {MAX_RECEIPT_BYTES} bytes")
        with self._lock:
            status = self._status(timeout_s)
            faults = status.faults()
            if faults:
                raise faults[0]
            link = self._link.acquire()
            with self._link.reporting_loss():
                for start in range(0, len(data), WRITE_CHUNK_BYTES):
                    link.write(data[start : start + WRITE_CHUNK_BYTES])

    def self_test(self, timeout_s: float = STATUS_TIMEOUT_S) -> SelfTestReport:
        """Status answered, then cover, paper, cutter and errors as checks; never raises."""
        runner = CheckRunner(self._clock)
        answered: list[PrinterStatus] = []

        def ask() -> str:
            answered.append(self.status(timeout_s))
            return "DLE EOT 1-4 answered"

        if not runner.run("status", ask):
            return runner.report(PRINTER_DEVICE)
        status = answered[0]
        paper_detail = (
            "paper out" if status.paper_out else "near end" if status.paper_near_end else "loaded"
        )
        runner.add("cover", not status.cover_open, "open" if status.cover_open else "closed")
        runner.add("paper", not status.paper_out, paper_detail)
        runner.add("cutter", not status.cutter_error, "error" if status.cutter_error else "ok")
        runner.add(
            "errors",
            not status.unrecoverable_error,
            "unrecoverable error" if status.unrecoverable_error else "none",
        )
        return runner.report(PRINTER_DEVICE)

    def close(self) -> None:
        """Release the port."""
        self._link.close()

    def __enter__(self) -> ReceiptPrinter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
