"""Disk full: the size cap, a low free-disk reading, and a real tiny tmpfs (when mounting works).

Each variant fills the outbox while the broker is out of reach, then heals. Pass means: every
must-keep event that `put()` accepted reaches the city; every one that did not fit raised
OutboxFull (never a silent drop, never another exception); heartbeats were shed first.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from chaos.agent_thread import SupervisedAgent
from chaos.harness import Stage, stage, tally
from chaos.kiosks import write_config
from chaos.proxy import Proxy
from chaos.report import Result
from config import load_config
from edge_agent.heartbeat import heartbeat_data
from edge_agent.outbox import HeartbeatShed, Outbox, OutboxFull
from edge_agent.outbox_config import open_outbox

PADDING = "x" * 180  # the test event's note: ~500-byte events fill 1 MB in ~2,000 puts
REFUSALS_TO_CONFIRM = 20
PREFILL_HEARTBEATS = 300
HEAL_TIMEOUT_S = 30.0
MAX_FILL_PUTS = 40_000
FILL_BATCH = 50
DELIVERY_GRACE_S = 0.5  # PUBACKed rows reach the subscriber within ms on loopback
TMPFS_BYTES = 6 * 1024 * 1024
MB = 1024 * 1024
MOUNT = shutil.which("mount") or "/usr/bin/mount"
UMOUNT = shutil.which("umount") or "/usr/bin/umount"


class FreeDisk:
    """A free-disk reading the scenario sets."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __call__(self) -> int:
        return self.value


def _fill(box: Outbox, result: Result, accepted: set[str], max_puts: int) -> int:
    """Put must-keep events until REFUSALS_TO_CONFIRM in a row were refused; refusals."""
    refused = in_a_row = 0
    index = 0
    with contextlib.suppress(OutboxFull):  # group commits while there is plenty of room
        while index < max_puts:
            batch = [("test", {"index": index + n, "note": PADDING}) for n in range(FILL_BATCH)]
            accepted.update(event["id"] for event in box.put_many(batch))
            index += FILL_BATCH
    for n in range(index, max_puts):
        try:
            accepted.add(box.put("test", {"index": n, "note": PADDING})["id"])
            in_a_row = 0
        except OutboxFull:
            refused += 1
            in_a_row += 1
            if in_a_row >= REFUSALS_TO_CONFIRM:
                break
        except Exception as exc:  # noqa: BLE001 - anything but OutboxFull is the finding
            result.problems.append(f"a must-keep put raised {type(exc).__name__}")
            in_a_row += 1
            if in_a_row >= REFUSALS_TO_CONFIRM:
                break
    return refused


def _heartbeats(box: Outbox, count: int, result: Result, name: str) -> tuple[set[str], int]:
    """Store heartbeats as an agent offline for a long time would; (stored ids, shed)."""
    ids, shed = set(), 0
    untyped: set[str] = set()
    for _ in range(count):
        data = heartbeat_data(box, free_disk_bytes=lambda: 10**9, uptime_s=1.0, now=time.time())
        try:
            ids.add(box.put("heartbeat", data)["id"])
        except (HeartbeatShed, OutboxFull):  # OutboxFull: the filesystem itself is full
            shed += 1
        except Exception as exc:  # noqa: BLE001 - an untyped error is the finding
            shed += 1
            untyped.add(type(exc).__name__)
    for kind in sorted(untyped):
        result.problems.append(f"{name}: a heartbeat put raised {kind}, not HeartbeatShed")
    return ids, shed


def _wait_drained(box: Outbox, timeout_s: float) -> None:
    """Until the agent has had every row acknowledged (then the city has them too)."""
    deadline = time.monotonic() + timeout_s
    while box.depth() > 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(DELIVERY_GRACE_S)


def _recovered_put(box: Outbox, timeout_s: float) -> float | None:
    """Seconds until a must-keep put is accepted again."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        with contextlib.suppress(OutboxFull):
            box.put("test", {"note": "after heal"})
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def _variant(
    st: Stage,
    name: str,
    result: Result,
    accepted: set[str],
    *,
    agent_options: dict[str, Any],
    free: FreeDisk | None = None,
    squeeze: Callable[[], object] = lambda: None,
    heal: Callable[[], object] = lambda: None,
) -> None:
    """Broker out of reach: heartbeats pile up, `squeeze()`, fill, `heal()`, reconnect, drain."""
    proxy = Proxy(st.broker.host, st.broker.port)
    proxy.start()
    proxy.set_mode("drop")
    agent_options = {"heartbeat_interval_s": 1, **agent_options}
    path = write_config(st.workdir / name, proxy.url, f"disk-{name}", agent=agent_options)
    config = load_config(path, env={})
    options: dict[str, Any] = {"free_disk": free} if free is not None else {}
    agent = SupervisedAgent(config, **options)
    try:
        # Opened before the agent starts: two first opens at once can fail (see the report).
        with open_outbox(config, **options) as box:
            agent.start()
            heartbeat_ids, shed = _heartbeats(box, PREFILL_HEARTBEATS, result, name)
            squeeze()
            refused = _fill(box, result, accepted, MAX_FILL_PUTS)
            late_ids, late_shed = _heartbeats(box, 5, result, name)
            depth_full = box.depth()
            heal()
            proxy.set_mode("pass")
            recovered = _recovered_put(box, HEAL_TIMEOUT_S)
            _wait_drained(box, HEAL_TIMEOUT_S)
        st.city.wait_for(accepted, HEAL_TIMEOUT_S)
        heartbeat_ids |= late_ids
        shed += late_shed + len(heartbeat_ids) - st.city.seen(heartbeat_ids)
    finally:
        agent.stop()
        proxy.stop()
    if refused == 0:
        result.problems.append(f"{name}: never refused a put")
    if shed == 0:
        result.problems.append(f"{name}: no heartbeat was shed")
    if recovered is None:
        result.problems.append(f"{name}: puts not accepted again after healing")
    else:
        result.recovery_s.append(recovered)
    result.extra[f"{name}.refused"] = refused
    result.extra[f"{name}.heartbeats_shed"] = shed
    result.extra[f"{name}.depth_full"] = depth_full
    if agent.crashes:
        result.extra[f"{name}.agent_crashes"] = len(agent.crashes)
        result.extra[f"{name}.crash"] = agent.crashes[0]


@contextlib.contextmanager
def _tmpfs(where: Path, size_bytes: int) -> Iterator[Path | None]:
    """A tiny tmpfs mounted at `where`, or None when mounting is not permitted here."""
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(  # noqa: S603 - fixed argv, our own temp dir
        [MOUNT, "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        yield None
        return
    try:
        yield where
    finally:
        subprocess.run([UMOUNT, "-l", str(where)], capture_output=True, check=False)  # noqa: S603


def disk_full(workdir: Path, quick: bool) -> Result:
    """Size cap, low free disk, and a real full filesystem; nothing accepted is lost."""
    del quick  # the same small sizes in both modes
    result = Result("disk_full")
    accepted: set[str] = set()
    with stage(workdir) as st:
        _variant(
            st, "size_cap", result, accepted,
            agent_options={"outbox_max_mb": 1, "min_free_disk_mb": 0},
        )  # fmt: skip
        free = FreeDisk(500 * MB)
        _variant(
            st, "disk_low", result, accepted,
            agent_options={"outbox_max_mb": 100, "min_free_disk_mb": 200},
            free=free,
            squeeze=lambda: setattr(free, "value", 150 * MB),
            heal=lambda: setattr(free, "value", 500 * MB),
        )  # fmt: skip
        with _tmpfs(workdir / "tmpfs" / "data", TMPFS_BYTES) as mounted:
            if mounted is None:
                result.extra["tmpfs"] = "mount not permitted; skipped"
            else:
                _variant(
                    st, "tmpfs", result, accepted,
                    agent_options={"outbox_max_mb": 100, "min_free_disk_mb": 0},
                    heal=lambda: _remount(mounted, 4 * TMPFS_BYTES),
                )  # fmt: skip
        tally(result, st.city, accepted, timeout_s=HEAL_TIMEOUT_S)
    return result


def _remount(where: Path, size_bytes: int) -> None:
    """Grow the tmpfs: the technician freed space."""
    argv = [MOUNT, "-o", f"remount,size={size_bytes}", str(where)]
    subprocess.run(argv, capture_output=True, check=False)  # noqa: S603 - fixed argv
