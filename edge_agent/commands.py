"""Commands from the city: Ed25519-verified, allow-listed, targeted, expiring, never replayed.

Checks run in this order, and the first failure is the `reason` of the command.result:
malformed (not a command envelope) -> bad_signature -> unknown_type -> malformed (schema) ->
wrong_kiosk -> expired / not_yet_valid -> replayed. Only then is the command executed.
The transport credential alone is never trusted: without a configured key nothing runs.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge_agent.boundedjson import MalformedJson, loads_bounded
from edge_agent.contract import ContractError, format_ts, parse_ts, validate_command
from edge_agent.errors import AgentError

ALLOWED_TYPES = (
    "ping",
    "set_config",
    "run_diagnostics",
    "restart_kiosk",
    "activity_signup_result",
)
MAX_COMMAND_BYTES = 2 * 1024 * 1024  # checked before anything is parsed
MAX_COMMAND_DEPTH = 32  # a command nests 3 levels plus its args; set_config's are flat
ECHO_ID_MAX_CHARS = 64  # command.result.schema.json: command_id maxLength
ECHO_TYPE_MAX_CHARS = 40  # command.result.schema.json: command_type maxLength
# Unverified strings come back in command.result only as this printable-ASCII subset (UUIDs,
# type names); anything else is echoed as null, never cleaned up into something it was not.
ECHO_SAFE_RE = re.compile(r"[A-Za-z0-9._:-]+")
MAX_LIFETIME_S = 7 * 86400.0
NONCE_BYTES = 16

Command = dict[str, Any]


class CommandRejected(AgentError, ValueError):
    """A command that must not run; `reason` is a command.result reason code."""

    def __init__(
        self, reason: str, command_id: str | None = None, command_type: str | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.command_id = command_id
        self.command_type = command_type


def canonical(command: Mapping[str, Any]) -> bytes:
    """The signed bytes: UTF-8 JSON, keys sorted, separators ',' and ':', no whitespace."""
    return json.dumps(command, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def make_command(
    command_type: str,
    target: str,
    args: Mapping[str, Any] | None = None,
    *,
    expires_in_s: float = 300.0,
    now: datetime | None = None,
) -> Command:
    """An unsigned command body with a fresh id and nonce."""
    issued = now or datetime.now(UTC)
    return {
        "id": str(uuid.uuid4()),
        "type": command_type,
        "target": target,
        "issued_at": format_ts(issued),
        "expires_at": format_ts(issued + timedelta(seconds=expires_in_s)),
        "nonce": secrets.token_hex(NONCE_BYTES),
        "args": dict(args or {}),
    }


def sign_command(key: Ed25519PrivateKey, command: Mapping[str, Any]) -> dict[str, Any]:
    """The message for the commands topic: the command and its base64 signature."""
    signature = base64.b64encode(key.sign(canonical(command))).decode("ascii")
    return {"command": dict(command), "signature": signature}


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM file (the city side; tests)."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


def load_public_key(raw_base64: str | None, pem_file: Path | None) -> Ed25519PublicKey | None:
    """The city's public key from config (raw base64 or a PEM file); None if not configured."""
    if raw_base64:
        try:
            return Ed25519PublicKey.from_public_bytes(base64.b64decode(raw_base64, validate=True))
        except (ValueError, binascii.Error):
            raise ValueError("commands.city_public_key is not a base64 Ed25519 key") from None
    if pem_file is not None:
        data = pem_file.read_bytes()
        if b"PRIVATE KEY-----" in data:
            # never derive the public key from a private one: the signing key must not be here
            raise ValueError(
                "commands.city_public_key_file holds a PRIVATE key; give the public key"
            )
        try:
            key: Any = serialization.load_pem_public_key(data)
        except ValueError:
            raise ValueError("commands.city_public_key_file is not a PEM public key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("commands.city_public_key_file is not an Ed25519 key")
        return key
    return None


@dataclass(frozen=True)
class Verifier:
    """Everything a command is checked against."""

    public_key: Ed25519PublicKey | None
    target: str
    max_skew_s: float
    remember_nonce: Callable[[str, float, float], bool]

    def verify(self, payload: bytes, now: float) -> Command:
        """The command if it may run; CommandRejected(reason) otherwise."""
        try:
            message = loads_bounded(
                payload, max_bytes=MAX_COMMAND_BYTES, max_depth=MAX_COMMAND_DEPTH
            )
        except MalformedJson:
            raise CommandRejected("malformed") from None
        body = message.get("command") if isinstance(message, dict) else None
        signature = message.get("signature") if isinstance(message, dict) else None
        if not isinstance(body, dict) or not isinstance(signature, str):
            raise CommandRejected("malformed")
        command_id = echo_safe(body.get("id"), ECHO_ID_MAX_CHARS)
        command_type = echo_safe(body.get("type"), ECHO_TYPE_MAX_CHARS)
        self._check_signature(body, signature, command_id, command_type)
        if command_type not in ALLOWED_TYPES:
            raise CommandRejected("unknown_type", command_id, command_type)
        try:
            validate_command(message)
            issued = parse_ts(body["issued_at"]).timestamp()
            expires = parse_ts(body["expires_at"]).timestamp()
        except (ContractError, ValueError):
            raise CommandRejected("malformed", command_id, command_type) from None
        if expires - issued > MAX_LIFETIME_S or expires < issued:
            raise CommandRejected("malformed", command_id, command_type)
        if body["target"] != self.target:
            raise CommandRejected("wrong_kiosk", command_id, command_type)
        if now > expires + self.max_skew_s:
            raise CommandRejected("expired", command_id, command_type)
        if issued > now + self.max_skew_s:
            raise CommandRejected("not_yet_valid", command_id, command_type)
        if not self.remember_nonce(body["nonce"], expires + self.max_skew_s, now):
            raise CommandRejected("replayed", command_id, command_type)
        return body

    def _check_signature(
        self, body: Command, signature: str, command_id: str | None, command_type: str | None
    ) -> None:
        if self.public_key is None:
            raise CommandRejected("bad_signature", command_id, command_type)
        try:
            raw = base64.b64decode(signature, validate=True)
            self.public_key.verify(raw, canonical(body))
        except (InvalidSignature, binascii.Error, ValueError):
            raise CommandRejected("bad_signature", command_id, command_type) from None


def echo_safe(value: Any, limit: int) -> str | None:
    """An unverified string capped to `limit`, if what remains is ECHO_SAFE_RE; else None."""
    if not isinstance(value, str):
        return None
    capped = value[:limit]
    return capped if ECHO_SAFE_RE.fullmatch(capped) else None


def result_data(
    command_id: str | None,
    command_type: str | None,
    status: str,
    reason: str | None,
    detail: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The `data` of a command.result event."""
    data: dict[str, Any] = {
        "command_id": command_id,
        "command_type": command_type,
        "status": status,
        "reason": reason,
    }
    if detail:
        data["detail"] = dict(detail)
    return data
