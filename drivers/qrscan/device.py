"""The serial QR scanner API: `scan(timeout_s)`, trigger control, menu commands, reconnects."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from common.backoff import Backoff
from common.selftest import SelfTestReport
from drivers.errors import DeviceDisconnected, DeviceTimeout, FrameError
from drivers.link import SerialLink
from drivers.qrscan.decoder import LineDecoder, ScannerEvent
from drivers.qrscan.frames import (
    MAX_PAYLOAD_CHARS,
    TRIGGER_OFF,
    TRIGGER_ON,
    MenuReply,
    Suffix,
    encode_menu_command,
)
from drivers.qrscan.token import KindRule, QrScanned
from drivers.reconnect import LinkStateListener, ReconnectingLink
from drivers.selftest import CheckFailed, CheckRunner

log = logging.getLogger(__name__)

DEFAULT_BAUDRATE = 9600  # what serial scanners ship with; defined only here
MENU_REPLY_TIMEOUT_S = 1.0
# Scans read but not yet asked for; older ones are dropped (a resident re-presents a code).
MAX_PENDING_SCANS = 4
READ_SLICE_S = 0.25
# Asks the current trigger mode (`?`): changes nothing, and every menu-capable scanner knows it.
SELF_TEST_QUERY = "TRGMOD?"


class QrScanner:
    """One serial scanner; not thread-safe (one reader thread owns it).

    `baudrate=None` means the scanner's default, so callers pass a configured rate or nothing.
    """

    def __init__(
        self,
        url: str,
        *,
        suffix: bytes | str | Suffix = Suffix.CR,
        baudrate: int | None = None,
        max_payload: int = MAX_PAYLOAD_CHARS,
        on_link_change: LinkStateListener | None = None,
        kind_rules: Sequence[KindRule] = (),
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.suffix = Suffix.parse(suffix)
        self._max_payload = max_payload
        self._rules = tuple(kind_rules)
        self._clock = clock
        self._link = ReconnectingLink(
            url,
            baudrate=baudrate or DEFAULT_BAUDRATE,
            on_change=self._link_changed,
            backoff=backoff,
            clock=clock,
        )
        self._on_link_change = on_link_change
        self._decoder = self._new_decoder()
        self._scans: deque[QrScanned] = deque(maxlen=MAX_PENDING_SCANS)
        self._replies: deque[MenuReply | FrameError] = deque(maxlen=MAX_PENDING_SCANS)
        self._triggered = False
        self._closed = threading.Event()
        self.frame_errors = 0

    def _new_decoder(self) -> LineDecoder:
        return LineDecoder(
            suffix=self.suffix, max_payload=self._max_payload, kind_rules=self._rules
        )

    @property
    def connected(self) -> bool:
        """True while the port is open."""
        return self._link.connected

    def scan(self, timeout_s: float) -> QrScanned | None:
        """The next code read within `timeout_s`, or None; rides out unplugs by reconnecting."""
        deadline = self._clock() + timeout_s
        while not self._scans:
            remaining = deadline - self._clock()
            if remaining <= 0 or self._closed.is_set():
                return None
            self._pump(remaining)
        return self._scans.popleft()

    def trigger(self) -> bool:
        """Start reading (serial trigger mode); False if unplugged (re-sent on reconnect)."""
        self._triggered = True
        return self._send_if_connected(TRIGGER_ON)

    def untrigger(self) -> bool:
        """Stop reading; False if unplugged (a replugged scanner starts untriggered anyway)."""
        self._triggered = False
        return self._send_if_connected(TRIGGER_OFF)

    def _send_if_connected(self, data: bytes) -> bool:
        try:
            self._send(data)
        except DeviceDisconnected:
            return False
        return True

    def configure(
        self, command: str, *, volatile: bool = True, timeout_s: float = MENU_REPLY_TIMEOUT_S
    ) -> MenuReply:
        """Send one menu command (e.g. `TRGMOD0`) and return the scanner's echo.

        DeviceTimeout if no reply comes; a reply with ENQ/NAK statuses is returned, not raised.
        """
        self._replies.clear()
        self._send(encode_menu_command(command, volatile=volatile))
        deadline = self._clock() + timeout_s
        while True:
            while self._replies:
                reply = self._replies.popleft()
                if isinstance(reply, MenuReply):
                    return reply
            remaining = deadline - self._clock()
            if remaining <= 0 or self._closed.is_set():
                raise DeviceTimeout("no reply to the menu command")
            self._pump(remaining)

    def self_test(
        self, timeout_s: float = MENU_REPLY_TIMEOUT_S, *, menu: bool = True
    ) -> SelfTestReport:
        """Port, then (scanners with a serial menu) a harmless query the scanner must echo.

        `menu=False` for plain suffix scanners: their protocol has no query, so only the port is
        checked. Problems are failed checks, never raised.
        """
        runner = CheckRunner(self._clock)
        if not runner.run("port", lambda: (self._acquire(), "open")[1]):
            return runner.report("qrscan")
        if not menu:
            runner.add("status", True, "suffix protocol: no status query; port open")
            return runner.report("qrscan")

        def query() -> str:
            reply = self.configure(SELF_TEST_QUERY, timeout_s=timeout_s)
            if not reply.ok:
                statuses = ",".join(s.name for s in reply.statuses)
                raise CheckFailed(f"the scanner refused the query ({statuses})")
            return "the scanner answered its menu query"

        runner.run("status", query)
        return runner.report("qrscan")

    def close(self) -> None:
        """Release the port; a blocked `scan` returns within one read slice."""
        self._closed.set()
        self._link.close()

    def __enter__(self) -> QrScanner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _send(self, data: bytes) -> None:
        link = self._acquire()
        with self._link.reporting_loss():
            link.write(data)

    def _pump(self, budget_s: float) -> None:
        """Read for at most `budget_s` and decode what arrives, reconnecting if needed."""
        try:
            link = self._acquire()
        except DeviceDisconnected:
            wait_s = min(budget_s, max(0.0, self._link.next_attempt_s - self._clock()))
            self._closed.wait(wait_s)
            return
        try:
            with self._link.reporting_loss():
                data = link.read(min(budget_s, READ_SLICE_S))
        except DeviceDisconnected:
            return  # reported; the next pump reconnects
        for event in self._decoder.feed(data):
            self._dispatch(event)

    def _acquire(self) -> SerialLink:
        was_connected = self._link.connected
        link = self._link.acquire()
        if not was_connected:
            self._decoder = self._new_decoder()  # a partial line from before the loss is void
            if self._triggered:
                with self._link.reporting_loss():
                    link.write(TRIGGER_ON)
        return link

    def _dispatch(self, event: ScannerEvent) -> None:
        if isinstance(event, QrScanned):
            self._scans.append(event)
        elif isinstance(event, MenuReply):
            self._replies.append(event)
        else:
            self.frame_errors += 1
            # Reason and position only: the discarded bytes may hold a payload.
            log.info("qrscan discarded %d bytes (%s)", event.length, event.reason)

    def _link_changed(self, connected: bool, reason: str) -> None:
        if self._on_link_change is not None:
            self._on_link_change(connected, reason)
