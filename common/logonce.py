"""Log once when something is lost and once when it is back, never once per failed attempt.

A kiosk whose broker or serial port is gone retries every few seconds for hours; a log line
per attempt would bury everything else (the Home Assistant rule: log once when unavailable,
once when back). `reason` is a short, secret-free string from our own code; it is still cut
to REASON_MAX_CHARS because it may quote a peer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

REASON_MAX_CHARS = 120


@dataclass
class LogOnce:
    """Tracks up/down for one `subject` ("broker", "device /dev/ttyUSB0") and logs transitions."""

    logger: logging.Logger
    subject: str
    up: bool | None = None
    failures: int = 0

    def went_up(self, reason: str = "") -> bool:
        """It is reachable; returns True if that is news (first time, or back after a loss)."""
        news = self.up is not True
        if self.up is False:
            self.logger.warning(
                "%s reachable again after %d failed attempts%s",
                self.subject,
                self.failures,
                _suffix(reason),
            )
        elif self.up is None:
            self.logger.info("%s reachable%s", self.subject, _suffix(reason))
        self.up = True
        self.failures = 0
        return news

    def went_down(self, reason: str) -> bool:
        """An attempt failed or it was lost; returns True if that is news (logged once)."""
        self.failures += 1
        news = self.up is not False
        if news:
            self.logger.warning(
                "%s unreachable (%s); retrying with backoff",
                self.subject,
                reason[:REASON_MAX_CHARS],
            )
        self.up = False
        return news


def _suffix(reason: str) -> str:
    return f" ({reason[:REASON_MAX_CHARS]})" if reason else ""
