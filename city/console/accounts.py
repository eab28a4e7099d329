"""Staff accounts in console_users: add, find, check a login."""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg

from city.console.modules import ROLES, Role
from city.console.passwords import hash_password, needs_rehash, verify_password

NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass(frozen=True)
class User:
    """A logged-in member of staff."""

    id: int
    name: str
    role: Role

    def can(self, role: Role) -> bool:
        """Whether this user has at least `role` (viewer < operator < admin)."""
        return ROLES.index(self.role) >= ROLES.index(role)


class AccountError(ValueError):
    """A name, role or password that cannot be used."""


def add_user(conn: psycopg.Connection, name: str, role: str, password: str) -> User:
    """Create an account; AccountError on a bad name/role/password or an existing name."""
    if not NAME.match(name):
        raise AccountError("a name is 1-64 letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    try:
        encoded = hash_password(password)
    except ValueError as exc:
        raise AccountError(str(exc)) from None
    row = conn.execute(
        "INSERT INTO console_users (name, password_hash, role) VALUES (%s, %s, %s)"
        " ON CONFLICT (name) DO NOTHING RETURNING id",
        (name, encoded, role),
    ).fetchone()
    if row is None:
        raise AccountError(f"an account {name!r} exists already")
    return User(int(row[0]), name, role)


def set_password(conn: psycopg.Connection, name: str, password: str) -> bool:
    """Replace an account's password (and end its sessions); False if there is no such name."""
    try:
        encoded = hash_password(password)
    except ValueError as exc:
        raise AccountError(str(exc)) from None
    row = conn.execute(
        "UPDATE console_users SET password_hash = %s WHERE name = %s RETURNING id",
        (encoded, name),
    ).fetchone()
    if row is None:
        return False
    conn.execute("DELETE FROM console_sessions WHERE user_id = %s", (row[0],))
    return True


def check_login(conn: psycopg.Connection, name: str, password: str) -> User | None:
    """The account if `password` is its own and it is enabled; rehashes old parameters."""
    row = None
    if NAME.match(name):
        row = conn.execute(
            "SELECT id, name, role, password_hash FROM console_users"
            " WHERE name = %s AND NOT disabled",
            (name,),
        ).fetchone()
    if not verify_password(row[3] if row else None, password) or row is None:
        return None
    if needs_rehash(row[3]):
        conn.execute(
            "UPDATE console_users SET password_hash = %s WHERE id = %s",
            (hash_password(password), row[0]),
        )
    return User(int(row[0]), row[1], row[2])


def set_disabled(conn: psycopg.Connection, name: str, disabled: bool) -> bool:
    """Disable (ending its sessions) or enable an account; False if there is no such name."""
    row = conn.execute(
        "UPDATE console_users SET disabled = %s WHERE name = %s RETURNING id", (disabled, name)
    ).fetchone()
    if row is None:
        return False
    if disabled:
        conn.execute("DELETE FROM console_sessions WHERE user_id = %s", (row[0],))
    return True


def account_rows(conn: psycopg.Connection) -> list[dict[str, object]]:
    """Every account with its role, state, creation and last activity (for the admin page)."""
    rows = conn.execute(
        "SELECT u.name, u.role, u.disabled, u.created_at, max(s.last_seen_at)"
        " FROM console_users u LEFT JOIN console_sessions s ON s.user_id = u.id"
        " GROUP BY u.id ORDER BY u.name"
    ).fetchall()
    keys = ("name", "role", "disabled", "created_at", "last_seen_at")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def list_users(conn: psycopg.Connection) -> list[tuple[str, str, bool]]:
    """(name, role, disabled) of every account, by name."""
    rows = conn.execute("SELECT name, role, disabled FROM console_users ORDER BY name").fetchall()
    return [(r[0], r[1], r[2]) for r in rows]
