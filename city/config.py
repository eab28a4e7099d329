"""The city platform's configuration (city/dev.yaml): frozen typed objects, path-qualified errors.

Built with the same builder as the kiosk config (common.typed_config): unknown keys are refused
with a "did you mean", every problem is reported at once with its dotted path.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from common.typed_config import Problem, build, field, in_range, mqtt_url, non_empty

ENV_OVERRIDES: Mapping[str, tuple[str, str]] = {
    "CITY_DATABASE_URL": ("database", "url"),
    "CITY_BROKER_URL": ("broker", "url"),
}
REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONTRACT_DIR = REPO / "docs" / "contract" / "schemas"


def _database_url(value: Any) -> str | None:
    if urlsplit(str(value)).scheme in ("postgresql", "postgres"):
        return None
    return "expected postgresql://USER@HOST[:PORT]/DB (or ?host=/socket/dir)"


_broker_url = mqtt_url


def _amqp_urls(value: Any) -> str | tuple[str, str] | None:
    if not value:
        return "list at least one amqp://USER:PASS@HOST:PORT/VHOST (one per cluster node)"
    for index, url in enumerate(value):
        parts = urlsplit(str(url))
        if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
            return f"[{index}]", "expected amqp://USER:PASS@HOST[:PORT]/VHOST or amqps://…"
        try:
            _ = parts.port
        except ValueError:
            return f"[{index}]", "the port must be a number"
    return None


def _broker_complete(broker: BrokerConfig) -> tuple[str, str] | None:
    if broker.kind == "mqtt" and broker.url is None:
        return "url", "required"
    if broker.kind == "amqp" and not broker.amqp_urls:
        return "amqp_urls", "required when kind is amqp (one URL per cluster node)"
    return None


def _timezone(value: Any) -> str | None:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        return "unknown time zone (use an IANA name such as Asia/Shanghai)"
    return None


def _topic_root(value: Any) -> str | None:
    levels = str(value).split("/")
    if len(levels) == 2 and all(levels) and not any(c in str(value) for c in "+#$"):
        return None
    return "must be exactly two topic levels ROOT/vN, e.g. gov-kiosk/v1"


@dataclass(frozen=True)
class DatabaseConfig:
    """Where the events and the fleet state live."""

    url: str = field(check=_database_url, doc="libpq URL; CITY_DATABASE_URL overrides it")
    connect_timeout_s: float = field(5.0, check=in_range(0.5, 120))


@dataclass(frozen=True)
class BrokerConfig:
    """Where the kiosks' messages are read: an MQTT 5 broker, or a RabbitMQ cluster's queue.

    `kind: mqtt` subscribes to `$share/GROUP/…` at `url`; `kind: amqp` consumes the quorum
    queue `queue` (bound to amq.topic, where RabbitMQ's MQTT plugin routes the kiosks'
    publishes) from any node in `amqp_urls` (docs/design.md §5).
    """

    kind: Literal["mqtt", "amqp"] = "mqtt"
    url: str | None = field(None, check=_broker_url, doc="CITY_BROKER_URL overrides it")
    amqp_urls: tuple[str, ...] = field((), check=_amqp_urls, doc="one AMQP URL per node")
    queue: str = field("city.ingest", check=non_empty, doc="the quorum queue (kind: amqp)")
    topic_root: str = field("gov-kiosk/v1", check=_topic_root)
    share_group: str = field("ingest", check=non_empty, doc="$share/GROUP/… for the workers")
    client_id_prefix: str = field("city-ingest", check=non_empty)
    session_expiry_s: int = field(
        86_400, check=in_range(60, 4_294_967_294), doc="how long a dead worker's share waits"
    )
    keepalive_s: int = field(30, check=in_range(5, 3600))


@dataclass(frozen=True)
class IngestConfig:
    """Batching and input bounds of one ingest worker."""

    batch_max_events: int = field(2000, check=in_range(1, 100_000))
    batch_max_delay_ms: int = field(50, check=in_range(1, 10_000))
    receive_maximum: int = field(
        1000, check=in_range(1, 65_535), doc="MQTT 5 Receive Maximum: unacked messages in flight"
    )
    prefetch: int = field(
        1000, check=in_range(1, 65_535), doc="AMQP basic.qos prefetch: unacked deliveries"
    )
    max_payload_bytes: int = field(4_000_000, check=in_range(1024, 256_000_000))
    quarantine_raw_max_bytes: int = field(4096, check=in_range(0, 1_000_000))


@dataclass(frozen=True)
class GapConfig:
    """Seq gap tracking on the `main` stream."""

    alert_after_s: float = field(300.0, check=in_range(1, 30 * 86_400))


@dataclass(frozen=True)
class RulesConfig:
    """Alert thresholds; each is one condition per kiosk (and device, where it applies)."""

    offline_after_s: float = field(600.0, check=in_range(1, 86_400))
    heartbeat_interval_s: float = field(60.0, check=in_range(1, 86_400))
    heartbeat_missed_intervals: int = field(3, check=in_range(1, 1000))
    device_fault_after_s: float = field(300.0, check=in_range(0, 86_400))
    backlog_after_s: float = field(1800.0, check=in_range(1, 30 * 86_400))
    disk_low_mb: float = field(500.0, check=in_range(0, 10_000_000))
    clock_unsynchronised: bool = True
    clear_after_s: float = field(
        120.0, check=in_range(0, 86_400), doc="hysteresis: false this long before it resolves"
    )
    agent_alert_hold_s: float = field(900.0, check=in_range(1, 86_400 * 7))


@dataclass(frozen=True)
class NotifierConfig:
    """Where alert transitions go: the log always, a webhook when a URL is set."""

    webhook_url: str | None = None
    webhook_timeout_s: float = field(5.0, check=in_range(0.1, 60))


@dataclass(frozen=True)
class AlertConfig:
    """The alert sweeper (one worker at a time runs it, under an advisory lock)."""

    sweep_interval_s: float = field(10.0, check=in_range(0.1, 3600))
    rules: RulesConfig = field(RulesConfig())
    notifiers: NotifierConfig = field(NotifierConfig())


def as_date(value: date | str) -> date:
    """A YAML date (unquoted) or a quoted YYYY-MM-DD; ValueError otherwise."""
    if isinstance(value, date):
        return value
    if len(value) != len("2026-01-01"):
        raise ValueError(value)
    return date.fromisoformat(value)


def _distinct_dates(value: Any) -> str | tuple[str, str] | None:
    days = []
    for index, item in enumerate(value):
        try:
            days.append(as_date(item))
        except ValueError:
            return f"[{index}]", "expected a date YYYY-MM-DD"
    return None if len(set(days)) == len(days) else "lists a date twice"


@dataclass(frozen=True)
class ReportsConfig:
    """好差评 follow-ups, opening-hours checks and early warning (docs/reports.md)."""

    followup_working_days: int = field(
        5, check=in_range(1, 60), doc="a 差评's follow-up is due this many working days later"
    )
    holidays: tuple[date | str, ...] = field(
        (), check=_distinct_dates, doc="public holidays (YYYY-MM-DD): not working days"
    )
    workdays: tuple[date | str, ...] = field(
        (), check=_distinct_dates, doc="weekend days worked instead (调休): working days"
    )
    min_open_hours: float = field(8.0, check=in_range(0, 24), doc="a centre opens this long a day")
    warning_window_days: int = field(
        30, check=in_range(1, 365), doc="two grade 2-3 visits this close put a resident on the list"
    )


@dataclass(frozen=True)
class LoginLimitConfig:
    """Failed logins allowed within `window_s`, per account and per client address."""

    window_s: float = field(900.0, check=in_range(10, 86_400))
    per_account: int = field(5, check=in_range(1, 1000))
    per_address: int = field(20, check=in_range(1, 100_000))


@dataclass(frozen=True)
class ConsoleConfig:
    """The web console city staff use (docs/console.md); `python -m city console`."""

    host: str = field("127.0.0.1", check=non_empty)
    port: int = field(8080, check=in_range(1, 65_535))
    session_secret_file: Path | None = field(
        None, doc="≥ 32 random bytes; keys the session hashes; never in the database"
    )
    signing_key_file: Path | None = field(
        None, doc="the city's Ed25519 private key for signed commands (city.publish)"
    )
    session_ttl_s: float = field(8 * 3600.0, check=in_range(60, 30 * 86_400))
    cookie_secure: Literal["auto", "always", "never"] = field(
        "auto", doc="auto: Secure when the request came over https"
    )
    page_size: int = field(100, check=in_range(10, 1000))
    login_limits: LoginLimitConfig = field(LoginLimitConfig())
    development: bool = field(False, doc="make run: create the dev account with a printed password")


@dataclass(frozen=True)
class PublishingConfig:
    """Signed commands and rollouts (city/commands.py, city/rollouts.py)."""

    command_ttl_s: float = field(
        300.0, check=in_range(10, 7 * 86_400), doc="a command's window (expires_at - issued_at)"
    )
    max_attempts: int = field(5, check=in_range(1, 100), doc="sends of one command at most")
    dispatch_interval_s: float = field(1.0, check=in_range(0.05, 60))
    broker_url: str | None = field(
        None, check=_broker_url, doc="where commands are published (default: broker.url)"
    )
    client_id_prefix: str = field("city-commands", check=non_empty)


@dataclass(frozen=True)
class PointsConfig:
    """The responder answering the kiosks' online red-points calls (docs/points.md)."""

    share_group: str = field("points", check=non_empty, doc="$share/GROUP/…/calls")
    client_id_prefix: str = field("city-responder", check=non_empty)
    max_call_bytes: int = field(8192, check=in_range(512, 1_000_000))
    receive_maximum: int = field(
        64, check=in_range(1, 65_535), doc="MQTT 5 Receive Maximum: calls in flight per responder"
    )
    calls_per_kiosk_burst: int = field(
        30, check=in_range(1, 100_000), doc="calls one kiosk may make at once (per responder)"
    )
    calls_per_kiosk_refill_s: float = field(
        1.0, check=in_range(0.001, 3600.0), doc="then one more call every this many seconds"
    )


def _key_id(value: Any) -> str | None:
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", str(value)):
        return None
    return "1-64 letters, digits, '_' or '-' (the kiosks' requests key_id names this key)"


@dataclass(frozen=True)
class RequestsConfig:
    """Resident requests (诉求, docs/requests-city.md): the city's X25519 request key."""

    private_key_file: Path | None = field(
        None,
        doc="PEM X25519 private key that opens call-back numbers; read by the console only,"
        " never stored in the database (python -m city requests keygen --out FILE)",
    )
    key_id: str = field("k1", check=_key_id, doc="the id kiosks seal to (callback.key_id)")


@dataclass(frozen=True)
class CityConfig:
    """One city platform deployment."""

    database: DatabaseConfig
    broker: BrokerConfig = field(check=_broker_complete)
    ingest: IngestConfig = field(IngestConfig())
    gaps: GapConfig = field(GapConfig())
    alerts: AlertConfig = field(AlertConfig())
    inventory: Path | None = field(None, doc="YAML list of the kiosks that should exist")
    contract_dir: Path = field(DEFAULT_CONTRACT_DIR, doc="docs/contract/schemas")
    timezone: str = field("Asia/Shanghai", check=_timezone, doc="for inventory opening hours")
    console: ConsoleConfig = field(ConsoleConfig())
    publishing: PublishingConfig = field(PublishingConfig())
    points: PointsConfig = field(PointsConfig())
    reports: ReportsConfig = field(ReportsConfig())
    requests: RequestsConfig = field(RequestsConfig())


class CityConfigError(ValueError):
    """The file has problems; `problems` lists every one of them with its path."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s)\n{lines}")


def load_city_config(path: str | Path, env: Mapping[str, str] | None = None) -> CityConfig:
    """Read and validate a city config file; CityConfigError lists every problem."""
    path = Path(path)
    source = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CityConfigError(source, [Problem("", f"cannot read: {exc}")]) from None
    except yaml.YAMLError as exc:
        raise CityConfigError(source, [Problem("", f"YAML error: {exc}")]) from None
    return city_config_from_data(raw, source=source, base_dir=path.parent, env=env)


def city_config_from_data(
    raw: Any, *, source: str, base_dir: Path, env: Mapping[str, str] | None = None
) -> CityConfig:
    """Validate parsed YAML into a CityConfig, environment overrides applied first."""
    env = os.environ if env is None else env
    if isinstance(raw, dict):
        raw = dict(raw)
        for variable, (section, key) in ENV_OVERRIDES.items():
            value = env.get(variable)
            if value:
                current = raw.get(section)
                raw[section] = {**(current if isinstance(current, dict) else {}), key: value}
    problems: list[Problem] = []
    config = build(CityConfig, raw, "", problems)
    if problems or config is None:
        raise CityConfigError(source, problems)
    return dataclasses.replace(
        config,
        inventory=None if config.inventory is None else _resolve(base_dir, config.inventory),
        contract_dir=_resolve(base_dir, config.contract_dir),
        console=dataclasses.replace(
            config.console,
            session_secret_file=_resolve_optional(base_dir, config.console.session_secret_file),
            signing_key_file=_resolve_optional(base_dir, config.console.signing_key_file),
        ),
        requests=dataclasses.replace(
            config.requests,
            private_key_file=_resolve_optional(base_dir, config.requests.private_key_file),
        ),
    )


def _resolve_optional(base_dir: Path, path: Path | None) -> Path | None:
    return None if path is None else _resolve(base_dir, path)


def _resolve(base_dir: Path, path: Path) -> Path:
    return path if path.is_absolute() else (base_dir / path).resolve()
