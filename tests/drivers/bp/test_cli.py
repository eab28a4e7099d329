"""The technician CLI over committed captures and a simulated meter (real subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.drivers.bp.make_captures import CAPTURE_DIR, expected_files

REPO = Path(__file__).resolve().parents[3]
SUNTECH_KEYS = ["kind", "error_code", "systolic", "diastolic", "pulse", "mean", "error"]
OMRON_KEYS = [
    "kind", "error_code", "systolic", "diastolic", "pulse", "movement", "taken_at", "error",
]  # fmt: skip


def run_cli(*args: str) -> list[dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-m", "drivers", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_committed_captures_match_the_simulator() -> None:
    """The captures on disk are exactly what the simulator frames produce today."""
    for name, content in expected_files().items():
        assert (CAPTURE_DIR / name).read_bytes() == content, name


@pytest.mark.parametrize(("kind", "stem"), [
    ("bp-suntech", "suntech_session"), ("bp-omron9030", "omron9030_lines"),
])  # fmt: skip
def test_decode_raw_and_hex_agree(kind: str, stem: str) -> None:
    """`decode KIND FILE` and `decode KIND FILE --hex` print the same records."""
    raw = run_cli("decode", kind, str(CAPTURE_DIR / f"{stem}.bin"))
    assert raw == run_cli("decode", kind, str(CAPTURE_DIR / f"{stem}.hex"), "--hex")


def test_decode_suntech_capture() -> None:
    """SunTech results carry mean and plain-words errors; garbage is reported with offsets."""
    records = run_cli("decode", "bp-suntech", str(CAPTURE_DIR / "suntech_session.bin"))
    results = [r for r in records if r.get("kind") == "bp_result"]
    assert all(list(r) == SUNTECH_KEYS for r in results)
    assert [(r["systolic"], r["error_code"]) for r in results] == [(118, 0), (118, 0), (None, 87)]
    assert results[2]["error"] is not None
    assert "leaking" in str(results[2]["error"])
    assert any(list(r) == ["error", "offset"] for r in records)
    cuffs = [r["mmhg"] for r in records if r.get("kind") == "cuff_pressure"]
    assert max(int(str(m)) for m in cuffs) >= 170


def test_decode_omron_capture() -> None:
    """Omron results carry movement and taken_at; the ID field is never printed."""
    out = subprocess.run(
        [sys.executable, "-m", "drivers", "decode", "bp-omron9030",
         str(CAPTURE_DIR / "omron9030_lines.bin")],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "SIM-0001" not in out
    records = [json.loads(line) for line in out.splitlines()]
    results = [r for r in records if r.get("kind") == "bp_result"]
    assert all(list(r) == OMRON_KEYS for r in results)
    assert [(r["systolic"], r["movement"], r["error_code"]) for r in results] == [
        (165, 0, 0), (118, 1, 0), (None, 0, 1), (118, 0, 0),
    ]  # fmt: skip
    assert all(type(r["movement"]) is int for r in results)  # a count, not a bool (item 12)
    assert results[0]["taken_at"] == "2025-01-06T09:00"
    assert records[-1] == {"error": "incomplete line", "offset": 234}


def test_probe_simulated_meter() -> None:
    """`probe bp sim://…` prints cuff pressures, then the result."""
    records = run_cli(
        "probe", "bp", "sim://bp-suntech?scenario=hypertensive", "--protocol", "suntech"
    )
    assert records[-1]["systolic"] == 165
    assert records[-1]["diastolic"] == 102
    assert all(r["kind"] == "cuff_pressure" for r in records[:-1])
    omron = run_cli("probe", "bp", "sim://bp-omron9030?scenario=normal", "--protocol", "omron9030")
    assert omron[-1]["systolic"] == 118
