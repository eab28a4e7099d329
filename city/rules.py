"""Sans-I/O alert rules and the alert lifecycle (à la Alertmanager), time passed in.

A rule turns a kiosk's snapshot into active conditions `(kiosk, rule, subject)`. The lifecycle
keeps one alert per condition: it opens when the condition holds, may be acknowledged, and
resolves only after the condition has been false for `clear_after_s` without a break
(hysteresis: a flapping kiosk keeps one open alert instead of a storm of them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from city.config import RulesConfig
from city.inventory import parse_hours

State = Literal["open", "acknowledged", "resolved"]
Condition = tuple[str, str, str]  # (kiosk, rule, subject)


@dataclass(frozen=True)
class KioskSnapshot:
    """What the rules read of one kiosk (times are the city's receipt times, UTC)."""

    kiosk: str
    presence: str
    presence_since: datetime | None
    last_heartbeat_at: datetime | None
    oldest_unsent_age_s: float | None
    free_disk_mb: float | None
    clock_synchronised: bool | None
    opening_hours: str | None = None
    device_faults: Mapping[str, datetime] = field(default_factory=dict)
    agent_alerts: Mapping[str, tuple[str, datetime]] = field(default_factory=dict)
    oldest_gap_opened_at: datetime | None = None
    missing_events: int = 0


def _open_now(hours: str | None, local: datetime) -> bool:
    try:
        parsed = parse_hours(hours or "")
    except ValueError:
        return True  # the inventory loader reports it; never hide an alert because of it
    return parsed is None or parsed.is_open(local)


def conditions(
    kiosk: KioskSnapshot,
    now: datetime,
    local_now: datetime,
    rules: RulesConfig,
    gap_alert_after_s: float,
) -> dict[Condition, str]:
    """The kiosk's active conditions at `now`, each with a human message (no PII)."""
    active: dict[Condition, str] = {}

    def hold(rule: str, message: str, subject: str = "") -> None:
        active[(kiosk.kiosk, rule, subject)] = message

    def older(moment: datetime | None, seconds: float) -> bool:
        return moment is not None and now - moment > timedelta(seconds=seconds)

    if (
        kiosk.presence == "offline"
        and older(kiosk.presence_since, rules.offline_after_s)
        and _open_now(kiosk.opening_hours, local_now)
    ):
        hold("offline", f"offline for more than {rules.offline_after_s:g} s in opening hours")
    silent_for = rules.heartbeat_interval_s * rules.heartbeat_missed_intervals
    if kiosk.presence == "online" and older(
        kiosk.last_heartbeat_at or kiosk.presence_since, silent_for
    ):
        hold("heartbeat_missing", f"no heartbeat for {rules.heartbeat_missed_intervals} intervals")
    for device, since in kiosk.device_faults.items():
        if older(since, rules.device_fault_after_s):
            hold(
                "device_fault", f"{device} faulty for over {rules.device_fault_after_s:g} s", device
            )
    if kiosk.oldest_unsent_age_s is not None and kiosk.oldest_unsent_age_s > rules.backlog_after_s:
        hold("backlog", f"oldest unsent event is {kiosk.oldest_unsent_age_s:.0f} s old")
    if rules.clock_unsynchronised and kiosk.clock_synchronised is False:
        hold("clock_unsynchronised", "the kiosk's clock is not synchronised")
    if kiosk.free_disk_mb is not None and kiosk.free_disk_mb < rules.disk_low_mb:
        hold("disk_low", f"{kiosk.free_disk_mb:.0f} MB free (threshold {rules.disk_low_mb:g})")
    for kind, (message, at) in kiosk.agent_alerts.items():
        if not older(at, rules.agent_alert_hold_s):
            hold("agent_alert", message[:200], kind)
    if older(kiosk.oldest_gap_opened_at, gap_alert_after_s):
        hold("seq_gap", f"{kiosk.missing_events} events missing for over {gap_alert_after_s:g} s")
    return active


@dataclass(frozen=True)
class Alert:
    """One alert's stored state."""

    id: int | None
    kiosk: str
    rule: str
    subject: str
    state: State
    message: str
    opened_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    clear_since: datetime | None = None

    @property
    def condition(self) -> Condition:
        """(kiosk, rule, subject)."""
        return (self.kiosk, self.rule, self.subject)


@dataclass(frozen=True)
class Transition:
    """A change worth notifying: `opened` or `resolved` (with the alert after it)."""

    kind: Literal["opened", "resolved"]
    alert: Alert


def step(
    current: Iterable[Alert], active: Mapping[Condition, str], now: datetime, clear_after_s: float
) -> tuple[list[Alert], list[Transition]]:
    """The unresolved alerts' next states (changed ones only) and the transitions to notify."""
    changed: list[Alert] = []
    transitions: list[Transition] = []
    by_condition = {a.condition: a for a in current if a.state != "resolved"}
    for condition, message in active.items():
        alert = by_condition.get(condition)
        if alert is None:
            kiosk, rule, subject = condition
            opened = Alert(None, kiosk, rule, subject, "open", message, now)
            changed.append(opened)
            transitions.append(Transition("opened", opened))
        elif alert.clear_since is not None or alert.message != message:
            changed.append(replace(alert, clear_since=None, message=message))
    for condition, alert in by_condition.items():
        if condition in active:
            continue
        if alert.clear_since is None:
            changed.append(replace(alert, clear_since=now))
        elif now - alert.clear_since >= timedelta(seconds=clear_after_s):
            resolved = replace(alert, state="resolved", resolved_at=now)
            changed.append(resolved)
            transitions.append(Transition("resolved", resolved))
    return changed, transitions
