"""What verified commands do: atomic config swaps with rollback, and requests to the kiosk.

The kiosk process watches `DATA_DIR/requests/`: the agent writes `restart_kiosk.json`,
`run_diagnostics.json` or `reload_config.json` there (atomically) and the kiosk acts on them;
names and shapes live in common/kiosk_agent.py.
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

import yaml

from common.kiosk_agent import RequestKind, encode_request, request_path
from edge_agent.commands import Command, result_data

MAX_CONFIG_BYTES = 1024 * 1024
VERSION_MAX_CHARS = 64
CONFIG_KINDS = ("catalogue", "ui_texts")
VERSIONS_FILE = "config-versions.json"

Validator = Callable[[bytes], None]


def default_validator(content: bytes) -> None:
    """Well-formed YAML/JSON mapping with a `version`; ValueError otherwise."""
    try:
        document = yaml.safe_load(content.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError):
        raise ValueError("not well-formed UTF-8 YAML/JSON") from None
    if not isinstance(document, dict) or "version" not in document:
        raise ValueError("expected a mapping with a version")


def content_version(content: bytes) -> str:
    """The `version` field of a (validated) config document, as text."""
    document = yaml.safe_load(content.decode("utf-8"))
    return str(document["version"])


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: write a temp file, fsync it, rename, fsync the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with temp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Actions:
    """Executes verified commands; every call returns command.result data."""

    data_dir: Path
    config_files: Mapping[str, Path]
    validators: Mapping[str, Validator] = field(default_factory=dict)
    after_swap: Callable[[str, Path], None] | None = None
    diagnostics: Callable[[], dict[str, Any]] = dict
    clock: Callable[[], float] = time.time

    def run(self, command: Command) -> dict[str, Any]:
        """Execute one command that passed verification."""
        handler = {
            "ping": self._ping,
            "set_config": self._set_config,
            "run_diagnostics": self._run_diagnostics,
            "restart_kiosk": self._restart_kiosk,
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

    def _run_diagnostics(self, command: Command) -> dict[str, Any]:
        self._request("run_diagnostics", command)
        return self._ok(command, {"requested": True, "agent": self.diagnostics()})

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
        if kind not in self.config_files or not isinstance(content, str):
            return invalid
        if not isinstance(version, str) or not 0 < len(version) <= VERSION_MAX_CHARS:
            return invalid
        raw = content.encode("utf-8")
        if len(raw) > MAX_CONFIG_BYTES:
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
                _fsync_dir(target.parent)
            else:
                with contextlib.suppress(FileNotFoundError):
                    target.unlink()
            raise
