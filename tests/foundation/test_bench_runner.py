"""`make bench` runs every section by default and refuses unknown ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import runner


def test_no_arguments_means_every_section(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without section names the runner runs all of them (here: every one reported skipped)."""
    ran: list[str] = []
    monkeypatch.setattr(runner, "SECTIONS", {"a": "bench.no_such_a", "b": "bench.no_such_b"})
    monkeypatch.setattr(runner, "RESULTS_PATH", tmp_path / "results.json")
    monkeypatch.setattr(runner, "print_table", lambda figures: ran.extend(f.key for f in figures))
    assert runner.main([]) == 0
    assert ran == ["a.skipped", "b.skipped"]


def test_unknown_section_is_a_usage_error() -> None:
    """A typo in a section name stops with a message, not a traceback."""
    with pytest.raises(SystemExit) as caught:
        runner.main(["nope"])
    assert caught.value.code == 2
