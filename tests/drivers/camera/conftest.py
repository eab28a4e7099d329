"""Generated camera scenes, rendered once per session into a temporary cache directory."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from drivers.camera.synth import render_scene
from tests.drivers.camera.scenes import SCENES


@pytest.fixture(scope="session")
def scene_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of PNGs named after SCENES' keys."""
    directory = tmp_path_factory.mktemp("qr-scenes")
    for name, spec in SCENES.items():
        cv2.imwrite(str(directory / f"{name}.png"), render_scene(spec))
    return directory
