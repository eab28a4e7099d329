"""The kiosk configuration as frozen typed objects; defaults live here and nowhere else."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from common.typed_config import mqtt_url
from config.resident_requests import Requests
from config.schema import field, in_range, non_empty

SLUG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def slug(value: Any) -> str | None:
    """Identity parts appear in MQTT topics: letters, digits, `_` and `-` only."""
    if SLUG_RE.match(str(value)):
        return None
    return "use 1-64 letters, digits, '_' or '-' (it becomes part of MQTT topics)"


def serial_port(value: Any) -> str | None:
    """A pyserial URL or device path, or `sim://KIND?scenario=…`."""
    text = str(value)
    if text.startswith(("/", "sim://", "loop://", "socket://", "rfc2217://", "spy://", "COM")):
        return None
    return "expected a device path (/dev/ttyUSB0) or a pyserial URL (socket://…, sim://idcard)"


@dataclass(frozen=True)
class Identity:
    """Where this kiosk is: every event and topic carries these."""

    city: str = field(check=slug, doc="city code, e.g. 440300")
    centre: str = field(check=slug, doc="service centre id")
    kiosk: str = field(check=slug, doc="kiosk id, unique within the centre")
    centre_name: str = field("", doc="name shown on the attract screen")


@dataclass(frozen=True)
class Device:
    """One serial device: port URL, protocol and protocol options."""

    port: str = field(check=serial_port)
    protocol: str = field(check=non_empty)
    baudrate: int | None = field(None, check=lambda v: None if v is None or v > 0 else "must be >0")
    enabled: bool = field(True)
    options: Mapping[str, Any] = field({})


DEVICE_PROTOCOLS: Mapping[str, tuple[str, ...]] = {
    "idcard": ("sam",),
    "bp": ("suntech", "omron9030"),
    "qrscan": ("suffix", "honeywell"),
    "printer": ("escpos",),
}


def device_protocols(devices: Any) -> tuple[str, str] | None:
    """Each known device kind names a protocol we implement."""
    for kind, device in devices.items():
        allowed = DEVICE_PROTOCOLS.get(kind)
        if allowed is None:
            return kind, f"unknown device (known: {', '.join(DEVICE_PROTOCOLS)})"
        if device.protocol not in allowed:
            return f"{kind}.protocol", f"{device.protocol!r} is not one of {', '.join(allowed)}"
    return None


@dataclass(frozen=True)
class Camera:
    """The QR camera: a device index, or a video/image file for demos; null disables it."""

    source: int | str | None = field(0)
    width: int = field(1280, check=in_range(160, 3840))
    height: int = field(720, check=in_range(120, 2160))
    max_fps: float = field(10.0, check=in_range(1, 60))
    backend: str | None = field(None, doc="QR decoder backend; null = the measured best")


@dataclass(frozen=True)
class Tls:
    """TLS files; a `mqtts://` broker URL requires `ca_file`."""

    ca_file: Path | None = field(None)
    cert_file: Path | None = field(None)
    key_file: Path | None = field(None)


@dataclass(frozen=True)
class Mqtt:
    """The link to the city platform."""

    broker_url: str = field("mqtt://127.0.0.1:1883", check=mqtt_url)  # mqtt:// or mqtts://host:port
    # Exactly two topic levels, ROOT/vN, so every topic parameter is one level and the filters
    # docs/contract/README.md documents (gov-kiosk/v1/+/+/+/events) are exact.
    topic_prefix: str = field(
        "gov-kiosk/v1",
        check=lambda v: (
            None
            if re.fullmatch(r"[A-Za-z0-9_-]+/v[1-9][0-9]{0,2}", v)
            else "topic prefix: exactly two levels, ROOT/vN (e.g. gov-kiosk/v1)"
        ),
    )
    tls: Tls = field(Tls())
    username: str | None = field(None)
    password_file: Path | None = field(None)
    keepalive_s: int = field(30, check=in_range(5, 600))
    allow_plaintext: bool = field(
        False,
        doc="allow mqtt:// to a non-loopback broker (closed networks only; never with a password)",
    )
    # auto: MQTT 5, and 3.1.1 from the first CONNACK "unsupported protocol version" on (NATS,
    # older platforms); what 3.1.1 loses is in docs/design.md §4.
    protocol: Literal["auto", "5", "3.1.1"] = field("auto")


@dataclass(frozen=True)
class Agent:
    """Store-and-forward tuning for the edge agent."""

    heartbeat_interval_s: float = field(60.0, check=in_range(1, 3600))
    heartbeat_ttl_s: float = field(3600.0, check=in_range(10, 7 * 86400))
    outbox_max_mb: float = field(256.0, check=in_range(1, 100_000))
    min_free_disk_mb: float = field(200.0, check=in_range(0, 100_000))
    inflight_max: int = field(20, check=in_range(1, 1000))
    batch_max_events: int = field(100, check=in_range(1, 10_000))
    batch_max_bytes: int = field(256_000, check=in_range(1024, 10_000_000))
    # Each kiosk retries an unreachable broker once per window at its own random phase, so it
    # is back within this long of the broker and the fleet arrives at <= fleet/window per s
    # (docs/design.md §4); refusals and short-lived connections add backoff_initial_s..max_s.
    reconnect_window_s: float = field(10.0, check=in_range(0.05, 3600))
    backoff_initial_s: float = field(1.0, check=in_range(0.05, 60))
    backoff_max_s: float = field(120.0, check=in_range(1, 3600))
    stable_after_s: float = field(60.0, check=in_range(1, 3600))


@dataclass(frozen=True)
class Commands:
    """Commands from the city: verified against the city's Ed25519 public key."""

    city_public_key: str | None = field(None, doc="base64 of the raw 32-byte Ed25519 key")
    city_public_key_file: Path | None = field(None, doc="PEM file, instead of city_public_key")
    max_clock_skew_s: float = field(300.0, check=in_range(0, 3600))


@dataclass(frozen=True)
class Privacy:
    """Pseudonymisation: ID numbers leave the kiosk only as HMAC-SHA256 under the city's key."""

    pseudonym_key: str | None = field(None, doc="hex or base64, at least 32 bytes")
    pseudonym_key_file: Path | None = field(None, doc="file holding the key, instead")
    pseudonym_key_id: str = field("1", check=slug, doc="which key: lets the city rotate keys")


@dataclass(frozen=True)
class Ui:
    """The touchscreen."""

    language: Literal["zh", "en"] = field("zh")
    idle_timeout_s: float = field(60.0, check=in_range(20, 600))
    countdown_s: float = field(20.0, check=in_range(5, 120))
    text_scale: float = field(1.0, check=in_range(1.0, 2.0))
    high_contrast: bool = field(False)
    voice: bool = field(False)
    fullscreen: bool = field(True)
    show_dev_panel: bool = field(False)
    width: int = field(1920, check=in_range(640, 7680))
    height: int = field(1080, check=in_range(480, 4320))


PIN_HASH_FILE = "technician-pin.hash"
PIN_STATE_FILE = "technician-pin-state.json"


def lockout_steps(steps: Any) -> str | None:
    """Escalating lockouts: at least one, each 10 s..1 day, never shorter than the one before."""
    if not steps:
        return "give at least one lockout duration"
    if any(not 10 <= s <= 86400 for s in steps):
        return "each lockout must be between 10 and 86400 s"
    if any(b < a for a, b in itertools.pairwise(steps)):
        return "lockouts may only grow: list them shortest first"
    return None


@dataclass(frozen=True)
class Technician:
    """Diagnostics mode protection: a scrypt PIN hash only the kiosk user reads, lockouts."""

    pin_hash: str | None = field(None, doc="inline scrypt$… hash: a development kiosk only")
    pin_hash_file: Path | None = field(
        None, doc=f"file with the hash; default PRIVATE_DIR/{PIN_HASH_FILE}"
    )
    max_failures: int = field(5, check=in_range(1, 20))
    # Lockout n lasts steps[n-1] (the last step repeats); only a correct PIN resets the count.
    lockout_steps_s: tuple[float, ...] = field([60.0, 300.0, 900.0, 3600.0], check=lockout_steps)


@dataclass(frozen=True)
class Paths:
    """Where things live; relative paths are relative to the config file."""

    data_dir: Path = field(Path("/var/lib/civic-kiosk"))
    catalogue: Path = field(Path("catalogue.yaml"))
    log_dir: Path | None = field(None)
    # Files only the kiosk (UI) user may read: BP history, PIN state. Not shared with the agent.
    private_dir: Path | None = field(None)

    @property
    def kiosk_private_dir(self) -> Path:
        """`private_dir`, or `DATA_DIR/kiosk-private` when the config leaves it out."""
        return self.private_dir if self.private_dir is not None else self.data_dir / "kiosk-private"


@dataclass(frozen=True)
class KioskConfig:
    """One kiosk's whole configuration."""

    identity: Identity
    devices: Mapping[str, Device] = field({}, check=device_protocols)
    camera: Camera = field(Camera())
    mqtt: Mqtt = field(Mqtt())
    agent: Agent = field(Agent())
    commands: Commands = field(Commands())
    privacy: Privacy = field(Privacy())
    ui: Ui = field(Ui())
    technician: Technician = field(Technician())
    paths: Paths = field(Paths())
    # 诉求 (docs/requests.md); absent: the kiosk offers no requests
    requests: Requests | None = field(None)
    version: int = field(1, check=lambda v: None if v == 1 else "only version 1 exists")
    # The repository's public dev keys and dev PIN, inline PIN hashes, short PINs: only here.
    development: bool = field(False, doc="a development kiosk (never true in the field)")

    @property
    def pin_hash_path(self) -> Path:
        """Where the technician PIN hash lives: `technician.pin_hash_file` or the private dir."""
        configured = self.technician.pin_hash_file
        return (
            configured if configured is not None else self.paths.kiosk_private_dir / PIN_HASH_FILE
        )

    @property
    def pin_state_path(self) -> Path:
        """The persisted PIN failure count and lockout (the kiosk user's private directory)."""
        return self.paths.kiosk_private_dir / PIN_STATE_FILE
