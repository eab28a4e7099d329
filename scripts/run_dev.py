"""`make run`: the whole kiosk on one machine — a local broker, the agent, the kiosk UI on
simulated devices, and the city platform: a private PostgreSQL cluster under build/city-pg
(initdb on first use; `CITY_PG_DIR` moves it), migrated, one ingest worker whose `[city]`
lines show the events it stored and the fleet changes it saw, and the web console, whose
`[console]` lines give its URL and a development account (docs/console.md).

Parts that are not built yet are named and skipped, so this never fails for their absence.
Stop with Ctrl-C; `--for SECONDS` stops by itself (used by the tests).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from city.db import migrate
from config import ConfigError, load_config
from testbed.broker import free_port
from testbed.postgres import PostgresServer

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO / "config" / "dev.yaml"
CITY_CONFIG = REPO / "city" / "dev.yaml"
CITY_PG_DIR = Path(os.environ.get("CITY_PG_DIR", REPO / "build" / "city-pg"))
CITY_DB = "city"
CONSOLE_PORT = 8080
MOSQUITTO = "/usr/sbin/mosquitto"


@dataclass
class Part:
    """One child process of the dev setup, its output prefixed with its name."""

    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    env: dict[str, str] | None = None


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


def _broker_part(broker_url: str, workdir: Path) -> Part | None:
    parts = urlsplit(broker_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 1883
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"[run] using the remote broker {parts.scheme}://{host}:{port}")
        return None
    if _listening(host, port):
        print(f"[run] a broker already listens on {host}:{port}; using it")
        return None
    conf = workdir / "mosquitto.conf"
    user = "user root\n" if os.geteuid() == 0 else ""
    conf.write_text(f"{user}listener {port} {host}\nallow_anonymous true\npersistence false\n")
    return Part("broker", [MOSQUITTO, "-c", str(conf)])


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _city_part(broker_url: str) -> tuple[Part | None, PostgresServer | None]:
    """Start the private PostgreSQL, migrate it, and plan one ingest worker against it."""
    if not _module_exists("city.worker"):
        print("[run] city: not built yet (city.worker missing), skipped")
        return None, None
    try:
        server = PostgresServer(workdir=CITY_PG_DIR)
        server.start()
    except RuntimeError as exc:
        print(f"[run] city: no private PostgreSQL ({exc}); skipped")
        return None, None
    try:
        url = server.create_database(CITY_DB)
    except psycopg.errors.DuplicateDatabase:
        url = server.url(CITY_DB)
    applied = migrate(url)
    print(f"[run] city database {url} (migrations applied: {len(applied)})", flush=True)
    argv = [sys.executable, "-m", "city", "ingest", "--config", str(CITY_CONFIG)]
    env = {
        **os.environ,
        "CITY_DATABASE_URL": url,
        "CITY_BROKER_URL": broker_url,
        "PYTHONUNBUFFERED": "1",
    }
    return Part("city", argv, env=env), server


def _console_part(city: Part) -> Part | None:
    """The console against the same database: port 8080, or a free one when that is taken."""
    if not _module_exists("city.console.app"):
        print("[run] console: not built yet (city.console missing), skipped")
        return None
    port = free_port() if _listening("127.0.0.1", CONSOLE_PORT) else CONSOLE_PORT
    argv = [sys.executable, "-m", "city", "console", "--config", str(CITY_CONFIG)]
    return Part("console", [*argv, "--port", str(port)], env=city.env)


def plan(config_path: Path, workdir: Path) -> tuple[list[Part], PostgresServer | None]:
    """The parts to start for this config, in start order, and the city's database server."""
    config = load_config(config_path)
    py = sys.executable
    parts = [p for p in [_broker_part(config.mqtt.broker_url, workdir)] if p is not None]
    city, server = _city_part(config.mqtt.broker_url)
    if city is not None:
        parts.append(city)
        console = _console_part(city)
        if console is not None:
            parts.append(console)
    wanted = [
        ("agent", "edge_agent.cli", [py, "-m", "edge_agent", "run", "--config", str(config_path)]),
        ("kiosk", "kiosk.__main__", [py, "-m", "kiosk", "--config", str(config_path)]),
    ]
    for name, module, argv in wanted:
        if _module_exists(module):
            parts.append(Part(name, argv))
            if name == "kiosk" and not (
                os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
            ):
                print("[run] no display: the kiosk renders offscreen (make screenshots shows it)")
        else:
            print(f"[run] {name}: not built yet ({module} missing), skipped")
    return parts, server


def _start(part: Part) -> None:
    # Unbuffered: a buffered pipe's readline() may pull two lines into Python's buffer while
    # select() only sees the file descriptor, so the second line (the console's development
    # account) waited there until the part printed again.
    part.process = subprocess.Popen(  # noqa: S603 — our own interpreter and modules
        part.argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=REPO,
        env=part.env,
        bufsize=0,
    )
    print(f"[run] started {part.name} (pid {part.process.pid})", flush=True)


def _stop(parts: list[Part]) -> None:
    for part in reversed(parts):
        if part.process is not None and part.process.poll() is None:
            part.process.send_signal(signal.SIGTERM)
    for part in reversed(parts):
        if part.process is None:
            continue
        try:
            part.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            part.process.kill()
            part.process.wait()


def supervise(parts: list[Part], run_for_s: float | None) -> int:
    """Start the parts, relay their output line by line, stop them all on exit."""
    selector = selectors.DefaultSelector()
    for part in parts:
        _start(part)
        if part.process is not None and part.process.stdout is not None:
            selector.register(part.process.stdout, selectors.EVENT_READ, part)
        if part.name == "broker":
            time.sleep(0.3)  # let it bind before clients connect
    deadline = None if run_for_s is None else time.monotonic() + run_for_s
    failed = 0
    try:
        while selector.get_map():
            timeout = None if deadline is None else deadline - time.monotonic()
            if timeout is not None and timeout <= 0:
                break
            for key, _ in selector.select(timeout):
                part = key.data
                line = key.fileobj.readline()  # type: ignore[union-attr]
                if line:
                    text = line.decode("utf-8", "replace").rstrip()
                    print(f"[{part.name}] {text}", flush=True)
                    continue
                selector.unregister(key.fileobj)
                code = part.process.wait()
                print(f"[run] {part.name} exited with {code}", flush=True)
                failed = failed or (code not in (0, -signal.SIGTERM))
    except KeyboardInterrupt:
        print("\n[run] stopping", flush=True)
    finally:
        _stop(parts)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Plan and supervise the dev setup."""
    parser = argparse.ArgumentParser(prog="make run")
    parser.add_argument(
        "--config", type=Path, default=Path(os.environ.get("KIOSK_CONFIG", DEFAULT_CONFIG))
    )
    parser.add_argument("--for", dest="run_for_s", type=float, default=None, help="stop after N s")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="kiosk-run-") as workdir:
            parts, server = plan(args.config, Path(workdir))
            print(f"[run] config {args.config}; Ctrl-C stops everything", flush=True)
            try:
                return supervise(parts, args.run_for_s)
            finally:
                if server is not None:
                    server.stop()
                    print("[run] stopped the city's PostgreSQL", flush=True)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
