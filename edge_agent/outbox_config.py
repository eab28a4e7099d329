"""The outbox as a config names it: path, identity and limits (the kiosk and the agent share it).

Kept apart from edge_agent.agent so the kiosk process opens the outbox without loading the
MQTT link (paho) or the command verifier.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from config import KioskConfig
from edge_agent.contract import Identity
from edge_agent.outbox import Limits, Outbox

BYTES_PER_MB = 1024 * 1024
OUTBOX_FILE = "outbox.sqlite3"


def identity_of(config: KioskConfig) -> Identity:
    """The contract identity of this kiosk."""
    return Identity(config.identity.city, config.identity.centre, config.identity.kiosk)


def outbox_path(config: KioskConfig) -> Path:
    """Where the shared outbox lives."""
    return config.paths.data_dir / OUTBOX_FILE


def outbox_limits(config: KioskConfig) -> Limits:
    """Size cap, free-disk floor and heartbeat lifetime from the agent's config."""
    return Limits(
        max_bytes=int(config.agent.outbox_max_mb * BYTES_PER_MB),
        min_free_disk_bytes=int(config.agent.min_free_disk_mb * BYTES_PER_MB),
        heartbeat_ttl_s=config.agent.heartbeat_ttl_s,
    )


def open_outbox(config: KioskConfig, *, cls: type[Outbox] = Outbox, **options: Any) -> Outbox:
    """The outbox for this kiosk (the kiosk process and the agent both call this)."""
    return cls(outbox_path(config), identity_of(config), limits=outbox_limits(config), **options)
