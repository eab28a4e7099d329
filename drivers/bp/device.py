"""The blood-pressure meter as the kiosk sees it: `measure()` over any registered protocol.

Owns one ReconnectingLink; a lost port raises DeviceDisconnected and the next call reopens it.
Every request has a deadline (the protocol session's), so no call blocks past `timeout_s`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Generator

from common.backoff import Backoff
from common.selftest import SelfTestReport
from drivers.bp.events import BpResult, CuffPressure, DecodedItem, DeviceAck
from drivers.bp.protocol import SessionOutput, get_protocol
from drivers.errors import DeviceDisconnected, DeviceTimeout, FrameError
from drivers.link import SerialLink
from drivers.reconnect import LinkStateListener, ReconnectingLink
from drivers.selftest import CheckFailed, CheckRunner
from drivers.simulation import PtySimulatorHost

log = logging.getLogger(__name__)

DEFAULT_MEASUREMENT_TIMEOUT_S = 180.0
ACK_TIMEOUT_S = 1.0
# Reads are sliced this short so that ticks (polls, deadlines) are never late by more.
READ_SLICE_S = 0.05
# A frame's bytes arrive back to back (24 bytes ≈ 25 ms at 9600 baud): a partial frame that
# stays quiet this long is a corrupt header, so drop it and rescan instead of waiting forever.
PARTIAL_FRAME_TIMEOUT_S = 0.15
# After a loss, wait for the first reopen attempt only if it is this close; else fail fast.
RECONNECT_WAIT_MAX_S = 1.0
# An idle meter whose cuff holds more than this is stuck (valve or kinked hose): a failed self-test.
IDLE_CUFF_MAX_MMHG = 10


class BloodPressureMeter:
    """One BP meter on one port, speaking the protocol named in config."""

    def __init__(
        self,
        url: str,
        *,
        protocol: str = "suntech",
        baudrate: int | None = None,
        on_link_change: LinkStateListener | None = None,
        clock: Callable[[], float] = time.monotonic,
        backoff: Backoff | None = None,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self.protocol = get_protocol(protocol)
        self._clock = clock
        self._closed = threading.Event()
        # The one wait outside a read: pass `sleep` with a fake `clock` so that both agree.
        self._sleep = sleep or self._closed.wait
        self._link = ReconnectingLink(
            url,
            baudrate=baudrate or self.protocol.baudrate,
            on_change=on_link_change,
            backoff=backoff,
            clock=clock,
        )
        self.discarded_frames = 0

    @property
    def connected(self) -> bool:
        """True while the port is open."""
        return self._link.connected

    @property
    def simulator(self) -> PtySimulatorHost | None:
        """The in-process simulator behind a `sim://` URL while connected (dev panels, tests)."""
        return self._link.acquire().simulator if self._link.connected else None

    def connect(self) -> None:
        """Open the port now rather than on the first measurement."""
        self._acquire()

    def measure(
        self,
        on_cuff_pressure: Callable[[int], None] | None = None,
        timeout_s: float = DEFAULT_MEASUREMENT_TIMEOUT_S,
    ) -> BpResult:
        """Run one measurement, reporting live cuff pressure in mmHg; the device's result.

        A device-reported error is a BpResult with `error_key`, not an exception. Raises
        DeviceTimeout, DeviceDisconnected or DeviceFault (meter refused to start).
        """
        for event in self.measure_events(timeout_s):
            if isinstance(event, CuffPressure):
                if on_cuff_pressure is not None:
                    on_cuff_pressure(event.mmhg)
            else:
                return event
        raise DeviceTimeout("the measurement ended without a result")  # unreachable in practice

    def measure_events(
        self, timeout_s: float = DEFAULT_MEASUREMENT_TIMEOUT_S
    ) -> Generator[CuffPressure | BpResult, None, None]:
        """Run one measurement as a stream: cuff pressures, then exactly one BpResult.

        Closing the iterator early aborts the measurement on the meter (where it can be).
        """
        link = self._acquire()
        self._reset_input(link)  # a reading left from before this session is not this resident's
        decoder = self.protocol.new_decoder()
        session = self.protocol.new_session(timeout_s)
        got_result = False
        try:
            out = session.begin(self._clock())
            last_rx_s = self._clock()
            while True:
                self._send(link, out)
                if out.cuff is not None:
                    yield out.cuff
                if out.result is not None:
                    got_result = True
                    yield out.result
                    return
                out = session.on_tick(self._clock())
                if out.send or out.cuff or out.result:
                    continue
                wait_s = min(max(session.wake_at_s - self._clock(), 0.0), READ_SLICE_S)
                data = self._read(link, wait_s)
                now = self._clock()
                if data:
                    last_rx_s = now
                    items = decoder.feed(data)
                elif decoder.pending and now - last_rx_s >= PARTIAL_FRAME_TIMEOUT_S:
                    items = decoder.expire_partial()
                else:
                    continue
                out = self._apply(session.on_event, items, now)
        finally:
            if not got_result and self._link.connected:
                self._abort_quietly(link)

    def self_test(
        self, timeout_s: float = ACK_TIMEOUT_S, *, measure: bool = False
    ) -> SelfTestReport:
        """Port, then the meter's own status (cuff deflated, not busy) where the protocol can ask.

        A measurement runs only with `measure=True` (a technician asked for one explicitly); its
        values stay out of the report. Problems are failed checks, never raised.
        """
        runner = CheckRunner(self._clock)
        if not runner.run("port", lambda: (self._acquire(), "open")[1]):
            return runner.report("bp")
        if self.protocol.status_request:
            runner.run("device_status", lambda: self._idle_status(timeout_s))
        else:
            runner.add("device_status", True, "push-only meter: the protocol has no status query")
        if measure and not runner.failed:
            runner.run("measurement", self._test_measurement)
        return runner.report("bp")

    def _idle_status(self, timeout_s: float) -> str:
        link = self._acquire()
        self._reset_input(link)
        self._write(link, self.protocol.status_request)
        decoder = self.protocol.new_decoder()
        deadline_s = self._clock() + timeout_s
        while (remaining_s := deadline_s - self._clock()) > 0:
            for item in decoder.feed(self._read(link, min(remaining_s, READ_SLICE_S))):
                if isinstance(item, CuffPressure):
                    if item.mmhg > IDLE_CUFF_MAX_MMHG:
                        raise CheckFailed(f"cuff holds {item.mmhg} mmHg while idle (valve/hose?)")
                    return f"answering; cuff {item.mmhg} mmHg"
                if isinstance(item, DeviceAck):
                    raise CheckFailed(f"the meter answered {item.code!r}: {item.meaning}")
        raise DeviceTimeout("no answer to the status request")

    def _test_measurement(self) -> str:
        result = self.measure()
        if result.error_key is not None:
            raise CheckFailed(f"the meter reported {result.error_key}")
        return "a reading was taken"

    def abort(self, timeout_s: float = ACK_TIMEOUT_S) -> None:
        """Stop a measurement on the meter and deflate; no-op for push-only meters."""
        if not self.protocol.abort_request:
            return
        link = self._acquire()
        self._write(link, self.protocol.abort_request)
        decoder = self.protocol.new_decoder()
        deadline_s = self._clock() + timeout_s
        while (remaining_s := deadline_s - self._clock()) > 0:
            data = self._read(link, min(remaining_s, READ_SLICE_S))
            if any(isinstance(item, DeviceAck) for item in decoder.feed(data)):
                return
        raise DeviceTimeout("no reply to the abort request")

    def close(self) -> None:
        """Close the port for good (a wait for a reopen ends at once)."""
        self._closed.set()
        self._link.close()

    def __enter__(self) -> BloodPressureMeter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _apply(
        self,
        on_event: Callable[[DecodedItem, float], SessionOutput],
        items: list[DecodedItem],
        now_s: float,
    ) -> SessionOutput:
        """Feed decoded items to the session and merge what it asks for into one output."""
        send = b""
        cuff: CuffPressure | None = None
        for item in items:
            if isinstance(item, FrameError):
                self.discarded_frames += 1
                log.debug("bp: discarded %d bytes (%s)", item.length, item.reason)
                continue
            out = on_event(item, now_s)
            send += out.send
            cuff = out.cuff or cuff
            if out.result is not None:
                return SessionOutput(send=send, cuff=cuff, result=out.result)
        return SessionOutput(send=send, cuff=cuff)

    def _acquire(self) -> SerialLink:
        try:
            return self._link.acquire()
        except DeviceDisconnected:
            wait_s = self._link.next_attempt_s - self._clock()
            if not 0 < wait_s <= RECONNECT_WAIT_MAX_S:
                raise
        self._sleep(wait_s)  # the reopen is due within a second: worth one wait
        return self._link.acquire()

    def _reset_input(self, link: SerialLink) -> None:
        with self._link.reporting_loss():
            link.reset_input()

    def _send(self, link: SerialLink, out: SessionOutput) -> None:
        if out.send:
            self._write(link, out.send)

    def _write(self, link: SerialLink, data: bytes) -> None:
        with self._link.reporting_loss():
            link.write(data)

    def _read(self, link: SerialLink, timeout_s: float) -> bytes:
        with self._link.reporting_loss():
            return link.read(timeout_s)

    def _abort_quietly(self, link: SerialLink) -> None:
        """Best effort on the way out of a failed or abandoned measurement: deflate the cuff."""
        if self.protocol.abort_request:
            with contextlib.suppress(DeviceDisconnected):
                self._write(link, self.protocol.abort_request)
