"""Benchmark runner. Each section module has `run(quick: bool) -> list[Figure]`.

Speed figures are measured beside a baseline in the same run and reported as ratios too,
because this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

RESULTS_PATH = Path("build/bench/results.json")

# section name -> module; a section whose module is missing is reported as skipped
SECTIONS: dict[str, str] = {
    "serial": "bench.serial_bench",
    "qr": "bench.qr_bench",
    "agent": "bench.agent_bench",
    "kiosk": "bench.kiosk_bench",
    "fleet": "bench.fleet_bench",  # --quick: 200 kiosks, broker down 3 s (< ~1 min)
    "city": "bench.city_bench",  # ingest, lag at 5,000 ev/s, fleet of 10,000; needs PostgreSQL
    "rollout": "bench.rollout_bench",  # city.rollout.*: a staged rollout to 1,000 kiosks
    "console": "bench.console_bench",  # every console screen at 10,000 kiosks, 10 M events
    "reports": "bench.reports_bench",  # 3 M resident events, report queries, rollup hook cost
}


@dataclass(frozen=True)
class Figure:
    """One measured number; `key` is its dotted name in results.json (`serial.idcard.p99_ms`)."""

    key: str
    value: float | int | str | None
    unit: str = ""
    note: str = ""


def _format(value: float | int | str | None) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def print_table(figures: list[Figure]) -> None:
    """A plain aligned table on stdout."""
    width = max((len(f.key) for f in figures), default=10)
    print(f"{'figure':<{width}}  {'value':>14}  unit        note")
    print("-" * (width + 50))
    for f in figures:
        print(f"{f.key:<{width}}  {_format(f.value):>14}  {f.unit:<10}  {f.note}")


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections (default all) and write the JSON results."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="fewer iterations, for development")
    parser.add_argument("sections", nargs="*", metavar="SECTION", help=", ".join(SECTIONS))
    args = parser.parse_args(argv)
    unknown = [name for name in args.sections if name not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    args.sections = args.sections or list(SECTIONS)

    results: dict[str, object] = {
        "meta": {
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "quick": args.quick,
            "python": platform.python_version(),
            "machine": platform.machine(),
        }
    }
    figures: list[Figure] = []
    for name in args.sections:
        try:
            module = importlib.import_module(SECTIONS[name])
        except ModuleNotFoundError as exc:
            if exc.name != SECTIONS[name]:
                raise
            figures.append(Figure(f"{name}.skipped", "not built yet"))
            continue
        print(f"== {name}", file=sys.stderr, flush=True)
        figures.extend(module.run(args.quick))
    for f in figures:
        results[f.key] = f.value
    print_table(figures)
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten {RESULTS_PATH}")
    return 0
