"""The technician PIN gate's state in a file only the kiosk user reads (survives restarts).

`PRIVATE_DIR/technician-pin-state.json`, mode 0600 in a 0700 directory, replaced atomically
(temp file, fsync, rename, fsync the directory) on every attempt.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable
from pathlib import Path

from config.keys import pin_file_problems
from config.model import KioskConfig
from kiosk.core.technician import (
    DEV_MIN_PIN_DIGITS,
    MIN_PIN_DIGITS,
    PinGate,
    PinState,
)

log = logging.getLogger(__name__)

MAX_STATE_BYTES = 4096
MAX_COUNT = 1_000_000
STATE_VERSION = 1


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data`, readable by this user only (0600 in a 0700 directory)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an existing temp file keeps its mode otherwise
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise ValueError("not a count")
    return value


class FilePinStore:
    """A PinStateStore in one small JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> PinState | None:
        """The saved state; a fresh one if there is no file; None if the file is unreadable."""
        try:
            with self.path.open("rb") as handle:
                raw = handle.read(MAX_STATE_BYTES + 1)
        except FileNotFoundError:
            return PinState()
        except OSError as exc:
            log.warning("PIN state unreadable (%s): locking", type(exc).__name__)
            return None
        try:
            if len(raw) > MAX_STATE_BYTES:
                raise ValueError("too large")
            document = json.loads(raw)
            if not isinstance(document, dict) or document.get("version") != STATE_VERSION:
                raise ValueError("not a version 1 state")
            until = document["locked_until_s"]
            if isinstance(until, bool) or not isinstance(until, int | float):
                raise ValueError("not a time")
            if not math.isfinite(until):
                raise ValueError("not a finite time")
            return PinState(_count(document["failures"]), _count(document["lockouts"]), until)
        except (ValueError, KeyError, RecursionError):
            log.warning("PIN state malformed: locking")
            return None

    def save(self, state: PinState) -> None:
        """Write the state durably; OSError (logged) if it cannot."""
        document = {
            "version": STATE_VERSION,
            "failures": state.failures,
            "lockouts": state.lockouts,
            "locked_until_s": state.locked_until_s,
        }
        try:
            write_private(self.path, json.dumps(document).encode("ascii"))
        except OSError as exc:
            log.warning("PIN state not saved: %s", type(exc).__name__)
            raise


def read_pin_hash(config: KioskConfig) -> str | None:
    """The configured PIN hash (inline on a dev kiosk, else the private file); None if unset."""
    if config.technician.pin_hash is not None:
        return config.technician.pin_hash
    try:
        with config.pin_hash_path.open("rb") as handle:
            text = handle.read(MAX_STATE_BYTES).decode("ascii", errors="replace").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning(
            "technician PIN hash unreadable (%s): diagnostics stay closed", type(exc).__name__
        )
        return None
    return text or None


def make_pin_gate(config: KioskConfig, clock: Callable[[], float]) -> PinGate:
    """The kiosk's PIN gate: hash and persisted state from the kiosk user's private directory."""
    pin_hash = read_pin_hash(config)
    tech = config.technician
    for problem in pin_file_problems(config):
        log.warning("technician PIN refused (%s): diagnostics stay closed", problem.message)
        pin_hash = None
    return PinGate(
        pin_hash,
        clock=clock,
        max_failures=tech.max_failures,
        lockout_steps_s=tech.lockout_steps_s,
        min_digits=DEV_MIN_PIN_DIGITS if config.development else MIN_PIN_DIGITS,
        store=FilePinStore(config.pin_state_path),
    )
