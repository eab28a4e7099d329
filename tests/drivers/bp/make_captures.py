"""Builds the committed BP captures from simulator runs; `python -m tests.drivers.bp.make_captures`.

`test_cli.py` checks that the committed files still equal what this produces.
"""

from __future__ import annotations

from pathlib import Path

from tests.drivers.bp.wire import run_measurement

CAPTURE_DIR = Path(__file__).parent / "captures"
HEX_BYTES_PER_LINE = 16


def suntech_capture() -> bytes:
    """Both directions of a normal, a garbage-burst and a loose-cuff SunTech measurement."""
    runs = [
        run_measurement("suntech", s, seed=7) for s in ("normal", "garbage_bursts", "cuff_error")
    ]
    return b"".join(bytes(run.line) for run in runs)


def omron_capture() -> bytes:
    """Hypertensive, movement, loose-cuff and garbage-burst Omron lines, plus a cut-off tail."""
    scenarios = ("hypertensive", "movement", "cuff_error", "garbage_bursts")
    lines = b"".join(bytes(run_measurement("omron9030", s, seed=7).line) for s in scenarios)
    return lines + b"2025,01,06,09"


def to_hex(data: bytes) -> str:
    """A hex dump the CLI's --hex reads back: 16 space-separated bytes per line."""
    rows = [data[i : i + HEX_BYTES_PER_LINE] for i in range(0, len(data), HEX_BYTES_PER_LINE)]
    return "".join(row.hex(" ") + "\n" for row in rows)


def expected_files() -> dict[str, bytes]:
    """File name -> content of every committed capture."""
    suntech, omron = suntech_capture(), omron_capture()
    return {
        "suntech_session.bin": suntech,
        "suntech_session.hex": to_hex(suntech).encode("ascii"),
        "omron9030_lines.bin": omron,
        "omron9030_lines.hex": to_hex(omron).encode("ascii"),
    }


def main() -> None:
    """Rewrite the committed captures."""
    CAPTURE_DIR.mkdir(exist_ok=True)
    for name, content in expected_files().items():
        (CAPTURE_DIR / name).write_bytes(content)


if __name__ == "__main__":
    main()
