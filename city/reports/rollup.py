"""Incremental rollups: the ingest's newly inserted events → counts to add, in its transaction.

`delta_of(events)` is sans-I/O (tests/city/test_report_rollup.py); `apply_delta` upserts the
counts with `n = n + EXCLUDED.n` in sorted key order (two workers adding to the same rows then
lock them in the same order, so they wait instead of deadlocking). The store calls this only
with events it has just inserted, so a redelivered event adds nothing (docs/reports.md).
Every bucket is the city's local day or hour (`timezone` in the city config).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import psycopg

from city.config import CityConfig
from city.reports.calendar import WorkCalendar

LOW_LEVELS = frozenset({1, 2})  # 不满意, 非常不满意: a 差评, which opens a follow-up
SYSTOLIC_LOINC = "8480-6"
DIASTOLIC_LOINC = "8462-4"
PSEUDONYM_SYSTEM = "urn:civic-kiosk:pseudonym:"
# The 2018 Chinese guideline grades isolated systolic hypertension by its systolic value like
# the other classes (kiosk/core/bp_classification.py): 160+ is grade 2.
GRADE_2_SYSTOLIC = 160


class EventLike(Protocol):
    """What the rollup reads of an event row (city.messages.EventRow has it)."""

    @property
    def id(self) -> str: ...
    @property
    def kiosk(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def ts(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class FollowUp:
    """A 差评 to follow up, keyed on the rating event's id."""

    event_id: str
    kiosk: str
    city: str
    centre: str
    item: str
    level: int
    reasons: tuple[str, ...]
    rated_at: datetime
    rated_day: date
    due_day: date


@dataclass(frozen=True)
class HighReading:
    """A consenting resident's grade 2-3 reading: pseudonym and values only."""

    event_id: str
    key_id: str
    subject: str
    session_id: str
    taken_at: datetime
    day: date
    city: str
    centre: str
    classification: str
    systolic: float
    diastolic: float
    heart_rate: float | None


# report_centre_daily's value columns, in order (first/last local hour with a session started)
ENDED_REASONS = ("completed", "user_exit", "idle_timeout", "error", "kiosk_restart")
CENTRE_DAY_COLUMNS = (
    "first_hour",
    "last_hour",
    "sessions",
    *(f"ended_{r}" for r in ENDED_REASONS),
    "identified",
    "anonymous",
    *(f"level_{n}" for n in (1, 2, 3, 4, 5)),
)
# index into CentreDay.counts (CENTRE_DAY_COLUMNS without the two hours)
CENTRE_DAY_USAGE = {
    ("started", "services"): 0,
    ("started", "health"): 0,
    ("started", "activities"): 0,
    ("started", "points"): 0,
    ("started", "requests"): 0,
    **{("ended", r): 1 + i for i, r in enumerate(ENDED_REASONS)},
    ("identified", "yes"): 6,
    ("identified", "no"): 7,
}
CENTRE_DAY_LEVEL = {n: 7 + n for n in (1, 2, 3, 4, 5)}


@dataclass
class CentreDay:
    """One centre's day: first and last local hour with a session started, and counts."""

    first_hour: int | None = None
    last_hour: int | None = None
    counts: list[int] = field(default_factory=lambda: [0] * (len(CENTRE_DAY_COLUMNS) - 2))

    def saw_hour(self, hour: int) -> None:
        """A session started in this local hour."""
        self.first_hour = hour if self.first_hour is None else min(self.first_hour, hour)
        self.last_hour = hour if self.last_hour is None else max(self.last_hour, hour)


@dataclass
class Delta:
    """Counts to add, keyed by their table's primary key."""

    usage: Counter[tuple[date, str, str, str, str]] = field(default_factory=Counter)
    sessions_hourly: Counter[tuple[datetime, str, str]] = field(default_factory=Counter)
    ratings: Counter[tuple[date, str, str, str, int]] = field(default_factory=Counter)
    reasons: Counter[tuple[date, str, str, str, int, str]] = field(default_factory=Counter)
    health: Counter[tuple[date, str, str, str]] = field(default_factory=Counter)
    followups: list[FollowUp] = field(default_factory=list)
    high_readings: list[HighReading] = field(default_factory=list)
    # Coarser grains, summed from the ones above (`coarsen`): what city-wide pages read.
    city_usage: Counter[tuple[date, str, str, str]] = field(default_factory=Counter)
    city_hourly: Counter[tuple[datetime, str]] = field(default_factory=Counter)
    city_ratings: Counter[tuple[date, str, str, int]] = field(default_factory=Counter)
    centre_daily: dict[tuple[date, str, str], CentreDay] = field(default_factory=dict)

    def coarsen(self) -> None:
        """Fill the city-wide and centre-day grains from the fine counts."""
        for (day, city, _centre, metric, key), n in self.usage.items():
            self.city_usage[(day, city, metric, key)] += n
        for (hour, city, _centre), n in self.sessions_hourly.items():
            self.city_hourly[(hour, city)] += n
        for (day, city, _centre, item, level), n in self.ratings.items():
            self.city_ratings[(day, city, item, level)] += n
        for (day, city, centre, metric, key), n in self.usage.items():
            column = CENTRE_DAY_USAGE.get((metric, key))
            if column is not None:
                self._centre_day(day, city, centre).counts[column] += n
        for hour, city, centre in self.sessions_hourly:
            self._centre_day(hour.date(), city, centre).saw_hour(hour.hour)
        for (day, city, centre, _item, level), n in self.ratings.items():
            self._centre_day(day, city, centre).counts[CENTRE_DAY_LEVEL[level]] += n

    def _centre_day(self, day: date, city: str, centre: str) -> CentreDay:
        return self.centre_daily.setdefault((day, city, centre), CentreDay())

    def __bool__(self) -> bool:
        return bool(
            self.usage
            or self.sessions_hourly
            or self.ratings
            or self.health
            or self.followups
            or self.high_readings
        )


@dataclass(frozen=True)
class RollupPolicy:
    """What the rollup needs from the city config."""

    timezone: str = "Asia/Shanghai"
    followup_working_days: int = 5
    calendar: WorkCalendar = field(default_factory=WorkCalendar)


def parse_ts(text: str) -> datetime:
    """A contract timestamp (UTC, `…Z`) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def delta_of(events: Sequence[EventLike], policy: RollupPolicy) -> Delta:
    """The counts and rows these (contract-valid, newly inserted) events add."""
    zone = ZoneInfo(policy.timezone)
    delta = Delta()
    for event in events:
        handler = HANDLERS.get(event.type)
        if handler is None:
            continue
        city, centre, _kiosk = event.kiosk.split("/", 2)
        moment = parse_ts(event.ts)
        local = moment.astimezone(zone)
        handler(delta, event, _Where(city, centre, moment, local, policy))
    delta.coarsen()
    return delta


@dataclass(frozen=True)
class _Where:
    city: str
    centre: str
    moment: datetime
    local: datetime
    policy: RollupPolicy

    @property
    def day(self) -> date:
        return self.local.date()

    def usage_key(self, metric: str, key: str) -> tuple[date, str, str, str, str]:
        return (self.day, self.city, self.centre, metric, key)


def _session_started(delta: Delta, event: EventLike, at: _Where) -> None:
    hour = at.local.replace(minute=0, second=0, microsecond=0, tzinfo=None)
    delta.sessions_hourly[(hour, at.city, at.centre)] += 1
    delta.usage[at.usage_key("started", str(event.data.get("flow", "")))] += 1


def _session_ended(delta: Delta, event: EventLike, at: _Where) -> None:
    delta.usage[at.usage_key("ended", str(event.data.get("reason", "")))] += 1
    identified = event.data.get("identified")
    if identified is not None:
        delta.usage[at.usage_key("identified", "yes" if identified else "no")] += 1


def _card_read(delta: Delta, event: EventLike, at: _Where) -> None:
    delta.usage[at.usage_key("card", str(event.data.get("card_type", "")))] += 1


def _qr_scanned(delta: Delta, event: EventLike, at: _Where) -> None:
    delta.usage[at.usage_key("qr", str(event.data.get("kind", "")))] += 1


def _service_selected(delta: Delta, event: EventLike, at: _Where) -> None:
    delta.usage[at.usage_key("item", str(event.data.get("item_id", "")))] += 1


def _rating_submitted(delta: Delta, event: EventLike, at: _Where) -> None:
    level = int(event.data["level"])
    item = event.data.get("item_id") or ""
    reasons = tuple(str(r) for r in event.data.get("reasons") or ())
    delta.ratings[(at.day, at.city, at.centre, item, level)] += 1
    for reason in dict.fromkeys(reasons):
        delta.reasons[(at.day, at.city, at.centre, item, level, reason)] += 1
    if level in LOW_LEVELS:
        policy = at.policy
        delta.followups.append(
            FollowUp(
                event_id=event.id,
                kiosk=event.kiosk,
                city=at.city,
                centre=at.centre,
                item=item,
                level=level,
                reasons=reasons,
                rated_at=at.moment,
                rated_day=at.day,
                due_day=policy.calendar.add_working_days(at.day, policy.followup_working_days),
            )
        )


def _bp_measured(delta: Delta, event: EventLike, at: _Where) -> None:
    data = event.data
    klass = data.get("classification") or "device_error"
    delta.health[(at.day, at.city, at.centre, str(klass))] += 1
    reading = _high_reading(event, at)
    if reading is not None:
        delta.high_readings.append(reading)


def _high_reading(event: EventLike, at: _Where) -> HighReading | None:
    data = event.data
    observation = data.get("observation")
    subject = data.get("subject")
    if not (data.get("consent") is True and subject and isinstance(observation, dict)):
        return None
    values = {
        c["code"]["coding"][0]["code"]: float(c["valueQuantity"]["value"])
        for c in observation.get("component", ())
    }
    systolic, diastolic = values.get(SYSTOLIC_LOINC), values.get(DIASTOLIC_LOINC)
    if systolic is None or diastolic is None:
        return None
    klass = str(data.get("classification"))
    high = klass in ("grade_2", "grade_3") or (
        klass == "isolated_systolic" and systolic >= GRADE_2_SYSTOLIC
    )
    if not high:
        return None
    system = str(observation.get("subject", {}).get("identifier", {}).get("system", ""))
    key_id = system.removeprefix(PSEUDONYM_SYSTEM) if system.startswith(PSEUDONYM_SYSTEM) else ""
    heart_rate = data.get("heart_rate")
    pulse = None
    if isinstance(heart_rate, dict):
        pulse = float(heart_rate["valueQuantity"]["value"])
    return HighReading(
        event_id=event.id,
        key_id=key_id,
        subject=str(subject),
        session_id=str(data.get("session_id", "")),
        taken_at=at.moment,
        day=at.day,
        city=at.city,
        centre=at.centre,
        classification=klass,
        systolic=systolic,
        diastolic=diastolic,
        heart_rate=pulse,
    )


HANDLERS = {
    "session.started": _session_started,
    "session.ended": _session_ended,
    "card.read": _card_read,
    "qr.scanned": _qr_scanned,
    "service.selected": _service_selected,
    "rating.submitted": _rating_submitted,
    "bp.measured": _bp_measured,
}

# One statement per table: the delta's keys as arrays, unnested in sorted order (each key once).
UPSERTS = {
    "usage": (
        "INSERT INTO report_usage_daily (day, city, centre, metric, key, n)"
        " SELECT * FROM unnest(%s::date[], %s::text[], %s::text[], %s::text[], %s::text[],"
        " %s::bigint[]) ON CONFLICT (day, city, centre, metric, key)"
        " DO UPDATE SET n = report_usage_daily.n + EXCLUDED.n"
    ),
    "sessions_hourly": (
        "INSERT INTO report_sessions_hourly (hour, city, centre, n)"
        " SELECT * FROM unnest(%s::timestamp[], %s::text[], %s::text[], %s::bigint[])"
        " ON CONFLICT (hour, city, centre) DO UPDATE SET n = report_sessions_hourly.n + EXCLUDED.n"
    ),
    "ratings": (
        "INSERT INTO report_ratings_daily (day, city, centre, item, level, n)"
        " SELECT * FROM unnest(%s::date[], %s::text[], %s::text[], %s::text[], %s::smallint[],"
        " %s::bigint[]) ON CONFLICT (day, city, centre, item, level)"
        " DO UPDATE SET n = report_ratings_daily.n + EXCLUDED.n"
    ),
    "reasons": (
        "INSERT INTO report_rating_reasons_daily (day, city, centre, item, level, reason, n)"
        " SELECT * FROM unnest(%s::date[], %s::text[], %s::text[], %s::text[], %s::smallint[],"
        " %s::text[], %s::bigint[]) ON CONFLICT (day, city, centre, item, level, reason)"
        " DO UPDATE SET n = report_rating_reasons_daily.n + EXCLUDED.n"
    ),
    "health": (
        "INSERT INTO report_health_daily (day, city, centre, class, n)"
        " SELECT * FROM unnest(%s::date[], %s::text[], %s::text[], %s::text[], %s::bigint[])"
        " ON CONFLICT (day, city, centre, class)"
        " DO UPDATE SET n = report_health_daily.n + EXCLUDED.n"
    ),
}
UPSERTS |= {
    "city_usage": (
        "INSERT INTO report_city_usage_daily (day, city, metric, key, n)"
        " SELECT * FROM unnest(%s::date[], %s::text[], %s::text[], %s::text[], %s::bigint[])"
        " ON CONFLICT (day, city, metric, key)"
        " DO UPDATE SET n = report_city_usage_daily.n + EXCLUDED.n"
    ),
    "city_hourly": (
        "INSERT INTO report_city_hourly (hour, city, n)"
        " SELECT * FROM unnest(%s::timestamp[], %s::text[], %s::bigint[])"
        " ON CONFLICT (hour, city) DO UPDATE SET n = report_city_hourly.n + EXCLUDED.n"
    ),
    "city_ratings": (
        "INSERT INTO report_city_ratings_daily (day, city, item, level, n)"
        " SELECT * FROM unnest(%s::date[], %s::text[], %s::text[], %s::smallint[], %s::bigint[])"
        " ON CONFLICT (day, city, item, level)"
        " DO UPDATE SET n = report_city_ratings_daily.n + EXCLUDED.n"
    ),
}
_SUMS = ", ".join(f"{c} = t.{c} + EXCLUDED.{c}" for c in CENTRE_DAY_COLUMNS[2:])
UPSERT_CENTRE_DAY = (
    f"INSERT INTO report_centre_daily AS t (day, city, centre, {', '.join(CENTRE_DAY_COLUMNS)})"  # noqa: S608 — constants
    " SELECT * FROM unnest(%s::date[], %s::text[], %s::text[], %s::smallint[], %s::smallint[], "
    + ", ".join(["%s::bigint[]"] * (len(CENTRE_DAY_COLUMNS) - 2))
    + ") ON CONFLICT (day, city, centre) DO UPDATE SET"
    " first_hour = LEAST(t.first_hour, EXCLUDED.first_hour),"
    " last_hour = GREATEST(t.last_hour, EXCLUDED.last_hour), " + _SUMS
)
INSERT_FOLLOWUP = (
    "INSERT INTO report_followups (event_id, kiosk, city, centre, item, level, reasons,"
    " rated_at, rated_day, due_day) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (event_id) DO NOTHING"
)
INSERT_HIGH_READING = (
    "INSERT INTO report_high_bp (event_id, key_id, subject, session_id, taken_at, day, city,"
    " centre, classification, systolic, diastolic, heart_rate)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING"
)


def insert_followups(cur: psycopg.Cursor[Any], followups: Sequence[FollowUp]) -> None:
    """One follow-up row per 差评 (in event id order, so concurrent writers lock alike)."""
    if followups:
        cur.executemany(
            INSERT_FOLLOWUP,
            [
                (
                    f.event_id,
                    f.kiosk,
                    f.city,
                    f.centre,
                    f.item,
                    f.level,
                    list(f.reasons),
                    f.rated_at,
                    f.rated_day,
                    f.due_day,
                )
                for f in sorted(followups, key=lambda f: f.event_id)
            ],
        )


def apply_delta(cur: psycopg.Cursor[Any], delta: Delta) -> None:
    """Add the delta's counts and rows (inside the caller's transaction).

    Hottest rows last: every worker adds to the same city-wide rows of today, and a row lock is
    held until commit, so those upserts come right before it (then the centre-day rows, which
    the workers share per centre). Measured in docs/reports.md "Scale".
    """
    insert_followups(cur, delta.followups)
    if delta.high_readings:
        cur.executemany(
            INSERT_HIGH_READING,
            [
                (
                    r.event_id,
                    r.key_id,
                    r.subject,
                    r.session_id,
                    r.taken_at,
                    r.day,
                    r.city,
                    r.centre,
                    r.classification,
                    r.systolic,
                    r.diastolic,
                    r.heart_rate,
                )
                for r in sorted(delta.high_readings, key=lambda r: r.event_id)
            ],
        )
    for name in FINE:
        _upsert(cur, UPSERTS[name], getattr(delta, name))
    if delta.centre_daily:
        rows = [
            (*key, day.first_hour, day.last_hour, *day.counts)
            for key, day in sorted(delta.centre_daily.items())
        ]
        cur.execute(UPSERT_CENTRE_DAY, [list(column) for column in zip(*rows, strict=True)])
    for name in CITY_WIDE:
        _upsert(cur, UPSERTS[name], getattr(delta, name))


FINE = ("usage", "sessions_hourly", "ratings", "reasons", "health")
CITY_WIDE = ("city_usage", "city_hourly", "city_ratings")


def _upsert(cur: psycopg.Cursor[Any], statement: str, counts: Counter[Any]) -> None:
    if counts:
        rows = [(*key, n) for key, n in sorted(counts.items())]
        cur.execute(statement, [list(column) for column in zip(*rows, strict=True)])


class ReportRollup:
    """The hook the ingest's BatchWriter calls with each batch's newly inserted events."""

    def __init__(self, policy: RollupPolicy) -> None:
        self.policy = policy

    def __call__(self, cur: psycopg.Cursor[Any], events: Sequence[EventLike]) -> None:
        delta = delta_of(events, self.policy)
        if delta:
            apply_delta(cur, delta)


def policy_of(config: CityConfig) -> RollupPolicy:
    """The rollup's policy from the city config (`timezone`, `reports.*`)."""
    return RollupPolicy(
        timezone=config.timezone,
        followup_working_days=config.reports.followup_working_days,
        calendar=WorkCalendar.of(config.reports.holidays, config.reports.workdays),
    )
