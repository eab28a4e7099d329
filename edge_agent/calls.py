"""The agent's half of online calls: the kiosk's call files to the city and answers back.

The channel is common/kiosk_agent.py's `DATA_DIR/calls/` (docs/points.md). Each step the agent
takes new `<call_id>.call.json` files (renamed to `.pending.json`, so a restart still answers
them), publishes each while connected (MQTT 5: Response Topic and Correlation Data; 3.1.1:
`reply_to` in the payload), and writes `<call_id>.answer.json` with the city's answer, or with
`timeout` (sent, no answer by `expires_at`) or `offline` (never sent: no connection). A call
is published again after a reconnect (the agent's session is clean, so an answer published
while it was away is lost) and every RESEND_AFTER_S while unanswered (the city's side may
have lost it); that is safe because the city answers a repeated call with the same outcome
(redemptions are idempotent on redemption_id). Calls never enter the outbox.

Both directions are outside input: call files come from the kiosk process (another user),
answers from the broker; both are capped, parsed strictly and schema-checked.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from common.kiosk_agent import (
    ANSWER_SUFFIX,
    CALL_SUFFIX,
    MAX_ANSWER_BYTES,
    MAX_CALL_BYTES,
    PENDING_SUFFIX,
    answer_path,
    calls_dir,
    pending_path,
    read_bounded_object,
    write_atomically,
)
from edge_agent.boundedjson import MalformedJson, loads_bounded
from edge_agent.contract import ContractError, format_ts, parse_ts, validate_answer, validate_call

log = logging.getLogger(__name__)

SCAN_EVERY_S = 0.05
# An unanswered call is published again after this long, on the same connection too: the city's
# broker or responders may have restarted and lost it (a shared subscription with no member
# drops it). Safe, because the city answers a repeat with the same outcome.
RESEND_AFTER_S = 4.0
MAX_PENDING = 16  # one resident at one screen: more at once is a fault or abuse
STALE_ANSWER_S = 120.0  # an answer the kiosk never took (it crashed) is removed after this
MAX_DEPTH = 8
MAX_CALL_TTL_S = 300.0


class Publishing(Protocol):
    """What the relay needs of the MQTT link (edge_agent.link.MqttLink)."""

    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        retain: bool = False,
        response_topic: str | None = None,
        correlation_data: bytes | None = None,
    ) -> int:
        """QoS 1 publish; LinkError when not connected."""
        ...


@dataclass
class PendingCall:
    """A call taken from the kiosk and not answered yet."""

    body: dict[str, Any]
    expires_at: float  # epoch seconds
    sent_on: int = 0  # the connection number it was last published on (0: never)
    sent_at: float = 0.0  # when (epoch seconds)


def local_answer(call_id: str, method: str | None, reason: str, now: float) -> dict[str, Any]:
    """An answer the agent writes itself (common.kiosk_agent.LOCAL_REASONS)."""
    answer: dict[str, Any] = {
        "call_id": call_id,
        "status": "error",
        "answered_at": format_ts(datetime.fromtimestamp(now, UTC)),
        "reason": reason,
        "local": True,
    }
    if method is not None:
        answer["method"] = method
    return answer


class CallRelay:
    """Call files → calls topic, answers topic → answer files; stepped from the agent's loop."""

    def __init__(
        self,
        data_dir: Path,
        calls_topic: str,
        answers_topic: str,
        clock: Callable[[], float],
    ) -> None:
        self.data_dir = data_dir
        self.directory = calls_dir(data_dir)
        self.calls_topic = calls_topic
        self.answers_topic = answers_topic
        self.clock = clock
        self.pending: dict[str, PendingCall] = {}
        self._next_scan = 0.0
        self._next_purge = 0.0
        self._restore()

    # from the kiosk ----------------------------------------------------------------------------

    def _restore(self) -> None:
        """Calls taken before a restart: answered still, or timed out at their expiry."""
        with contextlib.suppress(OSError):
            for path in sorted(self.directory.glob(f"*{PENDING_SUFFIX}")):
                call_id = path.name.removesuffix(PENDING_SUFFIX)
                body = self._checked(path, call_id)
                if body is None:
                    path.unlink(missing_ok=True)
                    continue
                self.pending[call_id] = PendingCall(body, parse_ts(body["expires_at"]).timestamp())

    def _checked(self, path: Path, call_id: str) -> dict[str, Any] | None:
        body = read_bounded_object(path, MAX_CALL_BYTES)
        if body is None or body.get("call_id") != call_id or "reply_to" in body:
            return None
        try:
            validate_call(body)
        except ContractError:
            return None
        return body

    def scan(self, now: float) -> None:
        """Take new call files (throttled); answer at once those that cannot be sent."""
        if now < self._next_scan:
            return
        self._next_scan = now + SCAN_EVERY_S
        try:
            entries = list(os.scandir(self.directory))
        except OSError:
            return
        for entry in entries:
            if entry.name.endswith(CALL_SUFFIX):
                self._take(Path(entry.path), entry.name.removesuffix(CALL_SUFFIX), now)
        if now >= self._next_purge:
            self._next_purge = now + STALE_ANSWER_S / 4
            self._purge(entries, now)

    def _take(self, path: Path, call_id: str, now: float) -> None:
        taken = pending_path(self.data_dir, call_id)
        try:
            os.replace(path, taken)
        except OSError:
            return
        body = self._checked(taken, call_id)
        if body is None:
            log.warning("a call file from the kiosk is not a valid call: answered invalid_call")
            taken.unlink(missing_ok=True)
            if _looks_like_id(call_id):
                self._write(call_id, local_answer(call_id, None, "invalid_call", now))
            return
        expires_at = parse_ts(body["expires_at"]).timestamp()
        if expires_at - now > MAX_CALL_TTL_S:
            taken.unlink(missing_ok=True)
            self._write(call_id, local_answer(call_id, body["method"], "invalid_call", now))
            return
        if call_id in self.pending or len(self.pending) >= MAX_PENDING:
            taken.unlink(missing_ok=True)
            self._write(call_id, local_answer(call_id, body["method"], "busy", now))
            return
        self.pending[call_id] = PendingCall(body, expires_at)

    def _purge(self, entries: list[os.DirEntry[str]], now: float) -> None:
        for entry in entries:
            if not entry.name.endswith(ANSWER_SUFFIX):
                continue
            with contextlib.suppress(OSError):
                if now - entry.stat().st_mtime > STALE_ANSWER_S:
                    os.unlink(entry.path)

    # to the city -------------------------------------------------------------------------------

    def pump(self, link: Publishing | None, connection: int, protocol: str, now: float) -> None:
        """Publish what this connection has not carried yet; time out what has expired."""
        for call_id, call in list(self.pending.items()):
            if now >= call.expires_at:
                reason = "timeout" if call.sent_on else "offline"
                self._finish(call_id, local_answer(call_id, call.body["method"], reason, now))
                log.info("call %s (%s): %s", call_id, call.body["method"], reason)
                continue
            if link is None or (call.sent_on == connection and now - call.sent_at < RESEND_AFTER_S):
                continue
            body = dict(call.body)
            if protocol != "5":
                body["reply_to"] = self.answers_topic  # 3.1.1 has no Response Topic property
            try:
                link.publish(
                    self.calls_topic,
                    json.dumps(body).encode(),
                    response_topic=self.answers_topic,
                    correlation_data=call_id.encode(),
                )
            except ConnectionError:  # LinkError: the agent's loop sees the loss and reconnects
                return
            call.sent_on = connection
            call.sent_at = now

    # from the city -----------------------------------------------------------------------------

    def answer(self, payload: bytes, now: float) -> bool:
        """One message from the answers topic; True if it answered a pending call."""
        try:
            body = loads_bounded(payload, max_bytes=MAX_ANSWER_BYTES, max_depth=MAX_DEPTH)
            validate_answer(body)
        except (MalformedJson, ContractError) as exc:
            log.warning("an answer from the broker is not valid: %s", str(exc)[:120])
            return False
        call = self.pending.get(body["call_id"])
        if call is None:
            return False  # a duplicate, a late one, or not ours: the kiosk has its answer
        if "method" in body and body["method"] != call.body["method"]:
            log.warning("an answer for call %s names another method: ignored", body["call_id"])
            return False
        self._finish(body["call_id"], body)
        return True

    def _finish(self, call_id: str, answer: dict[str, Any]) -> None:
        self.pending.pop(call_id, None)
        self._write(call_id, answer)
        pending_path(self.data_dir, call_id).unlink(missing_ok=True)

    def _write(self, call_id: str, answer: dict[str, Any]) -> None:
        try:
            write_atomically(answer_path(self.data_dir, call_id), answer)
        except OSError as exc:
            log.error("could not write the answer to call %s: %s", call_id, exc)


def _looks_like_id(text: str) -> bool:
    return len(text) == 36 and all(c in "0123456789abcdef-" for c in text)
