"""Login rate limits, per account name and per client address, kept in PostgreSQL
(console_login_failures) so that restarting the console does not reset them."""

from __future__ import annotations

from datetime import timedelta

import psycopg

MAX_KEY = 200


def blocked(
    conn: psycopg.Connection,
    *,
    account: str,
    address: str,
    window_s: float,
    per_account: int,
    per_address: int,
) -> bool:
    """Whether the account or the address had too many failures within the window."""
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE scope = 'account' AND key = %(account)s),"
        "       count(*) FILTER (WHERE scope = 'address' AND key = %(address)s)"
        " FROM console_login_failures"
        " WHERE ((scope = 'account' AND key = %(account)s)"
        "        OR (scope = 'address' AND key = %(address)s))"
        "   AND at > now() - %(window)s",
        {
            "account": account[:MAX_KEY],
            "address": address[:MAX_KEY],
            "window": timedelta(seconds=window_s),
        },
    ).fetchone()
    assert row is not None
    return bool(row[0] >= per_account or row[1] >= per_address)


def record_failure(
    conn: psycopg.Connection, *, account: str, address: str, window_s: float
) -> None:
    """Count one failed login against both; forget failures older than the window."""
    conn.execute(
        "INSERT INTO console_login_failures (scope, key) VALUES ('account', %s), ('address', %s)",
        (account[:MAX_KEY], address[:MAX_KEY]),
    )
    conn.execute(
        "DELETE FROM console_login_failures WHERE at < now() - %s", (timedelta(seconds=window_s),)
    )


def clear_account(conn: psycopg.Connection, account: str) -> None:
    """A successful login forgives the account's failures (not the address's)."""
    conn.execute(
        "DELETE FROM console_login_failures WHERE scope = 'account' AND key = %s",
        (account[:MAX_KEY],),
    )
