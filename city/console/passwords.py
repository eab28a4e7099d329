"""argon2id password hashes (argon2-cffi's RFC 9106 low-memory profile defaults)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10
MAX_LENGTH = 256
_HASHER = PasswordHasher()
# Verified when the account does not exist, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


class WeakPassword(ValueError):
    """The password is too short or too long."""


def hash_password(password: str) -> str:
    """The encoded argon2id hash of a new password (length checked)."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise WeakPassword(f"a password has {MIN_LENGTH} to {MAX_LENGTH} characters")
    return _HASHER.hash(password)


def verify_password(encoded: str | None, password: str) -> bool:
    """Whether `password` matches; `encoded` None verifies a dummy and returns False."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(encoded or _DUMMY_HASH, password) and encoded is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(encoded: str) -> bool:
    """True when the hash was made with older parameters."""
    return _HASHER.check_needs_rehash(encoded)
