"""Server-side sessions (console_sessions): the cookie holds a random token, the row its HMAC.

Keyed with the session secret (console.session_secret_file, never in the database): a copy of
the table opens no session, and a session ends for good when its row goes (logout, expiry,
password change). Each session has its own CSRF token, checked on every POST.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from city.console.accounts import User

TOKEN_BYTES = 32
MAX_COOKIE_LENGTH = 128
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Session:
    """A live session: its user and CSRF token."""

    user: User
    csrf_token: str
    expires_at: datetime


def _hash(secret: bytes, token: str) -> bytes:
    return hmac.new(secret, token.encode(), hashlib.sha256).digest()


def create_session(
    conn: psycopg.Connection, secret: bytes, user: User, ttl_s: float
) -> tuple[str, Session]:
    """A new session for `user`; returns the cookie value and the session."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    csrf = secrets.token_urlsafe(TOKEN_BYTES)
    expires = datetime.now(UTC) + timedelta(seconds=ttl_s)
    conn.execute("DELETE FROM console_sessions WHERE expires_at < now()")
    conn.execute(
        "INSERT INTO console_sessions (token_hash, user_id, csrf_token, expires_at)"
        " VALUES (%s, %s, %s, %s)",
        (_hash(secret, token), user.id, csrf, expires),
    )
    return token, Session(user, csrf, expires)


def load_session(conn: psycopg.Connection, secret: bytes, token: str | None) -> Session | None:
    """The unexpired session of this cookie value, its user enabled; None otherwise."""
    if not token or len(token) > MAX_COOKIE_LENGTH:
        return None
    token_hash = _hash(secret, token)
    row = conn.execute(
        "SELECT u.id, u.name, u.role, s.csrf_token, s.expires_at, s.last_seen_at"
        " FROM console_sessions s JOIN console_users u ON u.id = s.user_id"
        " WHERE s.token_hash = %s AND s.expires_at > now() AND NOT u.disabled",
        (token_hash,),
    ).fetchone()
    if row is None:
        return None
    if datetime.now(UTC) - row[5] > TOUCH_EVERY:
        conn.execute(
            "UPDATE console_sessions SET last_seen_at = now() WHERE token_hash = %s",
            (token_hash,),
        )
    return Session(User(int(row[0]), row[1], row[2]), row[3], row[4])


def end_session(conn: psycopg.Connection, secret: bytes, token: str | None) -> None:
    """Delete the session of this cookie value (logout)."""
    if token and len(token) <= MAX_COOKIE_LENGTH:
        conn.execute("DELETE FROM console_sessions WHERE token_hash = %s", (_hash(secret, token),))


def csrf_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a submitted CSRF token."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def signed_token(secret: bytes) -> str:
    """A CSRF token for forms shown before login (the login form): random.HMAC."""
    nonce = secrets.token_urlsafe(16)
    mac = hmac.new(secret, b"pre-session:" + nonce.encode(), hashlib.sha256).hexdigest()
    return f"{nonce}.{mac}"


def signed_token_valid(secret: bytes, token: str | None) -> bool:
    """Whether a pre-login CSRF token is one this secret made."""
    if not token or len(token) > MAX_COOKIE_LENGTH or token.count(".") != 1:
        return False
    nonce, mac = token.split(".")
    want = hmac.new(secret, b"pre-session:" + nonce.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(want.encode(), mac.encode())
