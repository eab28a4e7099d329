"""`python -m city ingest|db migrate|db rebuild-reports|fleet|alerts|report|console|users|publish
|dispatch|points|responder|requests keygen --config FILE`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from city.config import CityConfig, CityConfigError, load_city_config
from city.db import SchemaMismatch

DEFAULT_CONFIG = Path(__file__).resolve().parent / "dev.yaml"
EXIT_CONFIG = 2
EXIT_SCHEMA = 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m city")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="city YAML file")
        return p

    ingest = with_config(sub.add_parser("ingest", help="store the kiosks' events in PostgreSQL"))
    ingest.add_argument(
        "--worker-id",
        default=None,
        help="stable MQTT client id suffix (default: the lowest free slot claimed in the database)",
    )
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    with_config(db_sub.add_parser("migrate", help="apply pending schema migrations"))
    rebuild = with_config(
        db_sub.add_parser("rebuild-reports", help="recompute the report rollups of a period")
    )
    rebuild.add_argument("--from", dest="first", required=True, metavar="DATE")
    rebuild.add_argument("--to", dest="last", required=True, metavar="DATE")
    fleet = with_config(sub.add_parser("fleet", help="print every kiosk's state"))
    fleet.add_argument("--json", action="store_true", help="one JSON document")
    alerts = with_config(sub.add_parser("alerts", help="print open and recent alerts"))
    alerts.add_argument("--json", action="store_true", help="one JSON document")
    alerts.add_argument("--ack", type=int, metavar="ID", help="acknowledge alert ID")
    alerts.add_argument("--note", default="", help="why (with --ack)")
    report = with_config(sub.add_parser("report", help="write a service report (docs/reports.md)"))
    report.add_argument("report", choices=["ratings", "usage", "health", "followups"])
    report.add_argument("--from", dest="first", metavar="DATE", help="YYYY-MM-DD (local day)")
    report.add_argument("--to", dest="last", metavar="DATE", help="YYYY-MM-DD, included")
    report.add_argument("--centre", default="", metavar="C", help="CENTRE or CITY/CENTRE")
    report.add_argument("--format", dest="fmt", choices=["csv", "xlsx", "json"], default="csv")
    report.add_argument("--out", type=Path, required=True, metavar="FILE", help="- for stdout")
    report.add_argument("--lang", choices=["zh", "en"], default="zh", help="headings")
    report.add_argument(
        "--status",
        choices=["all", "open", "answered", "closed", "overdue"],
        default="all",
        help="followups only",
    )
    console = with_config(sub.add_parser("console", help="serve the web console (uvicorn)"))
    console.add_argument("--host", default=None, help="default: console.host")
    console.add_argument("--port", type=int, default=None, help="default: console.port")
    users = sub.add_parser("users", help="console accounts")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = with_config(users_sub.add_parser("add", help="create an account"))
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["viewer", "operator", "admin"])
    add.add_argument(
        "--password-file", type=Path, default=None, help="default: the first line of stdin"
    )
    with_config(users_sub.add_parser("list", help="list the accounts"))
    from city.publish_cli import add_parsers

    add_parsers(sub, with_config)

    from city.points.cli import add_parser as add_points

    add_points(sub, with_config)
    from city.requests.cli import add_parser as add_requests

    add_requests(sub, with_config)
    responder = with_config(
        sub.add_parser("responder", help="answer the kiosks' online calls (red points, requests)")
    )
    responder.add_argument(
        "--responder-id",
        default=None,
        help="stable MQTT client id suffix (default: the lowest free slot claimed in the database)",
    )
    return parser


def _cmd_migrate(config: CityConfig) -> int:
    from city.db import migrate

    applied = migrate(config.database.url)
    names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied) or "nothing to do"
    print(f"city db migrate: {names}")
    return 0


def _cmd_fleet(config: CityConfig, as_json: bool) -> int:
    from city.db import connect, require_current
    from city.fleet_view import fleet_document, format_fleet
    from city.inventory import load_inventory, sync_inventory

    with connect(config.database.url) as conn:
        require_current(conn)
        if config.inventory is not None:
            sync_inventory(conn, load_inventory(config.inventory))
            conn.commit()
        document = fleet_document(conn)
    print(f'{{"kiosks": {document}}}' if as_json else format_fleet(json.loads(document)))
    return 0


def _cmd_alerts(config: CityConfig, as_json: bool, ack: int | None, note: str = "") -> int:
    from city.alert_store import acknowledge, alert_rows, format_alerts
    from city.db import connect, require_current

    with connect(config.database.url) as conn:
        require_current(conn)
        if ack is not None:
            if not acknowledge(conn, ack, note=note[:500]):
                print(f"city alerts: no open alert {ack}", file=sys.stderr)
                return 1
            conn.commit()
        rows = alert_rows(conn)
    print(json.dumps({"alerts": rows}, ensure_ascii=False) if as_json else format_alerts(rows))
    return 0


def _cmd_rebuild(config: CityConfig, args: argparse.Namespace) -> int:
    from datetime import date

    from city.db import connect, require_current
    from city.reports.filters import FilterError, parse_filter
    from city.reports.rebuild import rebuild
    from city.reports.rollup import policy_of

    try:
        period = parse_filter(args.first, args.last, today=date.max)
    except FilterError as exc:
        print(f"city db rebuild-reports: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    with connect(config.database.url) as conn:
        require_current(conn)
        added = rebuild(conn, period.first, period.last, policy_of(config))
    print(f"city db rebuild-reports: {period.first}..{period.last}, {added} follow-ups added")
    return 0


def _cmd_report(config: CityConfig, args: argparse.Namespace) -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from city.db import connect, require_current
    from city.reports.build import build_report
    from city.reports.export import render
    from city.reports.filters import FilterError, parse_filter

    today = datetime.now(ZoneInfo(config.timezone)).date()
    try:
        report_filter = parse_filter(args.first, args.last, args.centre, today=today)
    except FilterError as exc:
        print(f"city report: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    with connect(config.database.url) as conn:
        require_current(conn)
        report = build_report(
            conn,
            args.report,
            report_filter,
            config,
            today=today,
            lang=args.lang,
            status=args.status,
        )
    data = render(report, args.fmt, args.lang)
    if str(args.out) == "-":
        sys.stdout.buffer.write(data)
    else:
        args.out.write_bytes(data)
        rows = sum(len(t.rows) for t in report.tables)
        print(f"city report {args.report}: {rows} rows to {args.out}", file=sys.stderr)
    return 0


def _cmd_users(config: CityConfig, args: argparse.Namespace) -> int:
    from city.console.accounts import AccountError, add_user, list_users
    from city.console.server import read_password
    from city.db import connect, require_current

    with connect(config.database.url) as conn:
        require_current(conn)
        if args.users_command == "list":
            for name, role, disabled in list_users(conn):
                print(f"{name:<24} {role:<9}{'  disabled' if disabled else ''}")
            return 0
        password = read_password(args.password_file, "" if args.password_file else sys.stdin.read())
        try:
            user = add_user(conn, args.name, args.role, password)
        except AccountError as exc:
            print(f"city users add: {exc}", file=sys.stderr)
            return 1
        from city.alert_store import cli_actor
        from city.audit import record

        record(
            conn,
            actor=cli_actor(),
            action="user.add",
            subject=user.name,
            detail={"role": user.role},
        )
        conn.commit()
    print(f"city users add: {user.name} ({user.role})")
    return 0


def _run_service(config: CityConfig, args: argparse.Namespace) -> int:
    if args.command == "console":
        from city.console.server import serve

        return serve(config, str(args.config), args.host, args.port)
    if args.command == "points":
        from city.points.cli import run as run_points

        return run_points(config, args)
    from city.points.responder import run_responder

    return run_responder(config, args.responder_id)


def _run(config: CityConfig, args: argparse.Namespace) -> int:
    if args.command in ("publish", "dispatch"):
        from city import publish_cli

        return publish_cli.run(config, args)
    if args.command in ("points", "responder", "console"):
        return _run_service(config, args)
    if args.command == "requests":
        from city.requests.cli import run as run_requests

        return run_requests(config, args)
    commands: dict[str, Callable[[], int]] = {
        "db": lambda: (
            _cmd_rebuild(config, args)
            if args.db_command == "rebuild-reports"
            else _cmd_migrate(config)
        ),
        "fleet": lambda: _cmd_fleet(config, args.json),
        "alerts": lambda: _cmd_alerts(config, args.json, args.ack, args.note),
        "report": lambda: _cmd_report(config, args),
        "users": lambda: _cmd_users(config, args),
    }
    if args.command in commands:
        return commands[args.command]()
    from city.worker import run_worker

    return run_worker(config, worker_id=args.worker_id)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        config = load_city_config(args.config)
    except CityConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    try:
        return _run(config, args)
    except CityConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    except SchemaMismatch as exc:
        print(f"city: {exc}", file=sys.stderr)
        return EXIT_SCHEMA
