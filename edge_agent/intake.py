"""Bytes from the commands topic to at most one command.result; no input stops the agent.

Anyone who can publish on the commands topic (or replay a captured signed command, which
fails as `replayed` or `expired`) can make the kiosk reject things, and every reported
rejection is a durable event. So rejections are reported through a token bucket and the rest
are only counted; the count goes out in the next heartbeat as
`data.commands_rejected_unreported` (docs/contract decision 7). Commands that pass
verification consume their nonce, so their results cannot be multiplied and are always
reported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from common.ratelimit import TokenBucket
from edge_agent.actions import Actions
from edge_agent.commands import CommandRejected, Verifier, result_data

log = logging.getLogger(__name__)

REJECTED_RESULTS_BURST = 10  # rejections reported at once before the rate applies
REJECTED_RESULTS_REFILL_S = 60.0  # then one more reported rejection per minute


@dataclass
class CommandIntake:
    """Verifies and runs commands; `handle` returns command.result data or None (rate-limited)."""

    verifier: Verifier
    actions: Actions
    rejections: TokenBucket = field(
        default_factory=lambda: TokenBucket(REJECTED_RESULTS_BURST, REJECTED_RESULTS_REFILL_S)
    )
    unreported: int = 0

    def handle(self, payload: bytes, *, now: float, monotonic: float) -> dict[str, Any] | None:
        """command.result data for one message on the commands topic; None if not reported."""
        try:
            command = self.verifier.verify(payload, now)
        except CommandRejected as rejected:
            if not self.rejections.take(monotonic):
                self.unreported += 1
                return None
            log.warning("command rejected: %s", rejected.reason)
            return result_data(
                rejected.command_id, rejected.command_type, "rejected", rejected.reason
            )
        try:
            return self.actions.run(command)
        except OSError as exc:
            return result_data(
                command["id"],
                command["type"],
                "failed",
                "execution_failed",
                {"problem": type(exc).__name__},
            )

    def take_unreported(self) -> int:
        """The count for the next heartbeat; call `restore_unreported` if it was not stored."""
        count, self.unreported = self.unreported, 0
        return count

    def restore_unreported(self, count: int) -> None:
        """Give back a count whose heartbeat was not stored."""
        self.unreported += count
