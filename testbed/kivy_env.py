"""The environment of a subprocess that runs a real Kivy window offscreen (docs/design.md §3)."""

from __future__ import annotations

import os
from pathlib import Path


def offscreen_kivy_env(kivy_home: Path) -> dict[str, str]:
    """os.environ plus offscreen SDL, a private KIVY_HOME, no argv parsing, logs via logging."""
    kivy_home.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "SDL_VIDEODRIVER": "offscreen",
        "KIVY_HOME": str(kivy_home),
        "KIVY_NO_ARGS": "1",
        "KIVY_LOG_MODE": "PYTHON",
        "KIVY_NO_FILELOG": "1",
        "KIVY_WINDOW": "sdl2",
        "KIVY_GL_BACKEND": "sdl2",
    }
