"""`python -m drivers qr IMAGE...`: the decoded texts of sample images, or digests with --redact."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from drivers.camera.tool import decode_images
from tests.drivers.camera.scenes import LONG_TOKEN, SHORT_TOKEN


def digest8(text: str) -> str:
    """First 8 hex digits of SHA-256."""
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def test_decode_images_records(scene_dir: Path) -> None:
    """Each image yields its file and codes; a directory expands; a missing file is an error."""
    images = [scene_dir / "short_480p.png", scene_dir / "empty_480p.png", scene_dir / "nope.png"]
    records = list(decode_images(images))
    assert records[0] == {"file": str(images[0]), "codes": [SHORT_TOKEN]}
    assert records[1] == {"file": str(images[1]), "codes": []}
    assert records[2] == {"file": str(scene_dir / "nope.png"), "error": "unreadable image"}
    redacted = list(decode_images(images[:1], redact=True))
    assert redacted[0]["codes"] == [
        {"kind": "url", "length": len(SHORT_TOKEN), "sha256_8": digest8(SHORT_TOKEN)}
    ]
    by_file = {
        Path(r["file"]).name: r for r in decode_images([scene_dir], backend="pyzbar", redact=True)
    }
    assert by_file["long_720p.png"]["codes"][0]["sha256_8"] == digest8(LONG_TOKEN)
    assert by_file["other_480p.png"]["codes"][0]["kind"] == "numeric"


def test_cli_qr_prints_texts_and_redacts_on_request(scene_dir: Path) -> None:
    """One JSON object per image with the decoded texts; --redact prints no payload text."""
    root = Path(__file__).resolve().parents[3]
    images = [str(scene_dir / "short_720p.png"), str(scene_dir / "long_720p.png")]
    plain = subprocess.run(
        [sys.executable, "-m", "drivers", "qr", *images],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert plain.returncode == 0, plain.stderr
    assert [json.loads(line) for line in plain.stdout.splitlines()] == [
        {"file": images[0], "codes": [SHORT_TOKEN]},
        {"file": images[1], "codes": [LONG_TOKEN]},
    ]
    result = subprocess.run(
        [sys.executable, "-m", "drivers", "qr", "--redact", *images],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["file"] for r in records] == images
    assert [r["codes"][0]["length"] for r in records] == [len(SHORT_TOKEN), len(LONG_TOKEN)]
    output = result.stdout + result.stderr
    assert "Qr7Tk2Lm9Xc4" not in output
    assert "Lp3Lp3" not in output
