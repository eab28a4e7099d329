"""The contract as third-party tools read it: ajv strict mode and the official AsyncAPI parser."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from edge_agent.contract import CONTRACT_DIR, SCHEMA_DIR

CHECK_DIR = Path(__file__).resolve().parents[2] / "tools" / "contract-check"
CHECK_TIMEOUT_S = 90


def _run_check(contract_dir: Path) -> dict[str, object]:
    node = shutil.which("node")
    assert node is not None, "node is missing: run scripts/bootstrap.sh"
    assert (CHECK_DIR / "node_modules").is_dir(), "npm packages missing: run scripts/bootstrap.sh"
    done = subprocess.run(
        [node, str(CHECK_DIR / "check.js"), str(contract_dir)],
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT_S,
        check=False,
    )
    report: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_every_schema_compiles_in_ajv_strict_mode_and_asyncapi_has_no_diagnostics() -> None:
    """ajv 8 (2020-12, strict) compiles every schema; the AsyncAPI parser reports nothing at all."""
    report = _run_check(CONTRACT_DIR)
    assert report["problems"] == []
    assert report["schemas"] == len(list(SCHEMA_DIR.glob("*.schema.json")))


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "schemas/test.schema.json",
            '"type": "object",\n  "allOf"',
            '"allOf"',
            "strictTypes",
        ),
        ("asyncapi.yaml", "bindingVersion: 0.2.0", "bindingVersion: 9.9.9", "bindingVersion"),
        ("asyncapi.yaml", "asyncapi: 3.1.0", "asyncapi: 3.0.0", "latest-version"),
    ],
)
def test_the_check_catches_what_the_outside_review_found(
    tmp_path: Path, file: str, old: str, new: str, expected: str
) -> None:
    """A schema without `type` beside `allOf`, a wrong bindingVersion or an old AsyncAPI fail."""
    copy = tmp_path / "contract"
    shutil.copytree(CONTRACT_DIR, copy)
    target = copy / file
    text = target.read_text(encoding="utf-8")
    assert old in text
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    problems = _run_check(copy)["problems"]
    assert isinstance(problems, list)
    assert any(expected in str(problem) for problem in problems), problems
