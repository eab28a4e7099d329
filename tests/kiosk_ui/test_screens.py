"""Screen details on the real app (one tour, one process): read-aloud on entering a screen and
silence at the wipe, the detail QR decodes to the item's address, Chinese line breaking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import pytest

from drivers.camera.backends import make_decoder, to_gray
from kiosk.ui.linebreak import NO_LINE_END, NO_LINE_START
from testbed.kivy_env import offscreen_kivy_env
from tests.kiosk_ui.test_flows import run_tour
from tests.kiosk_ui.tours import DETAIL_SCREENSHOT, KINSOKU_TEXT

pytestmark = pytest.mark.ui


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """The voice/QR/line-breaking tour's notes and its data directory (run once)."""
    tmp = tmp_path_factory.mktemp("screens")
    env = offscreen_kivy_env(tmp / "kivy-home")
    notes, _events = run_tour("voice_qr_kinsoku", tmp, env)
    return notes, tmp / "data"


def test_voice_mode_reads_each_screen_on_entering(tour: tuple[dict[str, Any], Path]) -> None:
    """With voice on, the page is read at once and each screen's main text on entering it."""
    notes, _ = tour
    said = [call[1] for call in notes["calls"][: notes["calls_before_wipe"]] if call[0] == "say"]
    assert said[0] == notes["voice_on_speech"]
    assert said[1:] == notes["entered_speech"]
    assert all(text.strip() for text in said)
    assert {call[2] for call in notes["calls"] if call[0] == "say"} == {"zh"}


def test_the_wipe_stops_speech(tour: tuple[dict[str, Any], Path]) -> None:
    """Returning to the attract screen (a wipe) stops whatever was being said."""
    notes, _ = tour
    after_wipe = notes["calls"][notes["calls_before_wipe"] :]
    assert ["stop"] in after_wipe
    assert ["stop"] not in notes["calls"][: notes["calls_before_wipe"]]


def test_detail_qr_decodes_to_the_item_address(tour: tuple[dict[str, Any], Path]) -> None:
    """The QR drawn on an online item's detail screen decodes (project decoder) to its URL."""
    notes, data_dir = tour
    gray = cv2.imread(str(data_dir / DETAIL_SCREENSHOT), cv2.IMREAD_GRAYSCALE)
    assert gray is not None
    assert notes["online_url"].startswith("https://")
    assert make_decoder().decode(to_gray(gray)) == [notes["online_url"]]


def test_chinese_lines_never_start_with_closing_or_end_with_opening_punctuation(
    tour: tuple[dict[str, Any], Path],
) -> None:
    """禁则 in a real KLabel at many widths; a plain Kivy Label breaks the rule at some width."""
    notes, _ = tour
    plain_breaks_rule = False
    for width, layout in notes["kinsoku"].items():
        lines = layout["kinsoku"]
        assert "".join(lines) == KINSOKU_TEXT, width
        assert layout["widths_ok"], width
        assert len(lines) > 1, width
        for line in lines:
            assert line[0] not in NO_LINE_START, (width, lines)
            assert line[-1] not in NO_LINE_END, (width, lines)
        plain = layout["plain"]
        plain_breaks_rule |= any(line[0] in NO_LINE_START for line in plain[1:])
    assert plain_breaks_rule  # the test would catch a regression to Kivy's own breaking


def test_the_window_is_not_multisampled(tour: tuple[dict[str, Any], Path]) -> None:
    """No MSAA: with software GL it made each frame 3-5x slower to draw (card → greeting)."""
    notes, _ = tour
    assert notes["gl_samples"] <= 1
