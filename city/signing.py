"""Signed commands for the kiosks, built from docs/contract alone (command.schema.json).

The signed bytes are the canonical JSON of the `command` object (docs/contract/README.md,
"Commands"): UTF-8, keys sorted, separators `,` and `:`, no whitespace, non-ASCII characters
as themselves. The signature is Ed25519 over those bytes, base64 (standard alphabet, padded).
Pure functions: the key is loaded once by the caller (`load_signing_key`), never stored.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

COMMAND_TYPES = (
    "ping", "set_config", "run_diagnostics", "restart_kiosk", "activity_signup_result",
)  # fmt: skip
MAX_LIFETIME_S = 7 * 86400.0  # the kiosk refuses a longer window as malformed
NONCE_BYTES = 16  # 32 hex characters, the contract's minimum
MAX_KEY_FILE_BYTES = 16 * 1024


class SigningKeyError(ValueError):
    """The city's signing key cannot be used; the message says why (never the key)."""


def format_ts(moment: datetime) -> str:
    """The contract's timestamp: UTC with milliseconds, `2026-11-23T08:15:30.123Z`."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def canonical(command: Mapping[str, Any]) -> bytes:
    """The bytes the signature covers."""
    return json.dumps(command, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def build_command(
    command_type: str,
    target: str,
    args: Mapping[str, Any],
    *,
    now: datetime,
    lifetime_s: float,
    command_id: str | None = None,
) -> dict[str, Any]:
    """An unsigned command body: a fresh nonce always, a fresh id unless one is given."""
    if command_type not in COMMAND_TYPES:
        raise ValueError(f"unknown command type {command_type!r}")
    if not 0 < lifetime_s <= MAX_LIFETIME_S:
        raise ValueError(f"lifetime must be within (0, {MAX_LIFETIME_S:g}] s")
    return {
        "id": command_id or str(uuid.uuid4()),
        "type": command_type,
        "target": target,
        "issued_at": format_ts(now),
        "expires_at": format_ts(now + timedelta(seconds=lifetime_s)),
        "nonce": secrets.token_hex(NONCE_BYTES),
        "args": dict(args),
    }


def sign(key: Ed25519PrivateKey, command: Mapping[str, Any]) -> bytes:
    """The message for the commands topic, as bytes ready to publish."""
    signature = base64.b64encode(key.sign(canonical(command))).decode("ascii")
    return json.dumps(
        {"command": dict(command), "signature": signature}, ensure_ascii=False
    ).encode("utf-8")


def read_key_file(path: Path, setting: str, error: type[Exception]) -> bytes:
    """A private key file's bytes, at most MAX_KEY_FILE_BYTES; `error` names `setting` and
    the path when it cannot be read or is too large (the signing and the request keys)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise error(f"{setting} {path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise error(f"{setting} {path}: too large for a key file")
    return data


def load_signing_key(path: Path | None) -> Ed25519PrivateKey:
    """The city's Ed25519 private key from a PEM file; SigningKeyError says what is wrong."""
    if path is None:
        raise SigningKeyError(
            "no signing key configured: set console.signing_key_file to the city's Ed25519 "
            "private key (PEM)"
        )
    data = read_key_file(path, "console.signing_key_file", SigningKeyError)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise SigningKeyError(
            f"console.signing_key_file {path}: the key is encrypted; give an unencrypted PEM"
        ) from None
    except ValueError:
        raise SigningKeyError(f"console.signing_key_file {path}: not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(
            f"console.signing_key_file {path}: a {type(key).__name__}, not an Ed25519 key"
        )
    return key


def public_key_base64(key: Ed25519PrivateKey) -> str:
    """The raw public key, base64: what a kiosk's `commands.city_public_key` holds."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")
