"""Command line of the kiosk process: `run --config FILE` and `hash-pin`.

`run` is also the default, so `python -m kiosk --config FILE` works (scripts/run_dev.py). Exit
codes: 0 after a clean stop (systemd restarts the unit after a city restart request), 2 for a
bad config or a missing font, 1 for a PIN typed differently twice.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from config.loader import ConfigError, load_config
from kiosk.core.technician import hash_pin

log = logging.getLogger(__name__)

DEFAULT_CONFIG = Path("/etc/civic-kiosk/kiosk.yaml")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kiosk", description=__doc__)
    parser.add_argument(
        "command", nargs="?", default="run", choices=("run", "hash-pin"), help="default: run"
    )
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="kiosk YAML file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    if args.command == "hash-pin":
        return hash_pin_command()
    return run(args.config)


def hash_pin_command(ask: Callable[[str], str] = getpass.getpass) -> int:
    """Ask for a PIN twice (not echoed) and print the config line with its hash."""
    first = ask("Technician PIN: ")
    second = ask("Same PIN again: ")
    if first != second:
        print("The two PINs differ; nothing printed.", file=sys.stderr)
        return 1
    if not first.isdigit():
        print("The keypad has digits only: use a PIN of digits.", file=sys.stderr)
        return 1
    try:
        line = hash_pin(first)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print("technician:")
    print(f"  pin_hash: {line}")
    return 0


def run(config_path: Path) -> int:
    """Start the touchscreen app with this config; returns when the app stops."""
    from kiosk.ui import bootstrap

    bootstrap.prepare_kivy_environment()
    recent = bootstrap.configure_logging()
    try:
        config = load_config(config_path)
        font = bootstrap.font_path()
    except (ConfigError, bootstrap.FontMissing, OSError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    ui = config.ui
    bootstrap.configure_window(fullscreen=ui.fullscreen, width=ui.width, height=ui.height)
    bootstrap.register_font(font)

    from kiosk.ui.app import run_app

    exit_code = run_app(config, recent)
    log.info("kiosk stopped")
    return exit_code
