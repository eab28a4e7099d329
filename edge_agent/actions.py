"""What verified commands do: atomic config swaps with rollback, and requests to the kiosk.

The kiosk process watches `DATA_DIR/requests/`: the agent writes `restart_kiosk.json`,
`run_diagnostics.json` or `reload_config.json` there (atomically) and the kiosk acts on them.
`run_diagnostics` is answered later: the kiosk writes its per-device self-test reports to
`run_diagnostics.result.json`, and `collect_diagnostics()` turns them (or, after
DIAGNOSTICS_WAIT_S, their absence) into the command's result. The kiosk runs as another user,
so that file is bounded and sanitised like any outside input. The files' names and shapes
live in common/kiosk_agent.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.kiosk_agent import (
    MAX_PENDING_SIGNUP_RESULTS,
    RequestKind,
    diagnostics_result_path,
    encode_request,
    fsync_dir,
    parse_signup_result,
    replace_file,
    request_path,
    signup_results_dir,
)
from config.catalogue import parse_bounded_document
from config.loader import ConfigError
from edge_agent.commands import Command, result_data

MAX_CONFIG_BYTES = 1024 * 1024
VERSION_MAX_CHARS = 64
CONFIG_KINDS = ("catalogue", "ui_texts", "activities")
VERSIONS_FILE = "config-versions.json"
# Diagnostics runs still waiting for the kiosk's answer, kept across agent restarts so a restart
# within DIAGNOSTICS_WAIT_S still answers the city (its retry would be refused as a replay).
PENDING_DIAGNOSTICS_FILE = "pending-diagnostics.json"

DIAGNOSTICS_WAIT_S = 40.0  # the kiosk gives its devices 20 s; beyond this it is not answering
MAX_DIAGNOSTICS_RESULT_BYTES = 64 * 1024
MAX_PENDING_DIAGNOSTICS = 8
MAX_PENDING_FILE_BYTES = 4096
MAX_COMMAND_ID_CHARS = 36  # command ids are UUIDs (docs/contract/schemas/command.schema.json)
DEVICE_NAMES = ("idcard", "bp", "qrscan", "camera", "printer")
MAX_CHECKS = 8
MAX_CHECK_NAME_CHARS = 32
MAX_CHECK_DETAIL_CHARS = 120

Validator = Callable[[bytes], None]


def _clean_text(value: Any, limit: int) -> str:
    """Printable text only, capped: the kiosk's strings are echoed to the city."""
    text = value if isinstance(value, str) else ""
    return "".join(ch for ch in text if ch.isprintable())[:limit]


def _device_report(raw: Any) -> dict[str, Any] | None:
    """One sanitised per-device report, or None if it is not one."""
    if not isinstance(raw, dict) or raw.get("device") not in DEVICE_NAMES:
        return None
    checks = raw.get("checks")
    if not isinstance(checks, list) or not isinstance(raw.get("ok"), bool):
        return None
    duration = raw.get("duration_s")
    clean_checks = [
        {
            "name": _clean_text(c.get("name"), MAX_CHECK_NAME_CHARS),
            "ok": c.get("ok") is True,
            "detail": _clean_text(c.get("detail"), MAX_CHECK_DETAIL_CHARS),
        }
        for c in checks[:MAX_CHECKS]
        if isinstance(c, dict)
    ]
    return {
        "device": raw["device"],
        "ok": raw["ok"] and all(c["ok"] for c in clean_checks) and bool(clean_checks),
        "duration_s": round(float(duration), 3)
        if isinstance(duration, int | float)
        and not isinstance(duration, bool)
        and 0 <= duration < 3600
        else None,
        "checks": clean_checks,
    }


def default_validator(content: bytes) -> None:
    """Well-formed YAML/JSON mapping with a `version`, within the catalogue's limits."""
    content_version(content)


def content_version(content: bytes) -> str:
    """The `version` field of a config document, as text; ValueError if there is none.

    Every kind is parsed through the catalogue's bounded reader (size, nesting, node count):
    a few hundred bytes of YAML aliases must not expand into gigabytes.
    """
    try:
        document = parse_bounded_document(content, "set_config")
    except ConfigError as exc:
        problems = "; ".join(p.message for p in exc.problems)
        raise ValueError(f"not well-formed UTF-8 YAML/JSON within limits: {problems}") from None
    if not isinstance(document, dict) or "version" not in document:
        raise ValueError("expected a mapping with a version")
    return str(document["version"])


def _utf8(text: str) -> bytes | None:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, from a \ud800 escape in the JSON
        return None


def _load_pending(path: Path) -> dict[str, float]:
    """The pending runs an earlier agent left; anything unreadable or odd is dropped."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_PENDING_FILE_BYTES + 1)
        document = json.loads(raw) if len(raw) <= MAX_PENDING_FILE_BYTES else None
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(document, dict):
        return {}
    pending = {
        command_id: float(give_up_s)
        for command_id, give_up_s in document.items()
        if isinstance(command_id, str)
        and len(command_id) <= MAX_COMMAND_ID_CHARS
        and isinstance(give_up_s, int | float)
        and not isinstance(give_up_s, bool)
    }
    return dict(list(pending.items())[:MAX_PENDING_DIAGNOSTICS])


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` durably, the directory's rename included."""
    replace_file(path, data, sync_dir=True)


@dataclass
class Actions:
    """Executes verified commands; every call returns command.result data."""

    data_dir: Path
    config_files: Mapping[str, Path]
    validators: Mapping[str, Validator] = field(default_factory=dict)
    after_swap: Callable[[str, Path], None] | None = None
    diagnostics: Callable[[], dict[str, Any]] = dict
    clock: Callable[[], float] = time.time
    diagnostics_wait_s: float = DIAGNOSTICS_WAIT_S
    _pending: dict[str, float] = field(default_factory=dict)  # command id → give-up time

    def __post_init__(self) -> None:
        self._pending = _load_pending(self.data_dir / PENDING_DIAGNOSTICS_FILE)

    def _save_pending(self) -> None:
        document = json.dumps(self._pending, sort_keys=True).encode("utf-8")
        write_atomically(self.data_dir / PENDING_DIAGNOSTICS_FILE, document)

    def run(self, command: Command) -> dict[str, Any] | None:
        """Execute one command that passed verification; None when the result comes later."""
        handler = {
            "ping": self._ping,
            "set_config": self._set_config,
            "run_diagnostics": self._run_diagnostics,
            "restart_kiosk": self._restart_kiosk,
            "activity_signup_result": self._activity_signup_result,
        }[command["type"]]
        return handler(command)

    def _ok(self, command: Command, detail: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return result_data(command["id"], command["type"], "ok", None, detail)

    def _ping(self, command: Command) -> dict[str, Any]:
        return self._ok(command, {"pong": True})

    def _request(self, kind: RequestKind, command: Command) -> None:
        body = {"command_id": command["id"], "requested_at": self.clock(), **command["args"]}
        write_atomically(request_path(self.data_dir, kind), encode_request(body))

    def _restart_kiosk(self, command: Command) -> dict[str, Any]:
        self._request("restart_kiosk", command)
        return self._ok(command, {"requested": True})

    def _activity_signup_result(self, command: Command) -> dict[str, Any]:
        # The kiosk records it in its private store; the agent only hands it over, one file per
        # sign-up (docs/contract/README.md), so answers arriving together never overwrite.
        result = parse_signup_result(command["args"])
        if result is None:
            return result_data(command["id"], command["type"], "rejected", "invalid_payload")
        directory = signup_results_dir(self.data_dir)
        try:
            pending = sum(1 for _ in directory.glob("*.json")) if directory.exists() else 0
            if pending >= MAX_PENDING_SIGNUP_RESULTS:
                raise OSError("the kiosk is not taking sign-up results")
            path = directory / f"{result.signup_id}.json"
            write_atomically(path, json.dumps(result.as_dict(), ensure_ascii=False).encode())
        except OSError as exc:
            detail = {"problem": f"{type(exc).__name__}: {str(exc)[:160]}"}
            return result_data(command["id"], command["type"], "failed", "execution_failed", detail)
        return self._ok(command, {"signup_id": result.signup_id, "handed_to_kiosk": True})

    def _run_diagnostics(self, command: Command) -> dict[str, Any] | None:
        self._request("run_diagnostics", command)
        if len(self._pending) >= MAX_PENDING_DIAGNOSTICS:
            # the kiosk is not answering the earlier ones either: say so now, keep no more state
            return self._diagnostics_result(command["id"], None)
        self._pending[command["id"]] = self.clock() + self.diagnostics_wait_s
        self._save_pending()
        return None

    def _diagnostics_result(self, command_id: str, answer: dict[str, Any] | None) -> dict[str, Any]:
        detail: dict[str, Any] = {"requested": True, "agent": self.diagnostics()}
        if answer is None:
            detail["problem"] = (
                f"the kiosk did not report its self-tests within {self.diagnostics_wait_s:g} s"
            )
            return result_data(command_id, "run_diagnostics", "failed", "execution_failed", detail)
        return result_data(command_id, "run_diagnostics", "ok", None, {**detail, **answer})

    def collect_diagnostics(self) -> list[dict[str, Any]]:
        """command.result data for diagnostics runs the kiosk answered or that timed out."""
        if not self._pending:
            return []
        results = []
        answer = self._take_diagnostics_answer()
        if answer is not None:
            command_id, body = answer
            if self._pending.pop(command_id, None) is not None:
                results.append(self._diagnostics_result(command_id, body))
        now = self.clock()
        for command_id, give_up_s in list(self._pending.items()):
            if now >= give_up_s:
                del self._pending[command_id]
                results.append(self._diagnostics_result(command_id, None))
        if results:
            self._save_pending()
        return results

    def _take_diagnostics_answer(self) -> tuple[str, dict[str, Any]] | None:
        path = diagnostics_result_path(self.data_dir)
        try:
            with path.open("rb") as handle:
                raw = handle.read(MAX_DIAGNOSTICS_RESULT_BYTES + 1)
        except OSError:
            return None
        with contextlib.suppress(OSError):
            path.unlink()
        try:
            if len(raw) > MAX_DIAGNOSTICS_RESULT_BYTES:
                raise ValueError("too large")
            document = json.loads(raw)
        except (ValueError, RecursionError):
            return None
        if not isinstance(document, dict) or not isinstance(document.get("command_id"), str):
            return None
        devices = document.get("devices")
        missing = document.get("missing")
        reports = [
            r for r in map(_device_report, devices if isinstance(devices, list) else []) if r
        ]
        absent = [d for d in (missing if isinstance(missing, list) else []) if d in DEVICE_NAMES]
        return document["command_id"], {"devices": reports[: len(DEVICE_NAMES)], "missing": absent}

    def versions(self) -> dict[str, str]:
        """Applied config versions by kind."""
        try:
            loaded = json.loads((self.data_dir / VERSIONS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}

    def _set_config(self, command: Command) -> dict[str, Any]:
        args = command["args"]
        kind, version, content = args.get("kind"), args.get("version"), args.get("content")
        invalid = result_data(command["id"], command["type"], "rejected", "invalid_payload")
        known = isinstance(kind, str) and kind in self.config_files  # kind may be unhashable
        raw = _utf8(content) if isinstance(content, str) else None
        if not known or raw is None or len(raw) > MAX_CONFIG_BYTES:
            return invalid
        if not isinstance(version, str) or not 0 < len(version) <= VERSION_MAX_CHARS:
            return invalid
        try:
            self.validators.get(kind, default_validator)(raw)
            if content_version(raw) != version:
                raise ValueError("document version differs from the command's")
        except ValueError as exc:
            return {**invalid, "detail": {"problem": str(exc)[:200]}}
        try:
            self._swap(kind, self.config_files[kind], raw, version)
        except (OSError, ValueError) as exc:
            return result_data(
                command["id"],
                command["type"],
                "failed",
                "execution_failed",
                {"problem": f"{type(exc).__name__}: {str(exc)[:160]}", "rolled_back": True},
            )
        return self._ok(command, {"kind": kind, "version": version})

    def _swap(self, kind: str, target: Path, raw: bytes, version: str) -> None:
        backup = target.with_name(f".{target.name}.prev")
        had_previous = target.exists()
        if had_previous:
            write_atomically(backup, target.read_bytes())
        write_atomically(target, raw)
        try:
            if self.after_swap is not None:
                self.after_swap(kind, target)
            versions = {**self.versions(), kind: version}
            write_atomically(self.data_dir / VERSIONS_FILE, json.dumps(versions).encode())
            body = {"kind": kind, "version": version, "requested_at": self.clock()}
            write_atomically(request_path(self.data_dir, "reload_config"), encode_request(body))
        except (OSError, ValueError):
            if had_previous:
                os.replace(backup, target)
                fsync_dir(target.parent)
            else:
                with contextlib.suppress(FileNotFoundError):
                    target.unlink()
            raise
