"""High-level ID-card reader: `read_card`, `sam_id`, `status`, `reset` over a reconnecting port."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from common.backoff import Backoff
from common.selftest import SelfTestReport
from drivers.idcard.card import IdCard
from drivers.idcard.decoder import FrameDecoder
from drivers.idcard.frames import READ_SAM_ID, RESET, STATUS, Command, Response, format_sam_id
from drivers.idcard.protocol import Done, ReaderProtocol, Send
from drivers.link import SerialLink
from drivers.reconnect import LinkStateListener, ReconnectingLink
from drivers.selftest import CheckRunner

DEFAULT_BAUDRATE = 115200  # the SAM link's default (docs/design.md §2.1); defined only here
# Longest single blocking read, so a stuck port never hides a deadline for long.
MAX_READ_SLICE_S = 0.5


class IdCardReader:
    """A SAM ID-card reader on a serial port; one call at a time (calls are serialised).

    `baudrate=None` means the reader's default, so callers pass a configured rate or nothing.
    """

    def __init__(
        self,
        url: str,
        *,
        baudrate: int | None = None,
        on_link_change: LinkStateListener | None = None,
        clock: Callable[[], float] = time.monotonic,
        backoff: Backoff | None = None,
        fingerprint: bool = False,
        appended_address: bool = False,
        request_timeout_s: float | None = None,
    ) -> None:
        self._clock = clock
        self._links = ReconnectingLink(
            url,
            baudrate=baudrate or DEFAULT_BAUDRATE,
            on_change=on_link_change,
            backoff=backoff,
            clock=clock,
        )
        self._decoder = FrameDecoder()
        self._protocol = ReaderProtocol(
            fingerprint=fingerprint,
            appended_address=appended_address,
            request_timeout_s=request_timeout_s,
        )
        self._lock = threading.Lock()
        self.discarded_frames = 0

    @property
    def connected(self) -> bool:
        """True while the port is open."""
        return self._links.connected

    def read_card(self, timeout_s: float) -> IdCard | None:
        """Poll for a card up to `timeout_s` and read it; None when no card was presented.

        A request already sent when the deadline passes still gets its own timeout.
        Raises DeviceDisconnected (the next call reconnects), DeviceTimeout or a SamFault.
        """
        result = self._run(lambda proto, now: proto.start_read_card(now, timeout_s))
        assert result is None or isinstance(result, IdCard)
        return result

    def sam_id(self) -> str:
        """The SAM module's id, formatted as vendors print it."""
        return format_sam_id(self._single(READ_SAM_ID).data)

    def status(self) -> str:
        """ "ok" when the SAM reports itself ready; a SamFault otherwise."""
        self._single(STATUS)
        return "ok"

    def self_test(self, timeout_s: float = 3.0) -> SelfTestReport:
        """Ask the SAM for its status and its id; every problem is a failed check, not raised."""
        runner = CheckRunner(self._clock)
        deadline_s = self._clock() + timeout_s
        if runner.run("sam_status", self.status) and self._clock() < deadline_s:
            runner.run("sam_id", self.sam_id)  # the id identifies the module, not a person
        elif not runner.failed:
            runner.add("sam_id", False, "not run: the time budget was used up")
        return runner.report("idcard")

    def reset(self) -> None:
        """Reset the SAM module."""
        self._single(RESET)

    def close(self) -> None:
        """Close the port for good."""
        self._links.close()

    def __enter__(self) -> IdCardReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _single(self, command: Command) -> Response:
        result = self._run(lambda proto, now: proto.start_request(command, now))
        assert isinstance(result, Response)
        return result

    def _drop_stale_input(self, link: SerialLink) -> None:
        """Discard a late answer to an earlier attempt so it is not taken for the next one."""
        link.reset_input()
        self._decoder.reset()

    def _run(self, start: Callable[[ReaderProtocol, float], None]) -> IdCard | Response | None:
        with self._lock:
            link = self._links.acquire()
            protocol = self._protocol
            start(protocol, self._clock())
            try:
                with self._links.reporting_loss():
                    while True:
                        now = self._clock()
                        action = protocol.poll(now)
                        if isinstance(action, Done):
                            return action.result
                        if isinstance(action, Send):
                            self._drop_stale_input(link)
                            link.write(action.data)
                            continue
                        data = link.read(max(0.0, min(action.until_s - now, MAX_READ_SLICE_S)))
                        for item in self._decoder.feed(data):
                            if not isinstance(item, Command | Response):
                                self.discarded_frames += 1
                            protocol.receive(item, self._clock())
            except BaseException:
                protocol.abort()
                raise
