"""Seal a resident's call-back phone number to the city's X25519 key, and open it at the city.

The format is the contract's, byte for byte (docs/contract/README.md "Resident requests"):
ephemeral X25519 public key (32) || nonce (12) || AES-256-GCM ciphertext with tag (48) of the
number padded with NUL to 32 bytes, base64url without padding; the key comes from HKDF-SHA256
over the shared secret with both public keys as salt, and the request id is the associated data,
so a sealed number cannot be moved to another request. Fixed length: the ciphertext does not
tell a mobile number from a landline.

`cryptography` is imported when sealing, not at import time: the kiosk loads this module at
start and seals only when a resident asks for a call back.
"""

from __future__ import annotations

import base64
import binascii
import os
import re

INFO = b"gov-kiosk request callback v1"
PLAINTEXT_BYTES = 32
SEALED_BYTES = 32 + 12 + PLAINTEXT_BYTES + 16
SEALED_CHARS = 123  # base64url of 92 bytes, no padding
KEY_BYTES = 32

# A mainland mobile number, or a landline with its area code (0755-12345678, 075512345678).
PHONE = re.compile(r"1[3-9][0-9]{9}|0[1-9][0-9]{1,2}-?[0-9]{7,8}")


class SealError(ValueError):
    """A phone number, key or sealed value that is not what the contract says."""


def is_phone_number(text: str) -> bool:
    return PHONE.fullmatch(text) is not None


def seal_phone(phone: str, public_key: bytes, request_id: str) -> str:
    """The contract's `callback.sealed` for `phone`, sealed to the city's `public_key`."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not is_phone_number(phone):
        raise SealError("not a phone number (11-digit mobile, or a landline with its area code)")
    if len(public_key) != KEY_BYTES:
        raise SealError(f"the city's request key must be {KEY_BYTES} bytes")
    recipient = X25519PublicKey.from_public_bytes(public_key)
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    key = _derive(ephemeral.exchange(recipient), ephemeral_public, public_key)
    nonce = os.urandom(12)
    plaintext = phone.encode("ascii").ljust(PLAINTEXT_BYTES, b"\0")
    sealed = ephemeral_public + nonce + AESGCM(key).encrypt(nonce, plaintext, request_id.encode())
    return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")


def open_phone(sealed: str, private_key: bytes, request_id: str) -> str:
    """The phone number in `sealed`; SealError when it was not sealed to this key and request."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if len(sealed) != SEALED_CHARS or not re.fullmatch(r"[A-Za-z0-9_-]+", sealed):
        raise SealError(f"a sealed number is {SEALED_CHARS} base64url characters")
    if len(private_key) != KEY_BYTES:
        raise SealError(f"the city's request key must be {KEY_BYTES} bytes")
    try:
        raw = base64.urlsafe_b64decode(sealed + "=")
    except (binascii.Error, ValueError) as exc:
        raise SealError("not base64url") from exc
    if len(raw) != SEALED_BYTES:
        raise SealError("wrong length")
    me = X25519PrivateKey.from_private_bytes(private_key)
    ephemeral_public, nonce, ciphertext = raw[:32], raw[32:44], raw[44:]
    try:
        shared = me.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
    except ValueError as exc:  # a low-order point gives an all-zero secret
        raise SealError("not sealed to this key") from exc
    key = _derive(shared, ephemeral_public, me.public_key().public_bytes_raw())
    try:
        padded = AESGCM(key).decrypt(nonce, ciphertext, request_id.encode())
    except InvalidTag as exc:
        raise SealError("not sealed to this key and request") from exc
    phone = padded.rstrip(b"\0").decode("ascii", errors="replace")
    if not is_phone_number(phone):
        raise SealError("the sealed value is not a phone number")
    return phone


def generate_key_pair() -> tuple[bytes, bytes]:
    """(private, public) raw 32-byte X25519 keys: the city's request key."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    private = X25519PrivateKey.generate()
    return private.private_bytes_raw(), private.public_key().public_bytes_raw()


def _derive(shared: bytes, ephemeral_public: bytes, recipient_public: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    hkdf = HKDF(hashes.SHA256(), KEY_BYTES, ephemeral_public + recipient_public, INFO)
    return hkdf.derive(shared)
