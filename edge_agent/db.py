"""SQLite connections for the outbox: WAL, FULL durability, and a write lock shared fairly."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

BUSY_TIMEOUT_S = 30.0
LOCK_RETRY_FIRST_S = 0.0001
LOCK_RETRY_MAX_S = 0.002


def connect_db(path: Path) -> sqlite3.Connection:
    """A connection in WAL mode with FULL durability and a generous busy timeout."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # One user at a time, but it may be handed to another thread (the agent runs in its own).
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    _switch_to_wal(conn)
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _switch_to_wal(conn: sqlite3.Connection) -> None:
    # Switching a brand-new file to WAL takes a write lock and ignores the busy timeout: the
    # kiosk and the agent starting together on a fresh outbox can see "database is locked".
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay_s = LOCK_RETRY_FIRST_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY
            if not busy or time.monotonic() >= deadline:
                raise
        time.sleep(delay_s)
        delay_s = min(delay_s * 2, LOCK_RETRY_MAX_S * 10)


def begin_immediate(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, retrying while another connection writes, for up to BUSY_TIMEOUT_S."""
    # SQLite's own busy handler sleeps 1, 2, 5, 10... ms between tries. With the kiosk writing
    # group commits back to back, the agent's deletes kept losing the race (measured: 0.3 s
    # of its 0.55 s for 20k events inside SQLite calls); polling every 0.1-2 ms shares it.
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        delay_s = LOCK_RETRY_FIRST_S
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                code = getattr(exc, "sqlite_errorcode", 0)
                busy = code & 0xFF == sqlite3.SQLITE_BUSY  # extended codes: BUSY_*
                if not busy or time.monotonic() >= deadline:
                    raise
            time.sleep(delay_s)
            delay_s = min(delay_s * 2, LOCK_RETRY_MAX_S)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
