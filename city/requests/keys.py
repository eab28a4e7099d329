"""The city's X25519 request key: a PEM file the console reads (never the database), and
`python -m city requests keygen` that makes one and prints the public half for the kiosks.

The kiosks seal a resident's call-back phone number to the public key
(docs/contract/README.md "Resident requests"; common/sealed_box.py); only a process holding
this file can open it. Like console.signing_key_file, the file is readable by the console's
user only (keygen writes it 0600 and refuses to overwrite).
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from pathlib import Path

from city.signing import read_key_file
from common.pii import mask_phone
from common.sealed_box import KEY_BYTES, SealError, generate_key_pair, open_phone


class RequestKeyError(RuntimeError):
    """The request key is not configured or not usable; the message says what to do."""


@dataclass(frozen=True)
class RequestKey:
    """The private key and the id kiosks name it by (`callback.key_id`)."""

    key_id: str
    private: bytes

    @property
    def public_base64(self) -> str:
        """The raw 32-byte public key, standard base64 (what a kiosk's config holds)."""
        return base64.b64encode(_public_of(self.private)).decode("ascii")

    def __repr__(self) -> str:  # never the key in a log or a traceback
        return f"RequestKey(key_id={self.key_id!r})"


def pem_of(private: bytes) -> bytes:
    """An X25519 private key as an unencrypted PKCS#8 PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    return X25519PrivateKey.from_private_bytes(private).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_request_key(path: Path | None, key_id: str) -> RequestKey:
    """The key in `path` (requests.private_key_file); RequestKeyError says what is wrong.

    The file is a PKCS#8 PEM (what `keygen` writes) or the development key's text form
    (config/dev-keys/city-request-key.DEV-ONLY.txt: `private_key: BASE64` of the raw 32 bytes,
    optionally `public_key: BASE64`, which must then match)."""
    if path is None:
        raise RequestKeyError(
            "no request key configured: set requests.private_key_file "
            "(python -m city requests keygen --out FILE makes one)"
        )
    data = read_key_file(path, "requests.private_key_file", RequestKeyError)
    where = f"requests.private_key_file {path}"
    private = _from_pem(data, where) if b"-----BEGIN" in data else _from_text(data, where)
    return RequestKey(key_id=key_id, private=private)


def _from_pem(data: bytes, where: str) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise RequestKeyError(f"{where}: the key is encrypted; give an unencrypted PEM") from None
    except ValueError:
        raise RequestKeyError(f"{where}: not a PEM private key") from None
    if not isinstance(key, X25519PrivateKey):
        raise RequestKeyError(f"{where}: a {type(key).__name__}, not an X25519 key")
    return key.private_bytes_raw()


def _from_text(data: bytes, where: str) -> bytes:
    values: dict[str, bytes] = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        name, _, value = line.partition(":")
        if name.strip() in ("private_key", "public_key") and not line.lstrip().startswith("#"):
            try:
                raw = base64.b64decode(value.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise RequestKeyError(f"{where}: {name.strip()} is not base64") from None
            values[name.strip()] = raw
    private = values.get("private_key")
    if private is None or len(private) != KEY_BYTES:
        raise RequestKeyError(
            f"{where}: not a PEM private key, nor a `private_key:` line with {KEY_BYTES} bytes"
        )
    public = values.get("public_key")
    if public is not None and public != _public_of(private):
        raise RequestKeyError(f"{where}: its public_key is not the private key's")
    return private


def _public_of(private: bytes) -> bytes:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()


def write_new_key(out: Path) -> bytes:
    """A fresh key pair: the private key to `out` (0600, never overwritten); the public key."""
    private, public = generate_key_pair()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    fd = os.open(out, flags, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem_of(private))
    return public


@dataclass(frozen=True)
class Callback:
    """What the console may know of a sealed number: masked always, whole only when asked."""

    masked: str | None  # None: cannot be opened (see `problem`)
    problem: str | None = None  # "no_key", "other_key", "unreadable"


def open_callback(
    key: RequestKey | None, sealed: str, callback_key_id: str, request_id: str
) -> tuple[Callback, str | None]:
    """(what to show, the number itself): the caller shows `masked` and uses the number only
    for the explicit, audited "show number" action."""
    if key is None:
        return Callback(None, "no_key"), None
    if callback_key_id != key.key_id:
        return Callback(None, "other_key"), None
    try:
        phone = open_phone(sealed, key.private, request_id)
    except SealError:
        return Callback(None, "unreadable"), None
    return Callback(mask_phone(phone)), phone
