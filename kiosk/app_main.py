"""Command line of the kiosk process: `run --config FILE` and `hash-pin [--config FILE]`.

`hash-pin --config FILE` writes the scrypt hash to the config's `technician.pin_hash_file`
(mode 0600; run it as the kiosk user) and needs at least 6 digits unless the config says
`development: true`; without `--config` it prints an inline `pin_hash:` line, which only a
development config accepts.

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

from config.keys import DEV_PINS
from config.loader import ConfigError, load_config
from kiosk.core.technician import DEV_MIN_PIN_DIGITS, MIN_PIN_DIGITS, PinState, hash_pin
from kiosk.runtime.pin_store import FilePinStore, write_private

log = logging.getLogger(__name__)

DEFAULT_CONFIG = Path("/etc/civic-kiosk/kiosk.yaml")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kiosk", description=__doc__)
    parser.add_argument(
        "command", nargs="?", default="run", choices=("run", "hash-pin"), help="default: run"
    )
    parser.add_argument(
        "--config", type=Path, default=None, help=f"kiosk YAML file ({DEFAULT_CONFIG})"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    if args.command == "hash-pin":
        return hash_pin_command(config_path=args.config)
    return run(args.config or DEFAULT_CONFIG)


def _pin_refusal(first: str, second: str, *, development: bool) -> str | None:
    """Why this PIN cannot be used, or None."""
    min_digits = DEV_MIN_PIN_DIGITS if development else MIN_PIN_DIGITS
    if first != second:
        return "The two PINs differ; nothing written."
    if not (first.isascii() and first.isdigit()):
        return "The keypad has digits only: use a PIN of digits."
    if len(first) < min_digits:
        return f"Use at least {min_digits} digits."
    if not development and first in DEV_PINS:
        return "That is the repository's development PIN; choose another."
    return None


def hash_pin_command(
    ask: Callable[[str], str] = getpass.getpass, *, config_path: Path | None = None
) -> int:
    """Ask for a PIN twice (not echoed); write its hash for the config, or print a dev line."""
    config = None
    if config_path is not None:
        try:
            config = load_config(config_path)
        except ConfigError as exc:
            print(str(exc), file=sys.stderr)
            return 2
    development = config is None or config.development
    first = ask("Technician PIN: ")
    refusal = _pin_refusal(first, ask("Same PIN again: "), development=development)
    if refusal is not None:
        print(refusal, file=sys.stderr)
        return 1
    try:
        line = hash_pin(first)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if config is None:
        print("technician:  # inline: only a config with `development: true` accepts this")
        print(f"  pin_hash: {line}")
        return 0
    try:
        write_private(config.pin_hash_path, f"{line}\n".encode("ascii"))
        FilePinStore(config.pin_state_path).save(PinState())  # a new PIN starts unlocked
    except OSError as exc:
        print(f"cannot write {config.pin_hash_path}: {exc}", file=sys.stderr)
        return 1
    print(f"PIN hash written to {config.pin_hash_path} (readable by this user only)")
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
