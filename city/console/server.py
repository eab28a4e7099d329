"""`python -m city console`: the session secret, the development account, uvicorn."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

import psycopg

from city.config import CityConfig, CityConfigError
from city.console.accounts import add_user, set_password
from common.typed_config import Problem

log = logging.getLogger(__name__)
MIN_SECRET_BYTES = 32
DEV_ACCOUNT = "dev"
DEV_ROLE = "admin"


def load_secret(config: CityConfig, source: str) -> bytes:
    """The session secret file's bytes (made, 0600, when `development: true` and absent)."""
    console = config.console
    path = console.session_secret_file
    where = "console.session_secret_file"
    if path is None:
        raise CityConfigError(source, [Problem(where, "required to run the console")])
    if console.development and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
        log.info("console: development session secret written to %s", path)
    try:
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise CityConfigError(source, [Problem(where, f"cannot read {path}: {exc}")]) from None
    if len(secret) < MIN_SECRET_BYTES:
        message = f"{path} has {len(secret)} bytes; at least {MIN_SECRET_BYTES} random bytes"
        raise CityConfigError(source, [Problem(where, message)])
    return secret


def ensure_dev_account(conn: psycopg.Connection) -> str:
    """Development only: the `dev` admin account with a new random password; the password."""
    password = secrets.token_urlsafe(12)
    exists = conn.execute("SELECT 1 FROM console_users WHERE name = %s", (DEV_ACCOUNT,)).fetchone()
    if exists:
        set_password(conn, DEV_ACCOUNT, password)
    else:
        add_user(conn, DEV_ACCOUNT, DEV_ROLE, password)
    return password


def serve(config: CityConfig, source: str, host: str | None, port: int | None) -> int:
    """Run the console under uvicorn until interrupted (the URL is printed first: `make run`
    shows it while the app still loads)."""
    from city.db import connect, require_current

    secret = load_secret(config, source)
    host = host or config.console.host
    port = port or config.console.port
    with connect(config.database.url) as conn:
        require_current(conn)
        password = ensure_dev_account(conn) if config.console.development else None
        conn.commit()
    print(f"console: http://{host}:{port}/", flush=True)
    if password is not None:
        print(f"console: development account {DEV_ACCOUNT} / {password}", flush=True)
    import uvicorn

    from city.console.app import create_app

    app = create_app(config, secret)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=True,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    return 0


def read_password(path: Path | None, stdin_text: str) -> str:
    """The password from --password-file, else the first line of standard input."""
    text = path.read_text(encoding="utf-8") if path is not None else stdin_text
    lines = text.splitlines()
    return lines[0] if lines else ""
