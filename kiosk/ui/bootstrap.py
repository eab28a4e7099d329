"""Process set-up that must happen before Kivy is imported or any widget exists.

Order matters (docs/design.md §3): environment variables before `import kivy` (no argv parsing, logs
through stdlib logging, KIVY_HOME off ~/.kivy when asked), window options before the Window is
created, and the one CJK font registered as DEFAULT_FONT before the first Label.
"""

from __future__ import annotations

import logging
import os
import sys
from collections import deque
from pathlib import Path

from config.privacy import install_redaction

REPO_ROOT = Path(__file__).resolve().parents[2]
FONT_FILE = "NotoSansCJKsc-Regular.otf"
FONT_ENV = "KIOSK_FONT"
FONT_CANDIDATES = (
    REPO_ROOT / "build" / "fonts" / FONT_FILE,
    Path("/usr/share/civic-kiosk/fonts") / FONT_FILE,
)
RECENT_LOG_LINES = 50


class FontMissing(RuntimeError):
    """The kiosk font is not there; without it Chinese shows as boxes (run `make setup`)."""


def prepare_kivy_environment() -> None:
    """Environment Kivy reads at import time; call before anything imports kivy."""
    if "kivy" in sys.modules:
        return
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")


def configure_window(*, fullscreen: bool, width: int, height: int) -> None:
    """Window options: production is fullscreen, escape-proof and cursorless; dev is windowed."""
    from kivy.config import Config

    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "resizable", "0" if fullscreen else "1")
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "show_cursor", "0" if fullscreen else "1")
    Config.set("kivy", "exit_on_escape", "0" if fullscreen else "1")
    Config.set("kivy", "window_icon", "")
    # No multisampling (Kivy asks for 2 by default): with software GL it made every frame 3-5x
    # slower to rasterize (docs/design.md §2.5), and the kiosk's shapes are large and
    # axis-aligned, so only the rounded corners lose a little smoothing.
    Config.set("graphics", "multisamples", "0")
    # A right click must not leave red multitouch dots on a kiosk screen.
    Config.set("input", "mouse", "mouse,disable_multitouch")


def font_path() -> Path:
    """The kiosk font (one face covering SC glyph forms, Latin and CJK Ext A); FontMissing."""
    override = os.environ.get(FONT_ENV)
    candidates = (Path(override),) if override else FONT_CANDIDATES
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FontMissing(f"kiosk font {FONT_FILE} not found; run `make setup` or set {FONT_ENV}")


def register_font(path: Path) -> None:
    """Make `path` Kivy's default font: Kivy has no per-glyph fallback, so one font for all."""
    from kivy.core.text import DEFAULT_FONT, LabelBase

    LabelBase.register(DEFAULT_FONT, str(path))


class RecentLines(logging.Handler):
    """Keeps the last log lines (already redacted by the filter on this handler) for diagnostics.

    Called from any thread; the UI drains it on its clock into LogLine inputs.
    """

    def __init__(self, capacity: int = RECENT_LOG_LINES) -> None:
        super().__init__(level=logging.INFO)
        self.lines: deque[str] = deque(maxlen=capacity)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except (TypeError, ValueError):
            self.handleError(record)

    def drain(self) -> list[str]:
        """Every line since the last drain, oldest first."""
        taken: list[str] = []
        while self.lines:
            taken.append(self.lines.popleft())
        return taken


def configure_logging(level: int = logging.INFO) -> RecentLines:
    """stdlib logging to stderr plus the diagnostics buffer, every handler redacting PII."""
    root = logging.getLogger()
    if not root.handlers:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(stream)
    root.setLevel(level)
    recent = RecentLines()
    root.addHandler(recent)
    install_redaction(root)
    # Kivy logs every GL detail at INFO; keep the diagnostics buffer for the kiosk's own lines.
    logging.getLogger("kivy").setLevel(logging.WARNING)
    return recent
