"""The technician PIN hash: scrypt (memory-hard, in the standard library), one text format.

Format: `scrypt$N$R$P$SALT_HEX$HASH_HEX`. Why scrypt rather than argon2-cffi: both are
memory-hard; `hashlib.scrypt` needs no compiled dependency on the kiosk image, and at the default
N=2^15, r=8 (32 MiB, ~0.1 s) every offline guess costs 32 MiB of memory, so a GPU gets little
parallelism. The old `pbkdf2-sha256$…` format (a 4-digit PIN fell in 112 s) is refused with a
message telling the technician to re-hash.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

SCHEME = "scrypt"
LEGACY_SCHEME = "pbkdf2-sha256"
DEFAULT_N = 2**15
DEFAULT_R = 8
DEFAULT_P = 1
MIN_N = 2**14  # 16 MiB with r=8: below this the hash stops being memory-hard enough
MAX_N = 2**18  # 256 MiB: a config cannot make the kiosk hash itself out of memory
MIN_R, MAX_R = 8, 16
MIN_P, MAX_P = 1, 4
SALT_BYTES = 16
HASH_BYTES = 32
MAX_PIN_CHARS = 64  # a PIN longer than this is refused before hashing (no hashing DoS)
MAX_HASH_TEXT_CHARS = 512
REHASH_HINT = "set a new PIN with `python -m kiosk hash-pin --config FILE`"


class PinHashError(ValueError):
    """The hash text is not `scrypt$N$R$P$SALT_HEX$HASH_HEX` (the message never shows the hash)."""


@dataclass(frozen=True)
class PinHash:
    """A parsed scrypt PIN hash."""

    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    def matches(self, pin: str) -> bool:
        """True if `pin` hashes to this digest (constant-time comparison)."""
        if not pin or len(pin) > MAX_PIN_CHARS:
            return False
        return hmac.compare_digest(_scrypt(pin, self.salt, self.n, self.r, self.p), self.digest)


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    memory = 128 * r * n * p + 128 * r * n  # what OpenSSL needs, with room: its default is 32 MiB
    return hashlib.scrypt(
        pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=2 * memory, dklen=HASH_BYTES
    )


def _check_parameters(n: int, r: int, p: int) -> None:
    if not (MIN_N <= n <= MAX_N and n & (n - 1) == 0):
        raise PinHashError(f"N must be a power of two within {MIN_N}..{MAX_N}")
    if not (MIN_R <= r <= MAX_R and MIN_P <= p <= MAX_P):
        raise PinHashError(f"r must be within {MIN_R}..{MAX_R} and p within {MIN_P}..{MAX_P}")


def parse_pin_hash(text: str) -> PinHash:
    """Parse a hash text; PinHashError (with what to do) if malformed or of the old scheme."""
    text = text.strip()
    if len(text) > MAX_HASH_TEXT_CHARS:
        raise PinHashError("the PIN hash is too long")
    parts = text.split("$")
    if parts[0] == LEGACY_SCHEME:
        raise PinHashError(
            f"PBKDF2 PIN hashes are no longer accepted (too fast to crack); {REHASH_HINT}"
        )
    if len(parts) != 6 or parts[0] != SCHEME:
        raise PinHashError(f"expected {SCHEME}$N$R$P$SALT_HEX$HASH_HEX; {REHASH_HINT}")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
    except ValueError:
        raise PinHashError("N, R and P must be decimal, salt and hash hex") from None
    _check_parameters(n, r, p)
    if len(salt) < SALT_BYTES // 2 or len(digest) != HASH_BYTES:
        raise PinHashError(f"the salt must have at least 8 bytes and the hash {HASH_BYTES}")
    return PinHash(n, r, p, salt, digest)


def hash_pin(
    pin: str,
    *,
    n: int = DEFAULT_N,
    r: int = DEFAULT_R,
    p: int = DEFAULT_P,
    salt: bytes | None = None,
) -> str:
    """A hash text for a PIN; a fresh random salt unless given."""
    if not pin or len(pin) > MAX_PIN_CHARS:
        raise ValueError(f"a PIN has 1..{MAX_PIN_CHARS} characters")
    _check_parameters(n, r, p)
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = _scrypt(pin, salt, n, r, p)
    return f"{SCHEME}${n}${r}${p}${salt.hex()}${digest.hex()}"
