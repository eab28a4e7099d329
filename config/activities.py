"""The centre's coming activities (活动报名): title, time, place, organiser, who it is for, places.

One YAML or JSON document per centre, pushed by the city as the signed `set_config` kind
`activities` (docs/contract/README.md). The agent validates the new bytes with
`activities_from_bytes` before its atomic swap, through the same bounded reader as the
catalogue (size, nesting, node count), so a document that loads here is one the kiosk can show.
Places are allocated at the city (first come, first served); `places_left` is the city's count
when it sent the document, shown as a hint.

    kind: activities
    version: "2026-12-01.1"
    activities:
      - id: tai-chi-1210
        title: {zh: 太极拳晨练, en: Morning tai chi}
        starts_at: "2026-12-10T08:30:00+08:00"
        ends_at: "2026-12-10T09:30:00+08:00"
        place: {zh: 中心一楼活动室, en: Activity room, ground floor}
        organiser: {zh: 社区老年协会, en: Seniors' association}
        audience: {zh: 60岁以上居民, en: Residents aged 60 and over}
        capacity: 30
        places_left: 12
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from config.catalogue import Text, _bounded, _build_list, _slug, _version, parse_bounded_document
from config.loader import ConfigError
from config.schema import Problem, build, field, in_range

MAX_ACTIVITIES = 200
MAX_CAPACITY = 100_000


def _moment(value: Any) -> str | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return (
            "expected an ISO 8601 time with its offset, quoted (e.g. '2026-12-10T08:30:00+08:00')"
        )
    return None if moment.tzinfo is not None else "the time needs its UTC offset (e.g. +08:00)"


@dataclass(frozen=True)
class Activity:
    """One coming activity."""

    title: Text
    place: Text
    organiser: Text
    audience: Text = field(doc="who it is for (e.g. residents aged 60 and over)")
    id: str = field(check=_slug)
    starts_at: str = field(check=_moment)
    ends_at: str = field(check=_moment)
    capacity: int = field(check=in_range(1, MAX_CAPACITY))
    places_left: int = field(check=in_range(0, MAX_CAPACITY))

    @property
    def starts(self) -> datetime:
        """The start as an aware datetime."""
        return datetime.fromisoformat(self.starts_at)

    @property
    def ends(self) -> datetime:
        """The end as an aware datetime."""
        return datetime.fromisoformat(self.ends_at)


@dataclass(frozen=True)
class Activities:
    """A validated activities document, activities in start order."""

    version: str
    activities: tuple[Activity, ...]

    def get(self, activity_id: str) -> Activity | None:
        """The activity with this id, or None."""
        return next((a for a in self.activities if a.id == activity_id), None)


EMPTY = Activities("none", ())


@dataclass(frozen=True)
class _Document:
    kind: Literal["activities"]
    version: str = field(check=_version)
    activities: tuple[Any, ...] = field(check=_bounded(MAX_ACTIVITIES))


def is_activities_document(raw: Any) -> bool:
    """Whether a parsed document is meant as an activities document."""
    return isinstance(raw, Mapping) and raw.get("kind") == "activities"


def load_activities(path: str | Path) -> Activities:
    """Read and validate an activities file; a missing file is no activities (none pushed yet)."""
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return EMPTY
    except OSError as exc:
        raise ConfigError(source, [Problem("", f"cannot read: {exc.strerror}")]) from None
    return activities_from_bytes(data, source)


def activities_from_bytes(data: bytes, source: str) -> Activities:
    """Validate UTF-8 YAML/JSON bytes within the bounded reader's limits; ConfigError if bad."""
    return activities_from_data(parse_bounded_document(data, source), source)


def activities_from_data(raw: Any, source: str) -> Activities:
    """Validate a parsed document; ConfigError lists every problem with its path."""
    problems: list[Problem] = []
    header = build(_Document, raw, "", problems)
    data: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    built = _build_list(Activity, data.get("activities"), "activities", problems)
    seen: dict[str, int] = {}
    for index, activity in built:
        path = f"activities[{index}]"
        if activity.id in seen:
            problems.append(Problem(f"{path}.id", f"duplicate of activities[{seen[activity.id]}]"))
        seen.setdefault(activity.id, index)
        if activity.ends <= activity.starts:
            problems.append(Problem(f"{path}.ends_at", "must be after starts_at"))
        if activity.places_left > activity.capacity:
            problems.append(Problem(f"{path}.places_left", "more than the capacity"))
    if problems or header is None:
        raise ConfigError(source, problems)
    ordered = sorted((a for _, a in built), key=lambda a: (a.starts, a.id))
    return Activities(header.version, tuple(ordered))
