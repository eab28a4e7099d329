"""Reopening a lost port with full-jitter exponential backoff, reporting loss and recovery once.

The backoff and the log-once rule are the shared ones in `common/` (the edge agent uses them too).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator

from common.backoff import Backoff
from common.logonce import LogOnce
from drivers.errors import DeviceDisconnected
from drivers.link import SerialLink

log = logging.getLogger(__name__)

INITIAL_BACKOFF_S = 0.2
MAX_BACKOFF_S = 10.0


LinkStateListener = Callable[[bool, str], None]
"""Called as listener(connected, reason) once on loss and once on recovery."""


class ReconnectingLink:
    """Owns one port; `acquire()` hands out an open link, `lost()` reports a failure."""

    def __init__(
        self,
        url: str,
        *,
        baudrate: int,
        on_change: LinkStateListener | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
        opener: Callable[[str, int], SerialLink] | None = None,
    ) -> None:
        self.url = url
        self.baudrate = baudrate
        self._on_change = on_change
        self._backoff = backoff or Backoff(INITIAL_BACKOFF_S, MAX_BACKOFF_S)
        self._clock = clock
        self._open = opener or (lambda url, baud: SerialLink(url, baudrate=baud))
        self._link: SerialLink | None = None
        self._state_log = LogOnce(log, f"device {url}")
        self._next_attempt_s = 0.0
        self._lock = threading.Lock()

    @property
    def connected(self) -> bool:
        """True while a link is open."""
        return self._link is not None

    @property
    def next_attempt_s(self) -> float:
        """Clock time of the next reopen attempt after a loss."""
        return self._next_attempt_s

    def acquire(self) -> SerialLink:
        """The open link, reopening it if the backoff allows; DeviceDisconnected otherwise."""
        with self._lock:
            if self._link is not None:
                return self._link
            now = self._clock()
            if now < self._next_attempt_s:
                raise DeviceDisconnected("port not available yet (waiting to retry)")
            try:
                self._link = self._open(self.url, self.baudrate)
            except DeviceDisconnected as exc:
                self._schedule_retry(now)
                self._report(connected=False, reason=str(exc))
                raise
            self._backoff.reset()
            self._report(connected=True, reason="port open")
            return self._link

    def lost(self, reason: str) -> None:
        """Close the current link after a failure and schedule the reopen."""
        with self._lock:
            if self._link is not None:
                self._link.close()
                self._link = None
            self._schedule_retry(self._clock())
            self._report(connected=False, reason=reason)

    @contextlib.contextmanager
    def reporting_loss(self) -> Iterator[None]:
        """I/O on the acquired link inside this block: a DeviceDisconnected marks the link lost
        (closed, reopen scheduled, loss reported once) and then propagates to the caller."""
        try:
            yield
        except DeviceDisconnected as exc:
            self.lost(str(exc))
            raise

    def close(self) -> None:
        """Close for good (no report)."""
        with self._lock:
            if self._link is not None:
                self._link.close()
                self._link = None

    def _schedule_retry(self, now: float) -> None:
        self._next_attempt_s = now + self._backoff.next_delay_s()

    def _report(self, *, connected: bool, reason: str) -> None:
        state = self._state_log
        news = state.went_up(reason) if connected else state.went_down(reason)
        if news and self._on_change is not None:
            self._on_change(connected, reason)
