"""The session's EventSink over the edge agent's durable outbox."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from edge_agent.contract import ContractError
from edge_agent.outbox import Outbox, OutboxError, OutboxFull
from kiosk.core.events import EventSinkError

log = logging.getLogger(__name__)


class OutboxSink:
    """put() returns once the event is durable; anything that keeps it out is EventSinkError."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.full_reason: str | None = None  # shown on the diagnostics screen

    def put(self, event_type: str, data: dict[str, Any]) -> None:
        """Store one event durably (the agent sends it when it can)."""
        try:
            self.outbox.put(event_type, data)
        except OutboxFull as exc:
            self.full_reason = exc.reason
            raise EventSinkError(f"outbox full ({exc.reason})") from exc
        except ContractError as exc:
            # The envelope is built and checked here: a core bug must cost one event, never the
            # resident's session. Only the location goes on: the message may quote the value.
            log.error("event %s refused by the contract at %s", event_type, exc.path or "?")
            raise EventSinkError(f"event refused by the contract at {exc.path or '?'}") from None
        except (OutboxError, sqlite3.Error, OSError) as exc:
            raise EventSinkError(f"outbox unavailable: {type(exc).__name__}") from exc
        self.full_reason = None

    def set_device_state(self, device: str, state: str) -> None:
        """Device states for the agent's heartbeat."""
        try:
            self.outbox.set_device_state(device, state)
        except (OutboxError, sqlite3.Error, OSError) as exc:
            log.warning("could not record the %s state: %s", device, type(exc).__name__)
