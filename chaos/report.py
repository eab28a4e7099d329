"""Scenario results: counts, recovery times, one summary line each, and results.json."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS_PATH = Path("build/chaos/results.json")


@dataclass
class Result:
    """What one scenario measured; `ok` is False on any loss, conflict or untyped error."""

    name: str
    offered: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    conflicts: int = 0  # a different event under a seen (kiosk, boot, seq), or a seen id changed
    recovery_s: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        """Zero lost, zero conflicts, no problems."""
        return self.lost == 0 and self.conflicts == 0 and not self.problems

    def summary(self) -> str:
        """One line: the counts first, then recovery times, then scenario-specific figures."""
        parts = [
            f"{'PASS' if self.ok else 'FAIL'} {self.name:<18}",
            f"offered={self.offered}",
            f"delivered={self.delivered}",
            f"lost={self.lost}",
            f"duplicated={self.duplicated}",
        ]
        if self.conflicts:
            parts.append(f"conflicts={self.conflicts}")
        if self.recovery_s:
            parts.append(f"recovery_s={_spread(self.recovery_s)}")
        parts += [f"{k}={_fmt(v)}" for k, v in self.extra.items()]
        parts.append(f"took={self.elapsed_s:.1f}s")
        line = " ".join(parts)
        if self.problems:
            line += " | " + "; ".join(self.problems[:5])
        return line

    def as_json(self) -> dict[str, Any]:
        """The result as written to results.json."""
        data = asdict(self)
        data["ok"] = self.ok
        data["summary"] = self.summary()
        return data


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _spread(values: Sequence[float]) -> str:
    """`n×, median/max` of recovery times."""
    return f"{len(values)}x median {statistics.median(values):.2f} max {max(values):.2f}"


def write_results(results: Sequence[Result], quick: bool, path: Path = RESULTS_PATH) -> Path:
    """Write every result (and whether the run passed) to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "meta": {
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "quick": quick,
            "ok": all(r.ok for r in results),
        },
        "scenarios": {r.name: r.as_json() for r in results},
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
