"""A real Kivy window runs offscreen and draws Simplified-Chinese text, rare characters included."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from fontTools.ttLib import TTFont

REPO = Path(__file__).resolve().parents[2]
FONT = REPO / "build" / "fonts" / "NotoSansCJKsc-Regular.otf"
RARE_NAME_CHARACTERS = "䶮㛃"  # CJK Extension A, seen in residents' names


def test_generated_font_covers_sc_latin_and_extension_a() -> None:
    """The single-face font made at setup has every character a card or screen may need."""
    with TTFont(FONT, lazy=True) as font:
        cmap = font.getBestCmap()
    for char in "张三丰测血压办事" + RARE_NAME_CHARACTERS + "AZaz09￥，。":
        assert ord(char) in cmap, char


@pytest.mark.ui
def test_offscreen_window_renders_and_screenshots(tmp_path: Path, kivy_env: dict[str, str]) -> None:
    """A window opens under SDL offscreen, draws text, and Window.screenshot writes a PNG."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.fixtures.kivy_probe",
            str(FONT),
            str(tmp_path / "probe"),
            "张三丰 " + RARE_NAME_CHARACTERS + " 测血压",
        ],
        env=kivy_env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    shots = list(tmp_path.glob("probe*.png"))
    assert len(shots) == 1
    image = cv2.imread(str(shots[0]), cv2.IMREAD_GRAYSCALE)
    assert image is not None
    assert image.shape == (200, 800)
    lit = (image > 128).sum()
    assert 1000 < lit < image.size // 4  # text drawn, not a blank or white frame
