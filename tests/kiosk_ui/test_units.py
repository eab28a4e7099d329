"""The UI's plain parts without a window: theme numbers, agent status, the hash-pin command."""

from __future__ import annotations

import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.loader import load_config
from kiosk.core.i18n import load_strings
from kiosk.core.technician import PinState, parse_pin_hash
from kiosk.ui import theme
from kiosk.ui.host import OffsetClock

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("palette", [theme.NORMAL, theme.HIGH_CONTRAST], ids=lambda p: p.name)
def test_every_text_colour_pair_reaches_seven_to_one(palette: theme.Palette) -> None:
    """Each (text, background) pair a theme uses has WCAG contrast ≥ 7:1."""
    for name, (foreground, background) in palette.text_pairs().items():
        assert theme.contrast_ratio(foreground, background) >= theme.MIN_CONTRAST, name


def test_contrast_formula_matches_wcag_reference_values() -> None:
    """Black on white is 21:1, a colour on itself 1:1, and the ratio is symmetric."""
    black, white = theme.hex_rgba("#000000"), theme.hex_rgba("#FFFFFF")
    grey = theme.hex_rgba("#767676")  # the classic 4.54:1 grey on white
    assert theme.contrast_ratio(black, white) == pytest.approx(21.0)
    assert theme.contrast_ratio(white, white) == pytest.approx(1.0)
    assert theme.contrast_ratio(grey, white) == pytest.approx(4.54, abs=0.01)
    assert theme.contrast_ratio(white, grey) == theme.contrast_ratio(grey, white)


def test_resident_text_roles_meet_the_size_floors_at_1080p() -> None:
    """Every resident-facing role is ≥28 px (body) or ≥40 px (headings) on a 1080-line screen."""
    for role, size in theme.FONT_PX.items():
        if role != "dev":
            assert size >= theme.min_font_px(role), role
    assert theme.TARGET_PX * 720 / theme.REFERENCE_HEIGHT_PX >= theme.MIN_TARGET_DP


def test_toggle_text_names_the_state_in_words() -> None:
    """A toggle says 开/关 (on/off) in words, not only by colour."""
    assert theme.state_text("attract.large_text", True, load_strings("zh")) == "大字：开"
    assert theme.state_text("attract.voice", False, load_strings("en")).endswith("off")


def test_offset_clock_jumps_forward() -> None:
    """advance() moves the clock by exactly the given seconds."""
    clock = OffsetClock(base=lambda: 100.0)
    clock.advance(61)
    assert clock() == 161.0


def test_hash_pin_prints_a_config_line_that_verifies(capsys: pytest.CaptureFixture[str]) -> None:
    """Typed twice the same: prints `pin_hash: …` whose hash accepts that PIN only."""
    from kiosk.app_main import hash_pin_command

    answers = iter(["2580", "2580"])
    assert hash_pin_command(lambda _prompt: next(answers)) == 0
    line = capsys.readouterr().out.splitlines()[-1]
    parsed = parse_pin_hash(line.split("pin_hash:", 1)[1])
    assert parsed.matches("2580")
    assert not parsed.matches("0000")


def test_hash_pin_refuses_a_mismatch_or_letters() -> None:
    """Two different PINs, or a PIN the digit keypad cannot type, print nothing and exit 1."""
    from kiosk.app_main import hash_pin_command

    different = iter(["2580", "2581"])
    assert hash_pin_command(lambda _prompt: next(different)) == 1
    letters = iter(["abcd", "abcd"])
    assert hash_pin_command(lambda _prompt: next(letters)) == 1


def _field_config(directory: Path, *, development: bool = False) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "kiosk.yaml"
    path.write_text(
        "version: 1\n"
        f"development: {'true' if development else 'false'}\n"
        "identity: {city: '440300', centre: c1, kiosk: k1}\n"
        f"paths: {{data_dir: {directory / 'data'}}}\n",
        encoding="utf-8",
    )
    return path


def test_hash_pin_with_a_config_writes_the_private_hash_file(tmp_path: Path) -> None:
    """`hash-pin --config` writes a 0600 scrypt hash where the kiosk reads it; unlocks the gate."""
    from kiosk.app_main import hash_pin_command
    from kiosk.runtime.pin_store import FilePinStore, make_pin_gate

    config_path = _field_config(tmp_path)
    config = load_config(config_path, env={})
    FilePinStore(config.pin_state_path).save(PinState(0, 3, 1e12))  # locked for ages
    answers = iter(["735194", "735194"])
    assert hash_pin_command(lambda _prompt: next(answers), config_path=config_path) == 0
    assert stat.S_IMODE(config.pin_hash_path.stat().st_mode) == 0o600
    assert parse_pin_hash(config.pin_hash_path.read_text(encoding="ascii")).matches("735194")
    assert make_pin_gate(config, clock=lambda: 1000.0).verify("735194").accepted


def test_hash_pin_needs_six_digits_on_a_field_kiosk(tmp_path: Path) -> None:
    """Outside development a 4-digit PIN (or the dev PIN) is refused; nothing is written."""
    from kiosk.app_main import hash_pin_command

    config_path = _field_config(tmp_path)
    for pin in ("2580", "12345"):
        typed = iter([pin, pin])

        def ask(_prompt: str, answers: Iterator[str] = typed) -> str:
            return next(answers)

        assert hash_pin_command(ask, config_path=config_path) == 1
    assert not load_config(config_path, env={}).pin_hash_path.exists()
    dev_path = _field_config(tmp_path / "dev", development=True)
    answers = iter(["2580", "2580"])
    assert hash_pin_command(lambda _prompt: next(answers), config_path=dev_path) == 0


def test_run_with_a_missing_config_exits_2(tmp_path: Path) -> None:
    """`python -m kiosk run --config missing.yaml` says why and exits 2 (no window opened)."""
    done = subprocess.run(
        [sys.executable, "-m", "kiosk", "run", "--config", str(tmp_path / "missing.yaml")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "KIVY_HOME": str(tmp_path), "KIVY_NO_ARGS": "1"},
    )
    assert done.returncode == 2
    assert "missing.yaml" in done.stderr
