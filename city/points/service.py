"""One checked call in, one answer out: the ledger (and the requests, city/requests/) behind
the kiosks' online calls."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import psycopg

from city.points import ledger
from city.points.calls import Call, error_answer, ok_answer
from city.requests.store import resident_requests

log = logging.getLogger("city.points")
DEFAULT_HISTORY = 10
DEFAULT_REQUESTS = 10  # requests.status without `limit` (docs/contract/README.md)


def _resident(params: dict[str, Any]) -> ledger.Resident:
    return ledger.Resident(key_id=params["key_id"], subject=params["subject"])


def answer_call(conn: psycopg.Connection, call: Call, now: datetime) -> dict[str, Any]:
    """The answer to `call` (schema-valid already); `unavailable` when the database fails.

    psycopg.OperationalError (the database is away) propagates: the responder must reconnect.
    """
    params = call.params
    try:
        if call.method == "points.balance":
            data: dict[str, Any] = {"balance": ledger.balance(conn, _resident(params))}
        elif call.method == "points.history":
            resident = _resident(params)
            with conn.transaction():  # the balance and the entries from one snapshot
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                data = {
                    "balance": ledger.balance(conn, resident),
                    "entries": ledger.history(
                        conn, resident, int(params.get("limit", DEFAULT_HISTORY))
                    ),
                }
        elif call.method == "requests.status":
            data = {
                "requests": resident_requests(
                    conn,
                    params["key_id"],
                    params["subject"],
                    int(params.get("limit", DEFAULT_REQUESTS)),
                )
            }
        elif call.method == "points.catalogue":
            data = {"rewards": ledger.catalogue(conn)}
        elif call.method == "points.redeem":
            outcome = ledger.redeem(
                conn,
                _resident(params),
                redemption_id=params["redemption_id"],
                reward_id=params["reward_id"],
                points=int(params["points"]),
                kiosk=call.kiosk,
                call_id=call.call_id,
                now=now,
            )
            log.info(
                "redemption %s from %s: %s%s",
                params["redemption_id"],
                call.kiosk,
                "redeemed" if outcome.redeemed else outcome.reason,
                " (replayed)" if outcome.replayed else "",
            )
            if not outcome.redeemed:
                return error_answer(call.call_id, call.method, str(outcome.reason), now)
            assert outcome.data is not None
            data = outcome.data
        else:
            return error_answer(call.call_id, call.method, "unknown_method", now)
    except psycopg.OperationalError:
        raise
    except psycopg.Error as exc:  # a lock timeout, a constraint: this call fails, not the city
        log.warning("call %s (%s) failed: %s", call.call_id, call.method, type(exc).__name__)
        return error_answer(call.call_id, call.method, "unavailable", now)
    return ok_answer(call.call_id, call.method, data, now)
