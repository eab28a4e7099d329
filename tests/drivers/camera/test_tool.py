"""`python -m drivers qr IMAGE...`: kind and length per code by default, the text with --payload."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from drivers.camera.tool import decode_images
from tests.drivers.camera.scenes import LONG_TOKEN, SHORT_TOKEN

ROOT = Path(__file__).resolve().parents[3]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m drivers qr ARGS` from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "drivers", "qr", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_decode_images_records(scene_dir: Path) -> None:
    """Each image yields its file and codes; a directory expands; a missing file is an error."""
    images = [scene_dir / "short_480p.png", scene_dir / "empty_480p.png", scene_dir / "nope.png"]
    records = list(decode_images(images))
    assert records[0] == {"file": str(images[0]), "codes": [{"kind": "url", "length": 46}]}
    assert records[1] == {"file": str(images[1]), "codes": []}
    assert records[2] == {"file": str(scene_dir / "nope.png"), "error": "unreadable image"}
    with_text = list(decode_images(images[:1], payload=True))
    assert with_text[0]["codes"] == [{"kind": "url", "length": 46, "text": SHORT_TOKEN}]
    by_file = {Path(r["file"]).name: r for r in decode_images([scene_dir], backend="pyzbar")}
    assert by_file["long_720p.png"]["codes"] == [{"kind": "unknown", "length": len(LONG_TOKEN)}]
    assert by_file["other_480p.png"]["codes"] == [{"kind": "numeric", "length": 10}]


def test_cli_qr_prints_kind_and_length_by_default(scene_dir: Path) -> None:
    """Without --payload each code is `{"kind", "length"}` and no payload text is printed."""
    images = [str(scene_dir / "short_720p.png"), str(scene_dir / "long_720p.png")]
    result = run_cli(*images)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"file": images[0], "codes": [{"kind": "url", "length": len(SHORT_TOKEN)}]},
        {"file": images[1], "codes": [{"kind": "unknown", "length": len(LONG_TOKEN)}]},
    ]
    output = result.stdout + result.stderr
    assert "Qr7Tk2Lm9Xc4" not in output
    assert "Lp3Lp3" not in output


def test_cli_qr_prints_the_text_only_with_payload(scene_dir: Path) -> None:
    """`--payload` adds each code's decoded text beside its kind and length."""
    images = [str(scene_dir / "short_720p.png"), str(scene_dir / "long_720p.png")]
    result = run_cli("--payload", *images)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"file": images[0], "codes": [{"kind": "url", "length": 46, "text": SHORT_TOKEN}]},
        {"file": images[1], "codes": [{"kind": "unknown", "length": 300, "text": LONG_TOKEN}]},
    ]


def test_cli_qr_redact_is_an_alias_of_the_default(scene_dir: Path) -> None:
    """The old `--redact` still works, prints the default shape, and cannot go with --payload."""
    image = str(scene_dir / "short_720p.png")
    result = run_cli("--redact", image)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"file": image, "codes": [{"kind": "url", "length": 46}]}
    assert "default" in json.loads(result.stderr)["warning"]
    assert "Qr7Tk2Lm9Xc4" not in result.stdout + result.stderr
    both = run_cli("--redact", "--payload", image)
    assert both.returncode == 2
    assert both.stdout == ""
