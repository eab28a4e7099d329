"""Requests the agent leaves for the kiosk are taken exactly once."""

from __future__ import annotations

import json
from pathlib import Path

from kiosk.runtime.requests import KioskRequest, RequestWatcher


def test_each_request_is_taken_once(tmp_path: Path) -> None:
    """A request file yields one KioskRequest and is gone afterwards."""
    requests = tmp_path / "requests"
    requests.mkdir()
    (requests / "reload_config.json").write_text(json.dumps({"kind": "catalogue", "version": "7"}))
    (requests / "restart_kiosk.json").write_text("{}")
    watcher = RequestWatcher(tmp_path)
    assert watcher.take() == [
        KioskRequest("restart_kiosk", {}),
        KioskRequest("reload_config", {"kind": "catalogue", "version": "7"}),
    ]
    assert watcher.take() == []
    assert list(requests.iterdir()) == []


def test_malformed_or_missing_requests_are_harmless(tmp_path: Path) -> None:
    """No directory, garbage JSON or a non-object body never raise."""
    watcher = RequestWatcher(tmp_path)
    assert watcher.take() == []
    (tmp_path / "requests").mkdir()
    (tmp_path / "requests" / "run_diagnostics.json").write_text("[1, 2")
    assert watcher.take() == []
    (tmp_path / "requests" / "run_diagnostics.json").write_text("[1, 2]")
    assert watcher.take() == []
