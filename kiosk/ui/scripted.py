"""Run the whole app with a pilot script in this process (one app per process: the Window is a
singleton). Used by the UI tests and by scripts/screenshots.py."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from config.loader import config_from_data, parse_yaml
from config.model import KioskConfig
from kiosk.ui import bootstrap

DEV_CONFIG = bootstrap.REPO_ROOT / "config" / "dev.yaml"

log = logging.getLogger(__name__)


class ScriptFailed(RuntimeError):
    """The pilot script failed; the cause is chained."""


def dev_like_config(
    data_dir: Path, *, ui: dict[str, Any] | None = None, devices: dict[str, Any] | None = None
) -> KioskConfig:
    """config/dev.yaml with its data in `data_dir`, the dev panel off and `ui`/`devices` merged."""
    raw = parse_yaml(DEV_CONFIG.read_text(encoding="utf-8"), str(DEV_CONFIG))
    raw["paths"] = {**raw.get("paths", {}), "data_dir": str(data_dir)}
    raw["ui"] = {**raw.get("ui", {}), "show_dev_panel": False, "fullscreen": False, **(ui or {})}
    if devices is not None:
        raw["devices"] = devices
    return config_from_data(raw, source="dev-like", base_dir=DEV_CONFIG.parent, env={})


def run_scripted(config: KioskConfig, script: Any, *, font: Path | None = None) -> dict[str, Any]:
    """Start the app, run `script` (see kiosk.ui.pilot), stop; returns the script's notes."""
    bootstrap.prepare_kivy_environment()
    recent = bootstrap.configure_logging()
    ui = config.ui
    bootstrap.configure_window(fullscreen=False, width=ui.width, height=ui.height)
    bootstrap.register_font(font or bootstrap.font_path())

    from kiosk.ui.app import KioskApp
    from kiosk.ui.pilot import Pilot

    app = KioskApp(config, recent_lines=recent)
    pilots: list[Pilot] = []

    def done(pilot: Pilot) -> None:
        app.stop()

    def begin(*_args: Any) -> None:
        pilot = Pilot(app, script, on_done=done)
        pilots.append(pilot)
        pilot.start()

    app.bind(on_start=begin)
    app.run()
    pilot = pilots[0]
    if pilot.error is not None:
        raise ScriptFailed(str(pilot.error)) from pilot.error
    return pilot.notes
