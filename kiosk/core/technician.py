"""Technician access: PIN check against a pbkdf2-sha256 hash with lockout, and the hidden gesture.

Hash format (config `technician.pin_hash`): `pbkdf2-sha256$ITERATIONS$SALT_HEX$HASH_HEX`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

SCHEME = "pbkdf2-sha256"
DEFAULT_ITERATIONS = 200_000
MIN_ITERATIONS = 1_000
MAX_ITERATIONS = 10_000_000
SALT_BYTES = 16
MAX_PIN_CHARS = 64  # a PIN longer than this is refused before hashing (no hashing DoS)


class PinHashError(ValueError):
    """The configured hash is not `pbkdf2-sha256$ITER$SALT_HEX$HASH_HEX` (never shows the hash)."""


@dataclass(frozen=True)
class PinHash:
    """A parsed PIN hash."""

    iterations: int
    salt: bytes
    digest: bytes

    def matches(self, pin: str) -> bool:
        """True if `pin` hashes to this digest (constant-time comparison)."""
        if len(pin) > MAX_PIN_CHARS:
            return False
        candidate = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), self.salt, self.iterations)
        return hmac.compare_digest(candidate, self.digest)


def parse_pin_hash(text: str) -> PinHash:
    """Parse the config's hash text; PinHashError if malformed."""
    parts = text.strip().split("$")
    if len(parts) != 4 or parts[0] != SCHEME:
        raise PinHashError(f"expected {SCHEME}$ITERATIONS$SALT_HEX$HASH_HEX")
    try:
        iterations = int(parts[1])
        salt = bytes.fromhex(parts[2])
        digest = bytes.fromhex(parts[3])
    except ValueError:
        raise PinHashError("iterations must be decimal, salt and hash hex") from None
    if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
        raise PinHashError(f"iterations must be within {MIN_ITERATIONS}..{MAX_ITERATIONS}")
    if not salt or len(digest) != hashlib.sha256().digest_size:
        raise PinHashError("salt must be non-empty and the hash 32 bytes")
    return PinHash(iterations, salt, digest)


def hash_pin(pin: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    """A hash text for the config; a fresh random salt unless given."""
    if not pin or len(pin) > MAX_PIN_CHARS:
        raise ValueError(f"a PIN has 1..{MAX_PIN_CHARS} characters")
    if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
        raise ValueError(f"iterations must be within {MIN_ITERATIONS}..{MAX_ITERATIONS}")
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, iterations)
    return f"{SCHEME}${iterations}${salt.hex()}${digest.hex()}"


PinStatus = Literal["accepted", "rejected", "locked", "disabled"]


@dataclass(frozen=True)
class PinResult:
    """Outcome of one attempt: `remaining` attempts before lockout, `locked_for_s` if locked."""

    status: PinStatus
    remaining: int = 0
    locked_for_s: float = 0.0

    @property
    def accepted(self) -> bool:
        """True only for the right PIN outside a lockout."""
        return self.status == "accepted"


class PinGate:
    """Counts consecutive failures; after `max_failures` refuses every attempt for `lockout_s`.

    During a lockout the PIN is not even checked, so guessing gains nothing. A success resets the
    count. With no hash configured the gate is disabled (diagnostics stay closed).
    """

    def __init__(
        self,
        pin_hash: str | None,
        *,
        max_failures: int = 5,
        lockout_s: float = 300.0,
        clock: Callable[[], float],
    ) -> None:
        self._hash = None if pin_hash is None else parse_pin_hash(pin_hash)
        self._max_failures = max_failures
        self._lockout_s = lockout_s
        self._clock = clock
        self._failures = 0
        self._locked_until_s: float | None = None

    def locked_for_s(self) -> float:
        """Seconds left in the current lockout (0 when not locked)."""
        if self._locked_until_s is None:
            return 0.0
        left = self._locked_until_s - self._clock()
        if left <= 0:
            self._locked_until_s = None
            self._failures = 0
            return 0.0
        return left

    def verify(self, pin: str) -> PinResult:
        """Check one attempt."""
        if self._hash is None:
            return PinResult("disabled")
        locked = self.locked_for_s()
        if locked > 0:
            return PinResult("locked", locked_for_s=locked)
        if self._hash.matches(pin):
            self._failures = 0
            return PinResult("accepted", remaining=self._max_failures)
        self._failures += 1
        if self._failures >= self._max_failures:
            self._locked_until_s = self._clock() + self._lockout_s
            return PinResult("locked", locked_for_s=self._lockout_s)
        return PinResult("rejected", remaining=self._max_failures - self._failures)


class CornerTapGesture:
    """Recognises `taps` taps in the top-left corner within `window_s` (the hidden entry).

    Coordinates are fractions of the screen with the origin top-left (the Kivy adapter flips y).
    A tap elsewhere starts over, so residents touching the screen never trigger it by accident.
    """

    def __init__(self, *, taps: int = 5, window_s: float = 3.0, corner: float = 0.08) -> None:
        self._taps = taps
        self._window_s = window_s
        self._corner = corner
        self._times: deque[float] = deque(maxlen=taps)

    def feed(self, x: float, y: float, now_s: float) -> bool:
        """Register a tap; True when it completes the gesture (and the count starts over)."""
        if not (0 <= x <= self._corner and 0 <= y <= self._corner):
            self._times.clear()
            return False
        self._times.append(now_s)
        if len(self._times) == self._taps and now_s - self._times[0] <= self._window_s:
            self._times.clear()
            return True
        return False
