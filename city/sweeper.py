"""The alert sweeper: every `alerts.sweep_interval_s`, evaluate the rules over the fleet tables
and step every alert's lifecycle. Each ingest worker calls `tick`; a transaction-scoped
advisory lock lets exactly one of them sweep at a time (no second scheduler to deploy).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import psycopg

from city.alert_store import save, unresolved
from city.config import CityConfig
from city.notify import LogNotifier, Notifier, WebhookNotifier
from city.rules import Condition, KioskSnapshot, Transition, conditions, step

SWEEP_LOCK_KEY = 0x43495455  # pg_try_advisory_xact_lock key of the sweeper


def default_notifiers(config: CityConfig) -> list[Notifier]:
    """The log, plus the webhook when one is configured."""
    notifiers: list[Notifier] = [LogNotifier()]
    webhook = config.alerts.notifiers.webhook_url
    if webhook:
        notifiers.append(WebhookNotifier(webhook, config.alerts.notifiers.webhook_timeout_s))
    return notifiers


def load_snapshots(conn: psycopg.Connection) -> list[KioskSnapshot]:
    """What the rules read, for every kiosk, in four queries."""
    faults: dict[str, dict[str, datetime]] = defaultdict(dict)
    for kiosk, device, since in conn.execute(
        "SELECT kiosk, device, fault_since FROM device_states WHERE fault_since IS NOT NULL"
    ):
        faults[kiosk][device] = since
    reported: dict[str, dict[str, tuple[str, datetime]]] = defaultdict(dict)
    for kiosk, kind, message, at in conn.execute(
        "SELECT kiosk, kind, message, at FROM agent_alerts"
    ):
        reported[kiosk][kind] = (message, at)
    gaps = {
        kiosk: (opened, int(missing))
        for kiosk, opened, missing in conn.execute(
            "SELECT kiosk, min(opened_at), sum(last_seq - first_seq + 1) FROM seq_gaps"
            " GROUP BY kiosk"
        )
    }
    snapshots = []
    for row in conn.execute(
        "SELECT kiosk, presence, presence_since, last_heartbeat_at, oldest_unsent_age_s,"
        " free_disk_mb, clock_synchronised, opening_hours FROM kiosks"
    ):
        kiosk, presence, since, heartbeat, oldest, disk, clock, hours = row
        opened, missing = gaps.get(kiosk, (None, 0))
        snapshots.append(
            KioskSnapshot(
                kiosk,
                presence,
                since,
                heartbeat,
                oldest,
                disk,
                clock,
                hours,
                device_faults=faults.get(kiosk, {}),
                agent_alerts=reported.get(kiosk, {}),
                oldest_gap_opened_at=opened,
                missing_events=missing,
            )
        )
    return snapshots


class Sweeper:
    """Runs the rules when due; `now` is injectable (tests drive it by hand)."""

    def __init__(
        self,
        config: CityConfig,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        notifiers: Sequence[Notifier] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.now = now
        self.monotonic = monotonic
        self.notifiers = list(notifiers) if notifiers is not None else default_notifiers(config)
        self.zone = ZoneInfo(config.timezone)
        self.next_due = 0.0

    def tick(self, conn: psycopg.Connection) -> None:
        """Sweep if the interval has passed."""
        if self.monotonic() < self.next_due:
            return
        self.next_due = self.monotonic() + self.config.alerts.sweep_interval_s
        self.sweep(conn)

    def sweep(self, conn: psycopg.Connection) -> list[Transition]:
        """One evaluation under the advisory lock; returns what it notified."""
        row = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (SWEEP_LOCK_KEY,)).fetchone()
        if not row or not row[0]:
            conn.rollback()
            return []
        now = self.now()
        local = now.astimezone(self.zone)
        rules = self.config.alerts.rules
        active: dict[Condition, str] = {}
        for snapshot in load_snapshots(conn):
            active.update(conditions(snapshot, now, local, rules, self.config.gaps.alert_after_s))
        changed, transitions = step(unresolved(conn), active, now, rules.clear_after_s)
        saved = {a.condition: a for a in save(conn, changed)}
        conn.commit()
        transitions = [
            Transition(t.kind, saved.get(t.alert.condition, t.alert)) for t in transitions
        ]
        for notifier in self.notifiers:
            notifier.notify(transitions)
        return transitions
