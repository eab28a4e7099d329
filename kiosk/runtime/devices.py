"""Device workers: one thread per serial device (and the camera), each turning driver results
into core inputs through `post`. Link loss and recovery become DeviceFault / DeviceRecovered.

Each worker owns its driver object: nothing else touches a port, so no locking around I/O.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Protocol

from common.selftest import Check, SelfTestReport
from config.model import Camera, Device, KioskConfig
from drivers.bp.device import BloodPressureMeter
from drivers.bp.events import BpResult
from drivers.errors import DeviceDisconnected, DriverError
from drivers.errors import DeviceFault as DeviceFaultError
from drivers.idcard import device as idcard_device
from drivers.idcard.device import IdCardReader
from drivers.printer import device as printer_device
from drivers.printer.device import ReceiptPrinter
from drivers.printer.document import render
from drivers.printer.status import PrinterStatus
from drivers.qrscan import device as qrscan_device
from drivers.qrscan.device import QrScanner
from drivers.qrscan.frames import Suffix
from drivers.simulation import PtySimulatorHost, is_sim_url, simulator_for_url
from kiosk.core import inputs as i
from kiosk.core.machine import Command
from kiosk.core.slips import PrintJob
from kiosk.runtime import adapters
from kiosk.runtime.receipts import paper_width, receipt_of

if TYPE_CHECKING:  # OpenCV loads only when the camera first runs (warm_up)
    from drivers.camera.scanner import CameraScanner

log = logging.getLogger(__name__)

Post = Callable[[i.Input], None]
CARD_POLL_S = 1.0  # each read_card call polls (>= 300 ms apart) for this long
QR_POLL_S = 1.0
BP_TIMEOUT_S = 180.0
SELF_TEST_TIMEOUT_S = 3.0  # per device request; a whole self-test takes a few of them at most
SELF_TEST_POLL_S = 0.5  # the idle BP worker looks for queued self-tests this often
SELF_TEST_DEVICES: dict[Command, i.DeviceName] = {
    Command.SELF_TEST_IDCARD: "idcard",
    Command.SELF_TEST_BP: "bp",
    Command.SELF_TEST_BP_MEASURE: "bp",
    Command.SELF_TEST_QRSCAN: "qrscan",
    Command.SELF_TEST_CAMERA: "camera",
    Command.SELF_TEST_PRINTER: "printer",
}
PRINTER_STATUS_EVERY_S = 5.0  # an idle printer is asked for paper and cover this often
PRINT_STATUS_TIMEOUT_S = 2.0
MAX_QUEUED_PRINTS = 4
RECONNECT_PAUSE_S = 0.5  # a worker whose port is down waits this long between attempts
ABSENT_POLLS_BEFORE_REREAD = 2  # the same card is reported again only after it was lifted


class DeviceStateSink(Protocol):
    """Where device states go for the agent's heartbeat (the outbox)."""

    def set_device_state(self, device: str, state: str) -> None:
        """Record the device's state: ok, fault, disconnected, unknown."""


class _LinkWatch:
    """Turns a driver's link listener calls into DeviceFault/DeviceRecovered inputs."""

    def __init__(self, device: i.DeviceName, post: Post, states: DeviceStateSink | None) -> None:
        self.device = device
        self._post = post
        self._states = states
        self._down_since: float | None = None

    def recovered(self) -> None:
        """A device fault (not a link loss) cleared: the printer has paper again."""
        down_s = 0.0 if self._down_since is None else time.monotonic() - self._down_since
        self._post(i.DeviceRecovered(self.device, round(down_s, 3)))
        self._down_since = None
        self._set_state("ok")

    def __call__(self, connected: bool, reason: str) -> None:
        if connected:
            # Also on the first open (down 0 s): diagnostics then say "working", not "no fault
            # reported"; the core sends device.recovered only for a device it knew was down.
            down_s = 0.0 if self._down_since is None else time.monotonic() - self._down_since
            self._post(i.DeviceRecovered(self.device, round(down_s, 3)))
            self._down_since = None
            self._set_state("ok")
        else:
            if self._down_since is None:
                self._down_since = time.monotonic()
            self._post(i.DeviceFault(self.device, "disconnected", None, reason[:200]))
            self._set_state("disconnected")

    def fault(self, error: DriverError) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
        self._post(adapters.device_fault(self.device, error))
        self._set_state("disconnected" if isinstance(error, DeviceDisconnected) else "fault")

    def _set_state(self, state: str) -> None:
        if self._states is not None:
            try:
                self._states.set_device_state(self.device, state)
            except Exception:
                log.exception("could not record the %s state", self.device)


class _Worker:
    """A daemon thread running `loop_once` until stopped; self-tests run between iterations."""

    name = "device"

    def __init__(self, post: Post) -> None:
        self._post = post
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-worker", daemon=True)
        self._self_tests: queue.Queue[bool] = queue.Queue(maxsize=2)

    def request_self_test(self, *, measure: bool = False) -> None:
        """Run the device's self-test on this worker's thread (it owns the port) soon."""
        try:
            self._self_tests.put_nowait(measure)
        except queue.Full:
            log.info("a %s self-test is already queued", self.name)

    def _run_self_tests(self) -> None:
        while True:
            try:
                measure = self._self_tests.get_nowait()
            except queue.Empty:
                return
            self._post(i.SelfTestDone(self.self_test(measure=measure)))

    def self_test(self, *, measure: bool) -> SelfTestReport:
        raise NotImplementedError

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)
        self.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._run_self_tests()
                self.loop_once()
            except DeviceDisconnected:
                self._stop.wait(RECONNECT_PAUSE_S)

    def loop_once(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release the driver."""


class CardWorker(_Worker):
    """Polls the ID-card reader; reports each card once per presentation."""

    name = "idcard"

    def __init__(self, device: Device, post: Post, watch: _LinkWatch) -> None:
        super().__init__(post)
        self._watch = watch
        self.reader = IdCardReader(
            device.port,
            baudrate=device.baudrate or idcard_device.DEFAULT_BAUDRATE,
            on_link_change=watch,
        )
        self._last_card: bytes | None = None  # a digest, never the number itself
        self._absent_polls = 0

    def loop_once(self) -> None:
        started = time.monotonic()
        try:
            card = self.reader.read_card(timeout_s=CARD_POLL_S)
        except DeviceDisconnected:
            raise
        except DriverError as error:
            self._post(adapters.card_fault(error))
            return
        if card is None:
            self._absent_polls += 1
            if self._absent_polls >= ABSENT_POLLS_BEFORE_REREAD:
                self._last_card = None
            return
        self._absent_polls = 0
        digest = hashlib.sha256(card.id_number.encode()).digest()
        if digest == self._last_card:
            return
        self._last_card = digest
        read_ms = (time.monotonic() - started) * 1000
        self._post(adapters.card_identity(card, read_ms=read_ms, today=date.today()))

    def self_test(self, *, measure: bool) -> SelfTestReport:
        return self.reader.self_test(SELF_TEST_TIMEOUT_S)

    def close(self) -> None:
        self.reader.close()


class QrScanWorker(_Worker):
    """Reads the serial QR scanner; tokens are dropped here, only kind and length go on."""

    name = "qrscan"

    def __init__(self, device: Device, post: Post, watch: _LinkWatch) -> None:
        super().__init__(post)
        self._menu = device.protocol == "honeywell"  # plain suffix scanners have no query
        options = dict(device.options)
        self.scanner = QrScanner(
            device.port,
            suffix=Suffix.parse(str(options.get("suffix", "CR"))).value,
            baudrate=device.baudrate or qrscan_device.DEFAULT_BAUDRATE,
            on_link_change=watch,
        )

    def loop_once(self) -> None:
        scanned = self.scanner.scan(timeout_s=QR_POLL_S)
        if scanned is not None:
            self._post(adapters.qr_shown(scanned))

    def self_test(self, *, measure: bool) -> SelfTestReport:
        return self.scanner.self_test(SELF_TEST_TIMEOUT_S, menu=self._menu)

    def close(self) -> None:
        self.scanner.close()


class BpWorker(_Worker):
    """Runs measurements on request; abort is checked between the meter's events."""

    name = "bp"

    def __init__(self, device: Device, post: Post, watch: _LinkWatch) -> None:
        super().__init__(post)
        self._watch = watch
        self.protocol = device.protocol
        self.meter = BloodPressureMeter(
            device.port, protocol=device.protocol, baudrate=device.baudrate, on_link_change=watch
        )
        self._requests: queue.Queue[Command] = queue.Queue(maxsize=8)
        self._abort = threading.Event()

    def request(self, command: Command) -> None:
        """START_BP or ABORT_BP from the session."""
        if command is Command.ABORT_BP:
            self._abort.set()
            return
        self._abort.clear()
        try:
            self._requests.put_nowait(command)
        except queue.Full:
            log.warning("measurement requests are piling up; ignoring one")

    def stop(self) -> None:
        self._abort.set()
        super().stop()

    def loop_once(self) -> None:
        if not self.meter.connected:
            self.meter.connect()  # at boot: a missing meter shows before a resident needs it
        try:
            self._requests.get(timeout=SELF_TEST_POLL_S)
        except queue.Empty:
            return
        if self._abort.is_set():
            return
        events = self.meter.measure_events(BP_TIMEOUT_S)
        try:
            for event in events:
                if self._abort.is_set():
                    break  # closing the generator aborts the measurement on the meter
                if isinstance(event, BpResult):
                    self._post(adapters.bp_measured(event, self.protocol))
                else:
                    self._post(i.CuffPressure(event.mmhg))
        except DriverError as error:
            self._watch.fault(error)
        finally:
            events.close()

    def self_test(self, *, measure: bool) -> SelfTestReport:
        return self.meter.self_test(SELF_TEST_TIMEOUT_S, measure=measure)

    def close(self) -> None:
        self.meter.close()


class PrinterWorker(_Worker):
    """Prints the session's slips one at a time; between jobs it watches paper and cover, so a
    paper-out shows on diagnostics (and at the city) before a resident presses print."""

    name = "printer"

    def __init__(self, device: Device, post: Post, watch: _LinkWatch) -> None:
        super().__init__(post)
        self._watch = watch
        self.width = paper_width(dict(device.options))
        self.printer = ReceiptPrinter(
            device.port,
            baudrate=device.baudrate or printer_device.DEFAULT_BAUDRATE,
            on_link_change=watch,
        )
        self._jobs: queue.Queue[PrintJob] = queue.Queue(maxsize=MAX_QUEUED_PRINTS)
        self._faults: tuple[str, ...] | None = None  # None: not known since the link (re)opened
        self._next_status_s = 0.0

    def request(self, job: PrintJob) -> None:
        """Queue a slip; a full queue answers at once that it was not printed."""
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            log.warning("print jobs are piling up; refusing one")
            self._post(i.PrintFinished(job.job_id, "unavailable"))

    def loop_once(self) -> None:
        try:
            self._loop_once()
        except DeviceDisconnected:
            self._faults = None  # after the reconnect, paper and cover are reported afresh
            raise

    def _loop_once(self) -> None:
        try:
            job = self._jobs.get(timeout=SELF_TEST_POLL_S)
        except queue.Empty:
            if time.monotonic() >= self._next_status_s:
                self._watch_status()
            return
        self._print(job)

    def _watch_status(self) -> None:
        self._next_status_s = time.monotonic() + PRINTER_STATUS_EVERY_S
        try:
            status = self.printer.status(PRINT_STATUS_TIMEOUT_S)
        except DeviceDisconnected:
            raise
        except DriverError as error:
            self._report((type(error).__name__,), error)
            return
        self._report_status(status)

    def _report_status(self, status: PrinterStatus) -> None:
        faults = status.faults()
        self._report(tuple(f"0x{f.code:X}" for f in faults), faults[0] if faults else None)

    def _report(self, keys: tuple[str, ...], error: DriverError | None) -> None:
        # one device.fault per new condition, one device.recovered when all have cleared
        before, self._faults = self._faults, keys
        if keys == before:
            return
        if error is not None:
            self._watch.fault(error)
        elif before:
            self._watch.recovered()

    def _print(self, job: PrintJob) -> None:
        try:
            data = render(receipt_of(job, self.width))
        except ValueError as error:  # the encoder refused it (text that looks like an ID)
            log.error("slip %s not printed: %s", job.kind, error)
            self._post(i.PrintFinished(job.job_id, "unavailable"))
            return
        outcome: i.PrintOutcome = "unavailable"
        try:
            self.printer.print_bytes(data, timeout_s=PRINT_STATUS_TIMEOUT_S)
            # Asked again after the receipt: a roll that ran out half-way cut the slip short.
            after = self.printer.status(PRINT_STATUS_TIMEOUT_S)
            self._report_status(after)
            outcome = "done" if after.can_print else "unavailable"
        except DeviceDisconnected:
            raise
        except DriverError as error:
            key = (
                f"0x{error.code:X}" if isinstance(error, DeviceFaultError) else type(error).__name__
            )
            self._report((key,), error)
        finally:
            self._next_status_s = time.monotonic() + PRINTER_STATUS_EVERY_S
            self._post(i.PrintFinished(job.job_id, outcome))

    def self_test(self, *, measure: bool) -> SelfTestReport:
        return self.printer.self_test(SELF_TEST_TIMEOUT_S)

    def close(self) -> None:
        self.printer.close()


class DeviceHub:
    """Starts a worker per configured device and routes the session's device commands."""

    def __init__(
        self, config: KioskConfig, post: Post, *, states: DeviceStateSink | None = None
    ) -> None:
        self._post = post
        self._states = states
        self.workers: dict[str, _Worker] = {}
        self.camera_config: Camera = config.camera
        makers: dict[str, Callable[[Device, Post, _LinkWatch], _Worker]] = {
            "idcard": CardWorker,
            "bp": BpWorker,
            "qrscan": QrScanWorker,
            "printer": PrinterWorker,
        }
        self._simulators: dict[str, PtySimulatorHost] = {}
        self._camera: CameraScanner | None = None
        self._configured = {k for k, d in config.devices.items() if d.enabled and k in makers}
        for kind, device in config.devices.items():
            if not device.enabled or kind not in makers:
                continue
            attached = self._attach_simulator(kind, device)
            watch = _LinkWatch(kind, post, states)  # type: ignore[arg-type]
            try:
                self.workers[kind] = makers[kind](attached, post, watch)
            except DriverError as error:
                log.warning("device %s unavailable at start: %s", kind, error)
                watch.fault(error)

    def _attach_simulator(self, kind: str, device: Device) -> Device:
        # A sim:// device gets its simulator here, on a pty the hub owns, so that the dev panel
        # can drive it and the driver opens a plain tty path exactly as in the field.
        if not is_sim_url(device.port):
            return device
        host = PtySimulatorHost(simulator_for_url(device.port))
        host.start()
        self._simulators[kind] = host
        return dataclasses.replace(device, port=host.port_path)

    def start(self) -> None:
        """Start every worker thread."""
        for worker in self.workers.values():
            worker.start()

    def stop(self) -> None:
        """Stop every worker and close the ports."""
        for worker in self.workers.values():
            worker.stop()
        for host in self._simulators.values():
            host.stop()
        self.set_camera_active(False)

    def execute(self, command: Command) -> None:
        """Carry out a command from a session step."""
        bp = self.workers.get("bp")
        if command in (Command.START_BP, Command.ABORT_BP):
            if isinstance(bp, BpWorker):
                bp.request(command)
            else:
                self._post(i.DeviceFault("bp", "disconnected", None, "no meter configured"))
            return
        if command is Command.PRINT:
            raise ValueError("PRINT carries a job: call print_slip(session.take_print_job())")
        device = SELF_TEST_DEVICES.get(command)
        if device is not None:
            self.self_test(device, measure=command is Command.SELF_TEST_BP_MEASURE)

    def print_slip(self, job: PrintJob) -> None:
        """Hand a slip to the printer worker; PrintFinished comes back (at once if no printer)."""
        printer = self.workers.get("printer")
        if isinstance(printer, PrinterWorker):
            printer.request(job)
        else:
            self._post(i.PrintFinished(job.job_id, "unavailable"))

    def configured_devices(self) -> tuple[i.DeviceName, ...]:
        """The devices this kiosk has (enabled in config, camera with a source)."""
        serial: tuple[i.DeviceName, ...] = ("idcard", "bp", "qrscan", "printer")
        names = [kind for kind in serial if kind in self._configured]
        if self.camera_config.source is not None:
            names.append("camera")
        return tuple(names)

    def self_test(self, device: i.DeviceName, *, measure: bool = False) -> None:
        """Run one device's self-test; its SelfTestDone is posted when it finishes."""
        if device == "camera":
            threading.Thread(
                target=self._camera_self_test, name="camera-self-test", daemon=True
            ).start()
            return
        worker = self.workers.get(device)
        if worker is not None:
            worker.request_self_test(measure=measure)
            return
        detail = "unavailable since start" if device in self._configured else "not configured"
        self._post(i.SelfTestDone(SelfTestReport.of(device, [Check("port", False, detail)], 0.0)))

    def _camera_self_test(self) -> None:
        scanner = self._camera
        if scanner is not None:  # running (diagnostics screen): look at its frames, do not reopen
            self._post(i.SelfTestDone(scanner.self_test(SELF_TEST_TIMEOUT_S)))
            return
        if self.camera_config.source is None:
            report = SelfTestReport.of("camera", [Check("frame", False, "not configured")], 0.0)
            self._post(i.SelfTestDone(report))
            return
        from drivers.camera.check import self_test_source
        from drivers.camera.source import open_source

        try:
            source = open_source(self.camera_config.source)
        except (OSError, ValueError) as error:
            check = Check("frame", False, f"cannot open: {type(error).__name__}")
            self._post(i.SelfTestDone(SelfTestReport.of("camera", [check], 0.0)))
            return
        try:
            self._post(i.SelfTestDone(self_test_source(source, SELF_TEST_TIMEOUT_S)))
        finally:
            source.close()

    def warm_up(self) -> None:
        """Import the camera's OpenCV stack (0.1 s) ahead of the first identify screen; the
        kiosk calls this on a thread after its first frame (docs/design.md §3)."""
        if self.camera_config.source is not None:
            import drivers.camera.scanner  # noqa: F401

    def set_camera_active(self, active: bool) -> None:
        """Run the camera only while it is needed (identifying, diagnostics): it costs a core."""
        if active == (self._camera is not None) or self.camera_config.source is None:
            return
        if not active:
            assert self._camera is not None
            self._camera.stop()
            self._camera = None
            return
        from drivers.camera.backends import make_decoder
        from drivers.camera.scanner import CameraScanner
        from drivers.camera.source import open_source

        try:
            source = open_source(self.camera_config.source)
        except (OSError, ValueError) as error:
            self._post(i.DeviceFault("camera", "disconnected", None, str(error)[:200]))
            return
        self._camera = CameraScanner(
            source,
            make_decoder(self.camera_config.backend),
            on_scan=lambda scanned: self._post(adapters.qr_shown(scanned)),
        )
        self._camera.start()

    @property
    def camera(self) -> CameraScanner | None:
        """The running camera scanner (for a small diagnostics preview), if active."""
        return self._camera

    def simulator(self, kind: str) -> PtySimulatorHost | None:
        """The simulator standing in for a sim:// device (dev panel, tests), if any."""
        return self._simulators.get(kind)
