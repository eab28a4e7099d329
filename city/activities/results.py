"""The city's answer to a sign-up: one signed `activity_signup_result` command to the kiosk that
sent it, through the commands table (city/commands.py: waiting while the kiosk is offline, sent
when it is online, re-sent as a new attempt after an unanswered window and a reconnect).

A newer answer for the same sign-up (staff changed a decision) supersedes the older ones that
were not delivered: they are cancelled, so a re-send can never put an old answer on the kiosk
after the new one.
"""

from __future__ import annotations

import psycopg

from city.commands import queue_command

RESULT_TYPE = "activity_signup_result"

SUPERSEDE = (
    "UPDATE commands SET state = 'cancelled', updated_at = now()"
    " WHERE type = 'activity_signup_result' AND args ->> 'signup_id' = %s"
    "   AND state IN ('waiting', 'expired')"
)


def send_result(
    conn: psycopg.Connection,
    kiosk: str,
    signup_id: str,
    outcome: str,
    reason: str = "",
    *,
    requested_by: str,
) -> str:
    """Queue the answer (`outcome` confirmed or refused); its command id. The caller commits."""
    if outcome not in ("confirmed", "refused"):
        raise ValueError(f"outcome must be confirmed or refused, not {outcome!r}")
    conn.execute(SUPERSEDE, (signup_id,))
    args = {"signup_id": signup_id, "outcome": outcome}
    if reason:
        args["reason"] = reason
    return queue_command(conn, kiosk, RESULT_TYPE, requested_by=requested_by, args=args)
