"""`python -m city publish …` and `python -m city dispatch`: rollouts from the command line.

    python -m city publish catalogue FILE --to SELECTOR [--first-centre C] [--auto-promote]
                                                        [--all-at-once] [--wait SECONDS]
    python -m city publish ui_texts FILE --to SELECTOR …
    python -m city publish status [ROLLOUT] [--json]
    python -m city publish promote ROLLOUT [--force]
    python -m city publish rollback ROLLOUT
    python -m city dispatch            # send waiting commands, expire, re-send: until SIGTERM

Exit codes: 0 done, 1 refused (invalid document, unknown selector …), 2 config, 4 signing key.
"""

from __future__ import annotations

import argparse
import getpass
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from city.config import CityConfig

EXIT_REFUSED = 1
EXIT_KEY = 4
WAIT_POLL_S = 0.5


def add_parsers(sub: Any, with_config: Any) -> None:
    """Add `publish` and `dispatch` to the city CLI's subcommands."""
    publish = sub.add_parser("publish", help="publish a catalogue or UI texts to kiosks")
    kinds = publish.add_subparsers(dest="publish_command", required=True)
    for kind in ("catalogue", "ui_texts"):
        p = with_config(kinds.add_parser(kind, help=f"roll out a {kind} document"))
        p.add_argument("file", type=Path, metavar="FILE")
        p.add_argument(
            "--to", required=True, metavar="SELECTOR",
            help="all, district:X, centre:X or kiosk:X",
        )  # fmt: skip
        p.add_argument("--first-centre", metavar="CENTRE", help="stage 1 (default: first by id)")
        p.add_argument("--auto-promote", action="store_true", help="stage 2 once stage 1 applied")
        p.add_argument("--all-at-once", action="store_true", help="no stages")
        p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                       help="keep dispatching until every released kiosk answered")  # fmt: skip
        p.add_argument("--json", action="store_true")
    status = with_config(kinds.add_parser("status", help="rollouts, or one rollout's kiosks"))
    status.add_argument("rollout", type=int, nargs="?")
    status.add_argument("--json", action="store_true")
    promote = with_config(kinds.add_parser("promote", help="release a rollout's second stage"))
    promote.add_argument("rollout", type=int)
    promote.add_argument("--force", action="store_true", help="even if stage 1 is not applied")
    promote.add_argument("--wait", type=float, default=0.0, metavar="SECONDS")
    rollback = with_config(kinds.add_parser("rollback", help="restore the previous versions"))
    rollback.add_argument("rollout", type=int)
    rollback.add_argument("--wait", type=float, default=0.0, metavar="SECONDS")
    with_config(sub.add_parser("dispatch", help="send waiting commands until stopped"))


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def run(config: CityConfig, args: argparse.Namespace) -> int:
    """Run `publish …` or `dispatch`."""
    from city.db import connect, require_current
    from city.rollouts import PublishError
    from city.selector import SelectorError

    with connect(config.database.url, timeout_s=config.database.connect_timeout_s) as conn:
        require_current(conn)
        conn.commit()
        try:
            if args.command == "dispatch":
                return _dispatch_forever(config, conn)
            if args.publish_command == "status":
                return _status(conn, args.rollout, args.json)
            if args.publish_command in ("catalogue", "ui_texts"):
                return _publish(config, conn, args)
            return _promote_or_rollback(config, conn, args)
        except (PublishError, SelectorError) as exc:
            conn.rollback()
            print(f"city publish: {exc}", file=sys.stderr)
            return EXIT_REFUSED


def _dispatcher(config: CityConfig) -> Any:
    from city.activities.publishing import dispatcher_tick
    from city.commands import Dispatcher, transport_for
    from city.signing import load_signing_key

    key = load_signing_key(config.console.signing_key_file)
    transport = transport_for(config, "cli")
    transport.wait_connected(10.0)
    return Dispatcher(config, key, transport, on_tick=dispatcher_tick)


def _publish(config: CityConfig, conn: Any, args: argparse.Namespace) -> int:
    from city.rollouts import create_rollout, diff_against_deployed, plan_rollout, store_document
    from city.selector import parse_selector
    from city.signing import SigningKeyError
    from city.upload import Invalid, parse_upload

    try:
        with args.file.open("rb") as handle:
            data = handle.read(2 * 1024 * 1024)
    except OSError as exc:
        print(f"city publish: {args.file}: {exc.strerror}", file=sys.stderr)
        return EXIT_REFUSED
    parsed = parse_upload(args.publish_command, data)
    if isinstance(parsed, Invalid):
        print(f"city publish: {args.file}: {parsed.total} problem(s)", file=sys.stderr)
        for problem in parsed.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_REFUSED
    selector = parse_selector(args.to)
    plan = plan_rollout(conn, selector, staged=not args.all_at_once, first_centre=args.first_centre)
    try:
        dispatcher = _dispatcher(config)
    except (SigningKeyError, ValueError) as exc:
        print(f"city publish: {exc}", file=sys.stderr)
        return EXIT_KEY
    for diff in diff_against_deployed(
        conn, parsed.kind, parsed.content, parsed.version, plan.kiosks
    ):
        running = diff.version or "unknown"
        note = "" if diff.known else " (content not known to the city)"
        print(f"{diff.kiosks} kiosk(s) run {parsed.kind} {running}{note}")
        for line in diff.lines:
            print(f"  {line}")
    document = store_document(conn, parsed, _operator())
    rollout_id = create_rollout(
        conn,
        document,
        selector,
        by=_operator(),
        staged=not args.all_at_once,
        first_centre=args.first_centre,
        auto_promote=args.auto_promote,
    )
    conn.commit()
    stages = f"stage 1: centre {plan.first_centre}, {len(plan.stage1)} kiosk(s); stage 2: " \
        f"{len(plan.stage2)} held" if plan.stage2 else f"{len(plan.stage1)} kiosk(s)"  # fmt: skip
    print(f"rollout {rollout_id}: {parsed.kind} {parsed.version} to {selector} ({stages})")
    return _drive(conn, dispatcher, rollout_id, args.wait, args.json)


def _promote_or_rollback(config: CityConfig, conn: Any, args: argparse.Namespace) -> int:
    from city.rollouts import promote, rollback
    from city.signing import SigningKeyError

    try:
        dispatcher = _dispatcher(config)
    except (SigningKeyError, ValueError) as exc:
        print(f"city publish: {exc}", file=sys.stderr)
        return EXIT_KEY
    if args.publish_command == "promote":
        released = promote(conn, args.rollout, _operator(), force=args.force)
        conn.commit()
        print(f"rollout {args.rollout}: stage 2 released to {released} kiosk(s)")
        return _drive(conn, dispatcher, args.rollout, args.wait, False)
    new_id = rollback(conn, args.rollout, _operator())
    conn.commit()
    print(f"rollout {args.rollout} rolled back by rollout {new_id}")
    return _drive(conn, dispatcher, new_id, args.wait, False)


def _drive(conn: Any, dispatcher: Any, rollout_id: int, wait_s: float, as_json: bool) -> int:
    """Dispatch now, and keep at it for up to `wait_s` while released kiosks have no answer."""
    from city.rollouts import rollout_status

    deadline = time.monotonic() + wait_s
    try:
        while True:
            dispatcher.tick(conn)
            status = rollout_status(conn, rollout_id)
            conn.commit()
            assert status is not None
            if _settled(status) or time.monotonic() >= deadline:
                break
            time.sleep(WAIT_POLL_S)
    finally:
        dispatcher.transport.close()
    _print_status(status, as_json)
    return 0


def _settled(status: dict[str, Any]) -> bool:
    """Nothing more will happen without a kiosk coming back or an operator acting."""
    targets = status["targets"]
    in_flight = any(
        t["state"] == "sent" or (t["state"] == "waiting" and t["presence"] == "online")
        for t in targets
    )
    promotion_due = (
        status["state"] == "stage1" and status["auto_promote"] and (status["stage1_applied"])
    )
    return not in_flight and not promotion_due


def _status(conn: Any, rollout_id: int | None, as_json: bool) -> int:
    from city.rollouts import PublishError, rollout_list, rollout_status

    if rollout_id is None:
        rows = rollout_list(conn)
        if as_json:
            print(json.dumps({"rollouts": rows}, default=str, ensure_ascii=False))
        for row in rows:
            counts = ", ".join(f"{n} {s}" for s, n in sorted(row["counts"].items()))
            print(
                f"{row['id']:>5}  {row['kind']:<9} {row['version'] or '(rollback)':<20}"
                f" {row['selector']:<24} {row['state']:<11} {counts}"
            )
        return 0
    status = rollout_status(conn, rollout_id)
    if status is None:
        raise PublishError(f"no rollout {rollout_id}")
    _print_status(status, as_json)
    return 0


def _print_status(status: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(status, default=str, ensure_ascii=False))
        return
    counts = ", ".join(f"{n} {s}" for s, n in sorted(status["counts"].items()))
    print(f"rollout {status['id']} ({status['state']}): {counts}")
    for target in status["targets"]:
        reason = f" {target['reason']}" if target["reason"] else ""
        problem = f" ({target['problem']})" if target["problem"] else ""
        print(f"  stage {target['stage']} {target['kiosk']:<32} {target['state']}{reason}{problem}")


def _dispatch_forever(config: CityConfig, conn: Any) -> int:
    from city.signing import SigningKeyError

    try:
        dispatcher = _dispatcher(config)
    except (SigningKeyError, ValueError) as exc:
        print(f"city dispatch: {exc}", file=sys.stderr)
        return EXIT_KEY
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("city dispatch: sending commands", flush=True)
    try:
        while not stop.is_set():
            report = dispatcher.tick(conn)
            if report.sent or report.expired or report.resent:
                print(
                    f"dispatch: {report.sent} sent, {report.expired} expired,"
                    f" {report.resent} re-sent",
                    flush=True,
                )
            stop.wait(config.publishing.dispatch_interval_s)
    finally:
        dispatcher.transport.close()
    return 0
