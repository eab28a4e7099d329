"""`make screenshots` (the console part): every console screen at 1920x1080 in zh-CN and
English → build/screenshots/city/{zh,en}/NN-name.png, against a private PostgreSQL with
demonstration data (testbed/console_tour.py) and the console served by uvicorn.

Usage: python -m scripts.console_screenshots [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from city.console.modules import load_modules
from city.db import migrate
from testbed.console import (
    ConsoleServer,
    add_staff,
    chromium,
    console_config_data,
    write_config,
    write_secret,
)
from testbed.console_tour import seed_demo, tour
from testbed.postgres import PostgresServer

OUT = Path(__file__).resolve().parents[1] / "build" / "screenshots" / "city"
LANGUAGES = {"zh": "zh-CN", "en": "en"}


def main() -> int:
    """Start a database and the console, seed, visit every screen in both languages."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    modules = load_modules()
    database = PostgresServer()
    database.start()
    server: ConsoleServer | None = None
    try:
        db_url = database.create_database("console_demo")
        migrate(db_url)
        add_staff(db_url)
        values = seed_demo(db_url, modules)
        workdir = Path(tempfile.mkdtemp(prefix="console-shots-"))
        server = ConsoleServer(workdir / "city.yaml")
        write_config(
            server.config_file,
            console_config_data(db_url, write_secret(workdir / "secret"), port=server.port),
        )
        server.start()
        with chromium() as browser:
            for folder, language in LANGUAGES.items():
                names = tour(
                    browser, server.url, modules, values, language=language, out=args.out / folder
                )
                print(f"screenshots: {len(names)} console pages in {args.out / folder}")
    finally:
        if server is not None:
            server.stop()
        database.remove()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
