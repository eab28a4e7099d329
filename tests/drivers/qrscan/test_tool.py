"""Technician CLI for serial scanners: capture replay and probing, never printing payloads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from drivers.qrscan.frames import MenuStatus, encode_menu_reply
from drivers.qrscan.tool import decode_capture, guess_suffix

CAPTURES = Path(__file__).parent / "captures"
SAMPLE_CAPTURE = CAPTURES / "sample_cr.bin"
SAMPLE_URL = "https://kiosk.example.org/checkin/T0K3N-42"


def sample_capture() -> bytes:
    """The committed capture, regenerated: codes, a menu echo, garbage and a truncated tail."""
    return (
        SAMPLE_URL.encode()
        + b"\r"
        + b"\x00\x9f\x1b\x7f\r"
        + encode_menu_reply("TRGMOD0", MenuStatus.ACK, volatile=True)
        + b"0123456789012345\r"
        + b"AB\x07CD\r"
        + b"MIC0A1B2C3D4\r"
        + b"half-a-co"
    )


EXPECTED = [
    {"kind": "qr", "token_kind": "url", "length": len(SAMPLE_URL)},
    {"error": "non_printable", "offset": 43},
    {"kind": "menu_reply", "text": "TRGMOD0", "statuses": ["ack"], "volatile": True},
    {"kind": "qr", "token_kind": "numeric", "length": 16},
    {"error": "non_printable", "offset": 74},
    {"kind": "qr", "token_kind": "unknown", "length": 12},
    {"error": "truncated", "offset": 93},
]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m drivers ARGS` from the repository root."""
    root = Path(__file__).resolve().parents[3]
    return subprocess.run(
        [sys.executable, "-m", "drivers", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_committed_capture_is_regenerable() -> None:
    """The capture file under captures/ is exactly what `sample_capture()` builds."""
    assert SAMPLE_CAPTURE.read_bytes() == sample_capture()


def test_decode_capture_records() -> None:
    """Each code is kind+length only; discarded bytes carry reason and offset."""
    assert list(decode_capture(sample_capture())) == EXPECTED


def test_suffix_is_guessed_from_the_capture() -> None:
    """CRLF, CR and LF captures are recognised; LF lines decode with the guess."""
    assert guess_suffix(b"a\r\nb\r\n").value == b"\r\n"
    assert guess_suffix(b"a\nb\n").value == b"\n"
    assert guess_suffix(b"").value == b"\r"
    assert (
        list(decode_capture(b"12\n34\n"))
        == [{"kind": "qr", "token_kind": "numeric", "length": 2}] * 2
    )


def test_cli_decode_qrscan_prints_json_without_payloads() -> None:
    """`python -m drivers decode qrscan FILE` prints the records and no payload text."""
    result = run_cli("decode", "qrscan", str(SAMPLE_CAPTURE))
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == EXPECTED
    assert "T0K3N" not in result.stdout + result.stderr
    assert "0123456789012345" not in result.stdout


def test_cli_decode_qrscan_hex_dump(tmp_path: Path) -> None:
    """A hex dump of the capture decodes like the raw bytes."""
    dump = tmp_path / "capture.hex"
    dump.write_text(sample_capture().hex(" "))
    result = run_cli("decode", "qrscan", str(dump), "--hex")
    assert [json.loads(line) for line in result.stdout.splitlines()] == EXPECTED


def test_cli_probe_simulated_scanner() -> None:
    """`python -m drivers probe qrscan sim://qrscan` triggers and reports one code's shape."""
    result = run_cli("probe", "qrscan", "sim://qrscan?scenario=default", "--timeout", "5")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "kind": "qr",
        "token_kind": "url",
        "length": len(SAMPLE_URL),
    }
    assert "T0K3N" not in result.stdout + result.stderr
