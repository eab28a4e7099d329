"""`python -m city points earn|balance|history|reward|rewards` for staff (docs/points.md)."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable

import psycopg

from city.alert_store import cli_actor
from city.config import CityConfig
from city.db import connect, require_current
from city.points import ledger

SUBJECT_RE = re.compile(r"^[0-9a-f]{64}$")
KEY_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    with_config: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
) -> None:
    """The `points` command and its subcommands."""
    points = sub.add_parser("points", help="the red points ledger (红色积分)")
    points_sub = points.add_subparsers(dest="points_command", required=True)

    def resident(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--subject", required=True, help="the resident's pseudonym (64 hex)")
        p.add_argument("--key-id", required=True, help="the pseudonym key's id")
        return p

    earn = with_config(resident(points_sub.add_parser("earn", help="credit points")))
    earn.add_argument("--points", type=int, required=True)
    earn.add_argument("--source", required=True, choices=list(ledger.EARN_SOURCES))
    earn.add_argument(
        "--reference", required=True, help="the activity or shift (credited once per resident)"
    )
    earn.add_argument("--note", default="", help="for staff only; never sent to a kiosk")
    with_config(resident(points_sub.add_parser("balance", help="print the balance")))
    history = with_config(resident(points_sub.add_parser("history", help="newest entries")))
    history.add_argument("--limit", type=int, default=20)
    history.add_argument("--json", action="store_true", help="one JSON document")
    reward = with_config(points_sub.add_parser("reward", help="create or change a reward"))
    reward.add_argument("reward_id")
    reward.add_argument("--title-zh", required=True)
    reward.add_argument("--title-en", default=None)
    reward.add_argument("--points", type=int, required=True)
    reward.add_argument("--stock", type=int, default=None, help="default: unlimited")
    reward.add_argument("--inactive", action="store_true", help="withdraw it from the catalogue")
    rewards = with_config(points_sub.add_parser("rewards", help="print the active rewards"))
    rewards.add_argument("--json", action="store_true", help="one JSON document")


def _resident(args: argparse.Namespace) -> ledger.Resident | None:
    if not SUBJECT_RE.match(args.subject) or not KEY_ID_RE.match(args.key_id):
        print("city points: --subject is 64 lowercase hex, --key-id a key id", file=sys.stderr)
        return None
    return ledger.Resident(key_id=args.key_id, subject=args.subject)


def run(config: CityConfig, args: argparse.Namespace) -> int:
    """Run one `points` subcommand; 1 when the ledger refuses it."""
    with connect(config.database.url, autocommit=True) as conn:
        require_current(conn)
        ledger.prepare(conn)
        if args.points_command in ("reward", "rewards"):
            return _rewards(conn, args)
        resident = _resident(args)
        if resident is None:
            return 1
        if args.points_command == "earn":
            return _earn(conn, resident, args)
        if args.points_command == "balance":
            print(f"balance {ledger.balance(conn, resident)}")
            return 0
        return _history(conn, resident, args)


def _rewards(conn: psycopg.Connection, args: argparse.Namespace) -> int:
    if args.points_command == "reward":
        try:
            ledger.set_reward(
                conn,
                args.reward_id,
                title_zh=args.title_zh,
                title_en=args.title_en,
                points=args.points,
                stock=args.stock,
                active=not args.inactive,
                actor=cli_actor(),
            )
        except ledger.LedgerError as exc:
            print(f"city points reward: {exc}", file=sys.stderr)
            return 1
        print(f"city points reward: {args.reward_id} costs {args.points}")
        return 0
    items = ledger.catalogue(conn)
    if args.json:
        print(json.dumps({"rewards": items}, ensure_ascii=False))
        return 0
    for item in items:
        state = "" if item["available"] else "  (out of stock)"
        print(f"{item['reward_id']:<24} {item['points']:>7}  {item['title']['zh']}{state}")
    return 0


def _earn(conn: psycopg.Connection, resident: ledger.Resident, args: argparse.Namespace) -> int:
    try:
        balance, credited = ledger.earn(
            conn,
            resident,
            args.points,
            source=args.source,
            reference=args.reference,
            actor=cli_actor(),
            note=args.note,
        )
    except ledger.LedgerError as exc:
        print(f"city points earn: {exc}", file=sys.stderr)
        return 1
    if not credited:
        print(f"city points earn: {args.source} {args.reference} was credited already")
    print(f"balance {balance}")
    return 0


def _history(conn: psycopg.Connection, resident: ledger.Resident, args: argparse.Namespace) -> int:
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        entries = ledger.history(conn, resident, args.limit)
        balance = ledger.balance(conn, resident)
    if args.json:
        print(json.dumps({"balance": balance, "entries": entries}, ensure_ascii=False))
        return 0
    print(f"balance {balance}")
    for entry in entries:
        title = entry.get("title", {}).get("zh", "")
        print(f"{entry['at']}  {entry['kind']:<6} {entry['points']:>+7}  {entry['source']} {title}")
    return 0
