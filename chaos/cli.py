"""`python -m chaos [--quick] [SCENARIO...]`: run fault scenarios, one summary line each.

Exits 1 if any scenario lost an event, showed a different event under a seen id or sequence
number, or hit an untyped error; the lines also go to build/chaos/results.json.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from chaos.report import Result, write_results

# name -> "module:function"; each function is run(workdir, quick) -> Result
SCENARIOS: dict[str, str] = {
    "agent_sigkill": "chaos.scenarios.network:agent_sigkill",
    "broker_restart": "chaos.scenarios.network:broker_restart",
    "partition": "chaos.scenarios.network:partition",
    "disk_full": "chaos.scenarios.disk:disk_full",
    "clock_jump": "chaos.scenarios.clock:clock_jump",
    "serial": "chaos.scenarios.serial:serial_faults",
    "kiosk_crash": "chaos.scenarios.kiosk_crash:kiosk_crash",
    "cluster_node_kill": "chaos.scenarios.cluster:node_kill",
    "ingest_worker_sigkill": "chaos.scenarios.ingest:worker_sigkill",
    "postgres_restart": "chaos.scenarios.ingest:postgres_restart",
    "kiosk_presence": "chaos.scenarios.ingest:kiosk_presence",
}


def scenario(name: str) -> Callable[[Path, bool], Result]:
    """The run function of a scenario by name."""
    module, function = SCENARIOS[name].split(":")
    run: Callable[[Path, bool], Result] = getattr(importlib.import_module(module), function)
    return run


def run_one(name: str, quick: bool) -> Result:
    """Run one scenario in a fresh temp dir; an unexpected exception is a failed result."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"chaos-{name}-") as tmp:
        try:
            result = scenario(name)(Path(tmp), quick)
        except Exception as exc:  # noqa: BLE001 - a crashed scenario is reported, not hidden
            result = Result(name, problems=[f"harness error: {type(exc).__name__}: {exc}"])
    result.elapsed_s = time.monotonic() - started
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the chosen scenarios (default all), print a line each, write results.json."""
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller loops (< ~3 min in all)")
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help=", ".join(SCENARIOS))
    args = parser.parse_args(argv)
    unknown = [name for name in args.scenarios if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {unknown[0]!r}; known: {', '.join(SCENARIOS)}")
    logging.basicConfig(level=logging.ERROR)
    results = []
    for name in args.scenarios or list(SCENARIOS):
        print(f"== {name}", file=sys.stderr, flush=True)
        result = run_one(name, args.quick)
        print(result.summary(), flush=True)
        results.append(result)
    path = write_results(results, args.quick)
    print(f"written {path}")
    return 0 if all(r.ok for r in results) else 1
