"""Secrets a field kiosk must not carry: the repository's dev keys and dev PIN (unless the config
says `development: true`), a private key where the city's public key belongs, weak pseudonym keys,
a PIN hash other users can read.

Files are checked when this process can read them: the agent's user cannot read the kiosk's
private files, and `config check` may run off the kiosk (missing files are warnings there).
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path

from config.model import KioskConfig
from config.pinhash import REHASH_HINT, PinHashError, parse_pin_hash
from config.schema import Problem

MIN_PSEUDONYM_KEY_BYTES = 32
MIN_DISTINCT_KEY_BYTES = 8  # 32 random bytes have ~28 distinct values; a pattern has a few
MAX_KEY_FILE_BYTES = 16 * 1024
ED25519_KEY_BYTES = 32
# SubjectPublicKeyInfo DER of an Ed25519 key = this prefix + the 32 raw bytes (RFC 8410 §4).
ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)

# config/dev.yaml's keys (the signing key is in config/dev-keys/): public, so never in the field.
DEV_CITY_PUBLIC_KEYS = frozenset({base64.b64decode("uB0xNgf3p8Mu//3HLPsKzxa5T/ic78Fpoy6pRDwuq/g=")})
DEV_PSEUDONYM_KEYS = frozenset(
    {bytes.fromhex("65e00981874ac58ef5d6dc9f7b9497fb9af84562d6404dcb9146c2ae8c9464cf")}
)
# config/dev-keys/city-request-key.DEV-ONLY.txt: anyone could open a number sealed to it.
DEV_REQUEST_PUBLIC_KEYS = frozenset(
    {base64.b64decode("OwWEUSgWXSMUCki0RPmD9Qljj7gktCzxYbD3Glvv71c=")}
)
DEV_PINS = ("2580",)
DEV_ONLY = (
    "is the repository's public development key; only a config with `development: true` may use it"
)


def decode_key_text(text: str) -> bytes | None:
    """Hex or base64 key text to bytes; None if it is neither."""
    text = text.strip()
    try:
        return bytes.fromhex(text)
    except ValueError:
        pass
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def weak_key_reason(key: bytes) -> str | None:
    """Why a pseudonym key is too weak (short, one repeated byte, few distinct bytes); or None."""
    if len(key) < MIN_PSEUDONYM_KEY_BYTES:
        return f"shorter than {MIN_PSEUDONYM_KEY_BYTES} bytes"
    if len(set(key)) == 1:
        return "one byte repeated (e.g. all zero): not a random key"
    if len(set(key)) < MIN_DISTINCT_KEY_BYTES:
        return f"fewer than {MIN_DISTINCT_KEY_BYTES} distinct byte values: not a random key"
    return None


def _read_small(path: Path) -> str | None:
    """The file's text if this process can read it; None if absent or unreadable (checked later)."""
    try:
        with path.open("rb") as handle:
            return handle.read(MAX_KEY_FILE_BYTES).decode("ascii", errors="replace")
    except OSError:
        return None


def ed25519_public_key_from_pem(text: str) -> bytes:
    """The raw 32 bytes of an Ed25519 `PUBLIC KEY` PEM; ValueError naming what is wrong."""
    blocks = _PEM_BLOCK.findall(text)
    if any("PRIVATE" in label for label, _body in blocks) or "PRIVATE KEY-----" in text:
        raise ValueError(
            "holds a PRIVATE key: give the city's public key (`openssl pkey -pubout`) and keep "
            "the signing key off the kiosk"
        )
    public = [body for label, body in blocks if label == "PUBLIC KEY"]
    if len(public) != 1:
        raise ValueError("expected one -----BEGIN PUBLIC KEY----- block")
    try:
        der = base64.b64decode("".join(public[0].split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the PUBLIC KEY block is not valid base64") from None
    if len(der) != len(ED25519_SPKI_PREFIX) + ED25519_KEY_BYTES or not der.startswith(
        ED25519_SPKI_PREFIX
    ):
        raise ValueError("not an Ed25519 public key")
    return der[len(ED25519_SPKI_PREFIX) :]


def _city_key_problems(config: KioskConfig) -> list[Problem]:
    commands = config.commands
    if commands.city_public_key is not None:
        path, key = "commands.city_public_key", decode_key_text(commands.city_public_key)
        if key is None or len(key) != ED25519_KEY_BYTES:
            return [Problem(path, "must be base64 of a raw 32-byte Ed25519 key")]
    elif commands.city_public_key_file is not None:
        path = "commands.city_public_key_file"
        text = _read_small(commands.city_public_key_file)
        if text is None:
            return []
        try:
            key = ed25519_public_key_from_pem(text)
        except ValueError as exc:
            return [Problem(path, str(exc))]
    else:
        return []
    if key in DEV_CITY_PUBLIC_KEYS and not config.development:
        return [Problem(path, f"{DEV_ONLY}: its signing key is in the repository")]
    return []


def _pseudonym_key_problems(config: KioskConfig) -> list[Problem]:
    privacy = config.privacy
    text: str | None = None
    if privacy.pseudonym_key is not None:
        path, text = "privacy.pseudonym_key", privacy.pseudonym_key
    elif privacy.pseudonym_key_file is not None:
        path, text = "privacy.pseudonym_key_file", _read_small(privacy.pseudonym_key_file)
    if text is None:
        return []
    key = decode_key_text(text)
    if key is None or len(key) < MIN_PSEUDONYM_KEY_BYTES:
        return [Problem(path, "must be hex or base64 of at least 32 bytes")]
    weakness = weak_key_reason(key)
    if weakness is not None:
        return [Problem(path, f"must be hex or base64 of at least 32 random bytes: {weakness}")]
    if key in DEV_PSEUDONYM_KEYS and not config.development:
        return [Problem(path, f"{DEV_ONLY}: anyone could link its pseudonyms to ID numbers")]
    return []


def _pin_hash_problems(path: str, text: str, development: bool) -> list[Problem]:
    try:
        parsed = parse_pin_hash(text)
    except PinHashError as exc:
        return [Problem(path, str(exc))]
    if not development and any(parsed.matches(pin) for pin in DEV_PINS):
        return [Problem(path, f"this is the repository's development PIN; {REHASH_HINT}")]
    return []


def _inline_pin_problems(config: KioskConfig) -> list[Problem]:
    if config.technician.pin_hash is None:
        return []
    if not config.development:
        return [
            Problem(
                "technician.pin_hash",
                "an inline hash is readable by the agent's user too; only a development kiosk "
                f"may have one: remove it and {REHASH_HINT} (it writes technician.pin_hash_file)",
            )
        ]
    return _pin_hash_problems("technician.pin_hash", config.technician.pin_hash, True)


def pin_file_problems(config: KioskConfig) -> list[Problem]:
    """Problems with the PIN hash file, if this process can read it (config check, the kiosk).

    Not part of loading: `hash-pin --config` must load a config whose file it is replacing.
    """
    if config.technician.pin_hash is not None:
        return []
    path, file = "technician.pin_hash_file", config.pin_hash_path
    text = _read_small(file)
    if text is None:
        return []  # no hash (diagnostics stay closed) or not this user's file
    try:
        exposed = file.stat().st_mode & 0o077
    except OSError:
        exposed = 0
    if exposed and not config.development:
        return [
            Problem(
                path,
                f"{file} can be read by other users (group/other mode bits {exposed:03o}); "
                "chmod 600 it, owned by the kiosk user",
            )
        ]
    return _pin_hash_problems(path, text, config.development)


def _request_key_problems(config: KioskConfig) -> list[Problem]:
    key = config.requests.key if config.requests is not None else None
    if key is not None and key.raw in DEV_REQUEST_PUBLIC_KEYS and not config.development:
        return [Problem("requests.key.public_key", f"{DEV_ONLY}: anyone could open the numbers")]
    return []


def secret_problems(config: KioskConfig) -> list[Problem]:
    """Every problem with the config's keys and inline PIN hash (checked on every load)."""
    return [
        *_city_key_problems(config),
        *_request_key_problems(config),
        *_pseudonym_key_problems(config),
        *_inline_pin_problems(config),
    ]
