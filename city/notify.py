"""Notifiers behind one interface: the log always, a webhook POST when configured.

A notifier never raises into the sweeper: a failed webhook is logged (the alert stays stored,
and `python -m city alerts` shows it either way).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any, Protocol

from city.rules import Transition

log = logging.getLogger("city.alerts")


def transition_document(transition: Transition) -> dict[str, Any]:
    """The JSON body of one alert transition."""
    alert = transition.alert
    return {
        "transition": transition.kind,
        "id": alert.id,
        "kiosk": alert.kiosk,
        "rule": alert.rule,
        "subject": alert.subject,
        "state": alert.state,
        "message": alert.message,
        "opened_at": alert.opened_at.isoformat(),
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
    }


class Notifier(Protocol):
    """Something that hears of alert transitions."""

    def notify(self, transitions: Sequence[Transition]) -> None:
        """Deliver; never raise."""


class LogNotifier:
    """One log line per transition."""

    def notify(self, transitions: Sequence[Transition]) -> None:
        """Log each transition."""
        for t in transitions:
            a = t.alert
            subject = f"[{a.subject}]" if a.subject else ""
            log.warning(
                "alert %s %s: %s %s%s: %s", a.id, t.kind, a.kiosk, a.rule, subject, a.message
            )


class WebhookNotifier:
    """POST `{"alerts": [...]}` as JSON to a URL, with a timeout."""

    def __init__(self, url: str, timeout_s: float) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("webhook URL must be http:// or https://")
        self.url = url
        self.timeout_s = timeout_s

    def notify(self, transitions: Sequence[Transition]) -> None:
        """One POST for the lot; a failure is logged, not raised."""
        if not transitions:
            return
        body = json.dumps({"alerts": [transition_document(t) for t in transitions]}).encode()
        request = urllib.request.Request(  # noqa: S310 — scheme checked in __init__
            self.url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 — as above
                response.read(1024)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            log.warning("webhook %s failed: %s", self.url, type(exc).__name__)
