"""Technician and city-side commands: run, status, emit, watch, sign."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path
from types import FrameType
from typing import Any

from common.kiosk_agent import STATUS_FILE
from config import ConfigError, KioskConfig, load_config
from config.privacy import install_redaction
from edge_agent.agent import Agent, link_settings
from edge_agent.commands import load_private_key, make_command, sign_command
from edge_agent.contract import ContractError, validate_batch, validate_event
from edge_agent.link import (
    Connected,
    Disconnected,
    LinkError,
    LinkSettings,
    Message,
    MqttLink,
    SetupError,
)
from edge_agent.outbox import OutboxError
from edge_agent.outbox_config import open_outbox

DEFAULT_CONFIG = "config/dev.yaml"
EMIT_CHUNK = 1000
STATUS_FRESH_S = 5.0
WATCH_DEDUP_MAX = 200_000
WATCH_RETRY_S = 0.5


def _config(path: str) -> KioskConfig:
    return load_config(path)


EXIT_SETUP_ERROR = 2  # as for a ConfigError: the files on the kiosk need fixing


def configure_logging() -> None:
    """stdlib logging to stderr, every handler redacting PII with the kiosk's own filter."""
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install_redaction(logging.getLogger())


def cmd_run(args: argparse.Namespace) -> int:
    """Run the agent until SIGTERM/SIGINT; exit 2 with one message if a file it needs to
    connect (TLS files, password file) is unusable."""
    configure_logging()
    stop = threading.Event()

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        Agent(_config(args.config)).run(stop)
    except SetupError as exc:
        logging.getLogger("edge_agent").error("cannot start: %s", exc.reason)
        return EXIT_SETUP_ERROR
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Print the agent's status as JSON."""
    config = _config(args.config)
    status: dict[str, Any] = {}
    path = config.paths.data_dir / STATUS_FILE
    try:
        status = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        status = {"link": "unknown", "last_error": None}
    updated = status.get("updated_at")
    fresh = isinstance(updated, int | float) and time.time() - updated <= STATUS_FRESH_S
    with open_outbox(config) as outbox:
        depth, oldest = outbox.depth(), outbox.oldest_unsent_age_s()
    report = {
        "agent_running": bool(fresh and status.get("link") != "stopped"),
        "link": status.get("link") if fresh else "unknown",
        "outbox_depth": depth,
        "oldest_unsent_age_s": None if oldest is None else round(oldest, 3),
        "last_error": status.get("last_error"),
        "delivered_since_start": status.get("delivered"),
        "status_updated_at": updated,
    }
    print(json.dumps(report))
    return 0


def cmd_emit(args: argparse.Namespace) -> int:
    """Write N events to the outbox and print their ids."""
    config = _config(args.config)
    data = json.loads(args.data) if args.data else None
    with open_outbox(config) as outbox:
        done = 0
        while done < args.count:
            chunk = range(done, min(args.count, done + EMIT_CHUNK))
            items = [
                (args.type, data if data is not None else {"index": i, "count": args.count})
                for i in chunk
            ]
            try:
                events = outbox.put_many(items)
            except (OutboxError, ContractError) as exc:
                print(f"emit: {exc}", file=sys.stderr)
                return 1
            sys.stdout.write("".join(f"{e['id']}\n" for e in events))
            sys.stdout.flush()
            done += len(chunk)
    return 0


def _watch_settings(args: argparse.Namespace) -> tuple[LinkSettings, str]:
    config = _config(args.config)
    settings = link_settings(config)
    if args.broker:
        settings = LinkSettings(args.broker, settings.client_id, settings.keepalive_s, settings.tls)
    client_id = f"watch-{uuid.uuid4().hex[:12]}"
    settings = LinkSettings(
        settings.url,
        client_id,
        settings.keepalive_s,
        settings.tls,
        settings.username,
        settings.password,
    )
    return settings, config.mqtt.topic_prefix


def cmd_watch(args: argparse.Namespace) -> int:
    """Subscribe to the whole prefix; validate, de-duplicate and print every event."""
    settings, prefix = _watch_settings(args)
    seen: OrderedDict[str, None] = OrderedDict()
    printed = 0
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    link: MqttLink | None = None
    while deadline is None or time.monotonic() < deadline:
        if link is None:
            link = MqttLink(settings)
            try:
                link.connect()
            except LinkError as exc:
                print(json.dumps({"error": "connect", "reason": exc.reason}), file=sys.stderr)
                link = None
                time.sleep(WATCH_RETRY_S)
                continue
        for event in link.poll(0.1):
            if isinstance(event, Connected):
                link.subscribe(f"{prefix}/#")
            elif isinstance(event, Disconnected):
                link = None
                break
            elif isinstance(event, Message):
                for item in _watch_items(event):
                    if item["id"] in seen:
                        continue
                    seen[item["id"]] = None
                    if len(seen) > WATCH_DEDUP_MAX:
                        seen.popitem(last=False)
                    print(json.dumps(item, ensure_ascii=False), flush=True)
                    printed += 1
                    if args.count is not None and printed >= args.count:
                        return 0
    return 0 if args.count is None else 1


def _watch_items(message: Message) -> list[dict[str, Any]]:
    topic = message.topic
    try:
        payload = json.loads(message.payload)
        if topic.endswith("/events"):
            validate_batch(payload)
            return list(payload["events"])
        if topic.endswith("/status"):
            validate_event(payload)
            return [payload]
    except (ValueError, ContractError) as exc:
        print(
            json.dumps({"error": "invalid", "topic": topic, "problem": str(exc)[:300]}),
            file=sys.stderr,
            flush=True,
        )
    return []


def cmd_sign(args: argparse.Namespace) -> int:
    """Print a signed command."""
    key = load_private_key(Path(args.key))
    command = make_command(
        args.type, args.target, json.loads(args.args), expires_in_s=args.expires_in
    )
    print(json.dumps(sign_command(key, command), ensure_ascii=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for all sub-commands."""
    default_config = os.environ.get("KIOSK_CONFIG", DEFAULT_CONFIG)
    parser = argparse.ArgumentParser(prog="python -m edge_agent")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(name: str, text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--config", default=default_config, help="kiosk config (env KIOSK_CONFIG)")
        return p

    with_config("run", "run the agent").set_defaults(func=cmd_run)
    with_config("status", "print the agent status as JSON").set_defaults(func=cmd_status)
    emit = with_config("emit", "write events to the outbox and print their ids")
    emit.add_argument("--type", default="test")
    emit.add_argument("--count", type=int, default=1)
    emit.add_argument("--data", help="event data as JSON (default: index/count for test events)")
    emit.set_defaults(func=cmd_emit)
    watch = with_config("watch", "city side: print every valid event once")
    watch.add_argument("--broker", help="broker URL (default: the config's)")
    watch.add_argument("--count", type=int, help="exit after this many events")
    watch.add_argument("--timeout", type=float, help="give up after this many seconds")
    watch.set_defaults(func=cmd_watch)
    sign = sub.add_parser("sign", help="print a signed command")
    sign.add_argument("--key", required=True, help="the city's Ed25519 private key (PEM)")
    sign.add_argument("--type", required=True)
    sign.add_argument("--target", required=True, help="city/centre/kiosk")
    sign.add_argument("--args", default="{}", help="command arguments as JSON")
    sign.add_argument("--expires-in", type=float, default=300.0, help="seconds")
    sign.set_defaults(func=cmd_sign)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except SetupError as exc:  # `watch` reads the same files as `run`
        print(f"cannot start: {exc.reason}", file=sys.stderr)
        return EXIT_SETUP_ERROR
    return result
