"""`python -m config check` validates catalogue files alongside kiosk configs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.catalogue.samples import REPO, SHIPPED, small_document, write


def run_check(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "config", "check", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        timeout=60,
    )


def test_shipped_catalogue_and_dev_config_pass_together() -> None:
    """The shipped catalogue and config/dev.yaml both check out: exit status 0."""
    result = run_check(SHIPPED, REPO / "config" / "dev.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{SHIPPED}: ok (catalogue " in result.stdout


def test_broken_catalogue_prints_one_path_qualified_line_per_problem(tmp_path: Path) -> None:
    """A catalogue with three mistakes prints three `FILE: path: message` lines and exits 1."""
    doc = small_document()
    doc["items"][1]["category"] = "yibao2"
    doc["items"][2]["materials"] = []
    del doc["items"][0]["name"]["en"]
    bad = write(tmp_path, doc)
    result = run_check(bad)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{bad}: items[0].name.en: required",
        f"{bad}: items[1].category: unknown category 'yibao2'; did you mean 'yibao'?",
        f"{bad}: items[2].materials: list what to bring; `[]` is allowed only when "
        "handling.mode is 'here'",
    ]


def test_a_file_marked_as_catalogue_is_not_checked_as_kiosk_config(tmp_path: Path) -> None:
    """`kind: catalogue` alone routes to the catalogue checker (no `identity: required`)."""
    bad = write(tmp_path, {"kind": "catalogue"})
    result = run_check(bad)
    assert result.returncode == 1
    assert f"{bad}: items: required" in result.stdout
    assert "identity" not in result.stdout


def test_mixed_good_and_bad_files_fail_overall(tmp_path: Path) -> None:
    """One bad file among good ones makes the whole check fail, and the good one still says ok."""
    good = write(tmp_path, small_document(), "good.yaml")
    bad = write(tmp_path, {**small_document(), "city": "Shenzhen"}, "bad.yaml")
    result = run_check(good, bad)
    assert result.returncode == 1
    assert f"{good}: ok (catalogue test-1, 3 items)" in result.stdout
    assert f"{bad}: city: expected a 6-digit division code" in result.stdout
