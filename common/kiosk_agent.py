"""The files the kiosk and the edge agent talk through, besides the outbox: defined once here.

- `DATA_DIR/agent-status.json`: the agent rewrites it about once a second (`AgentStatus`); the
  kiosk reads `link` from it for the diagnostics screen, `python -m edge_agent status` prints it.
- `DATA_DIR/requests/{kind}.json`: one file per pending request from the city (restart,
  diagnostics, reload a config), written atomically by the agent, taken by the kiosk by renaming
  it away before acting (acted on once, even across a crash).
- `DATA_DIR/requests/run_diagnostics.result.json`: the one answer going back, a diagnostics
  run's per-device self-test reports, written atomically by the kiosk, taken by the agent.
- `DATA_DIR/requests/signup-results/{signup_id}.json`: the city's answer to one activity
  sign-up (`activity_signup_result`), one file each so none overwrites another; the kiosk takes
  them into its private store (the agent's user cannot read that store).
- `DATA_DIR/activities.yaml`: the centre's activities, swapped in by `set_config`.

- `DATA_DIR/calls/`: online calls to the city (docs/points.md "The kiosk ↔ agent channel"). The
  kiosk writes `<call_id>.call.json` atomically (a call.schema.json body without `reply_to`);
  the agent takes it by renaming it to `<call_id>.pending.json` (so a restarted agent still
  answers it), publishes it, and writes `<call_id>.answer.json` atomically: the city's answer,
  or a local one (`timeout`, `offline`, `busy`, `invalid_call`) when the city gave none by the
  call's `expires_at`. The kiosk takes the answer by deleting it. Files and not a socket: the
  agent is one thread stepping a loop (a directory scan fits it, a socket server does not),
  the two processes run as different users and restart independently, and a call survives an
  agent restart because it is a file; it is the same pattern as `requests/`.

Every file comes from another process: readers cap their size and accept only the shapes below.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

STATUS_FILE = "agent-status.json"
REQUESTS_DIR = "requests"
DIAGNOSTICS_RESULT_FILE = "run_diagnostics.result.json"
MAX_STATUS_BYTES = 16 * 1024
MAX_REQUEST_BYTES = 64 * 1024
ACTIVITIES_FILE = "activities.yaml"
SIGNUP_RESULTS_DIR = "signup-results"
MAX_PENDING_SIGNUP_RESULTS = 500  # the kiosk takes them every second; more means it is down
MAX_SIGNUP_RESULT_BYTES = 2048
MAX_SIGNUP_REASON_CHARS = 200
SIGNUP_ID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
SignupOutcome = Literal["confirmed", "refused"]
SIGNUP_OUTCOMES: tuple[SignupOutcome, ...] = ("confirmed", "refused")

CALLS_DIR = "calls"
CALL_SUFFIX = ".call.json"
PENDING_SUFFIX = ".pending.json"
ANSWER_SUFFIX = ".answer.json"
MAX_CALL_BYTES = 8 * 1024
MAX_ANSWER_BYTES = 64 * 1024
# Answers the agent writes itself (status error); the city's own reasons are in
# docs/contract/schemas/answer.schema.json.
LOCAL_REASONS = ("timeout", "offline", "busy", "invalid_call")

RequestKind = Literal["restart_kiosk", "run_diagnostics", "reload_config"]
REQUEST_KINDS: tuple[RequestKind, ...] = ("restart_kiosk", "run_diagnostics", "reload_config")


class LinkState(StrEnum):
    """The agent's broker link as written in the status file's `link` field."""

    STARTING = "starting"  # the process runs, no connection tried yet
    CONNECTING = "connecting"  # a connection attempt is under way
    CONNECTED = "connected"  # the broker accepted us: events flow
    DISCONNECTED = "disconnected"  # lost or refused; `last_error` says why, backoff runs
    STOPPED = "stopped"  # the agent stopped cleanly


@dataclass
class AgentStatus:
    """What `python -m edge_agent status` shows; written to DATA_DIR/agent-status.json."""

    link: str = LinkState.STARTING.value
    outbox_depth: int = 0
    oldest_unsent_age_s: float | None = None
    last_error: str | None = None
    delivered: int = 0
    connects: int = 0
    updated_at: float = 0.0
    pid: int = 0


STATUS_FIELDS = frozenset(f.name for f in fields(AgentStatus))


def diagnostics_result_path(data_dir: Path) -> Path:
    """Where the kiosk leaves a diagnostics run's per-device reports for the agent."""
    return data_dir / REQUESTS_DIR / DIAGNOSTICS_RESULT_FILE


def status_path(data_dir: Path) -> Path:
    """Where the agent writes its status."""
    return data_dir / STATUS_FILE


def read_status(data_dir: Path) -> dict[str, Any] | None:
    """The status file's known fields as the agent wrote them; None if absent or not an object."""
    try:
        with status_path(data_dir).open("rb") as handle:
            raw = handle.read(MAX_STATUS_BYTES + 1)
    except OSError:
        return None
    if len(raw) > MAX_STATUS_BYTES:
        return None
    try:
        status = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(status, dict):
        return None
    return {key: value for key, value in status.items() if key in STATUS_FIELDS}


def broker_connected(data_dir: Path) -> bool:
    """True when the agent last wrote `link: connected`; False if absent or unreadable."""
    status = read_status(data_dir)
    return status is not None and status.get("link") == LinkState.CONNECTED.value


def requests_dir(data_dir: Path) -> Path:
    """Where pending requests from the agent wait for the kiosk."""
    return data_dir / REQUESTS_DIR


def request_path(data_dir: Path, kind: RequestKind) -> Path:
    """The file of one pending request of `kind`."""
    return requests_dir(data_dir) / f"{kind}.json"


def encode_request(body: dict[str, Any]) -> bytes:
    """A request body as the file's bytes (a JSON object)."""
    return json.dumps(body).encode()


def decode_request(raw: bytes) -> dict[str, Any]:
    """A request file's body; an empty file is `{}`; ValueError for anything but an object."""
    if len(raw) > MAX_REQUEST_BYTES:
        raise ValueError("request file too large")
    body = json.loads(raw) if raw.strip() else {}
    if not isinstance(body, dict):
        raise ValueError("not an object")
    return body


@dataclass(frozen=True)
class SignupResult:
    """The city's answer to one sign-up: confirmed or refused, with plain words why."""

    signup_id: str
    outcome: SignupOutcome
    reason: str = ""

    def as_dict(self) -> dict[str, str]:
        """The file's (and the command args') JSON shape."""
        return {"signup_id": self.signup_id, "outcome": self.outcome, "reason": self.reason}


def parse_signup_result(raw: Any) -> SignupResult | None:
    """A SignupResult from command args or a results file; None for any other shape."""
    if not isinstance(raw, dict) or set(raw) - {"signup_id", "outcome", "reason"}:
        return None
    signup_id, outcome, reason = raw.get("signup_id"), raw.get("outcome"), raw.get("reason", "")
    if not isinstance(signup_id, str) or not SIGNUP_ID_RE.fullmatch(signup_id):
        return None
    if outcome not in SIGNUP_OUTCOMES or not isinstance(reason, str):
        return None
    if len(reason) > MAX_SIGNUP_REASON_CHARS or not all(ch.isprintable() for ch in reason):
        return None
    return SignupResult(signup_id, outcome, reason)


def signup_results_dir(data_dir: Path) -> Path:
    """Where the city's sign-up answers wait for the kiosk."""
    return requests_dir(data_dir) / SIGNUP_RESULTS_DIR


def activities_path(data_dir: Path) -> Path:
    """The centre's activities document (set_config kind `activities`)."""
    return data_dir / ACTIVITIES_FILE


def calls_dir(data_dir: Path) -> Path:
    """Where online calls and their answers pass between the kiosk and the agent."""
    return data_dir / CALLS_DIR


def call_path(data_dir: Path, call_id: str) -> Path:
    """The kiosk's call file, waiting for the agent."""
    return calls_dir(data_dir) / f"{call_id}{CALL_SUFFIX}"


def pending_path(data_dir: Path, call_id: str) -> Path:
    """A call the agent took and has not answered yet."""
    return calls_dir(data_dir) / f"{call_id}{PENDING_SUFFIX}"


def answer_path(data_dir: Path, call_id: str) -> Path:
    """The answer the agent leaves for the kiosk."""
    return calls_dir(data_dir) / f"{call_id}{ANSWER_SUFFIX}"


def write_atomically(target: Path, body: dict[str, Any]) -> None:
    """JSON into a temp file in the same directory, fsync, rename: a reader never sees half."""
    replace_file(target, json.dumps(body, ensure_ascii=False).encode("utf-8"))


def replace_file(target: Path, data: bytes, *, sync_dir: bool = False) -> None:
    """Replace `target` with `data`: a temp file beside it, fsync, rename. `sync_dir` also
    fsyncs the directory, so the rename itself survives a power cut (config files do need it;
    a call or an answer that is lost is only asked or answered again)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    with temp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, target)
    if sync_dir:
        fsync_dir(target.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename (or an unlink) in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_bounded_object(path: Path, max_bytes: int) -> dict[str, Any] | None:
    """The JSON object in `path`; None if absent, larger than `max_bytes` or not an object."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError:
        return None
    if len(raw) > max_bytes:
        return None
    try:
        body = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return None
    return body if isinstance(body, dict) else None


def _no_constant(_name: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON")
