"""The service catalogue (事项清单): categories and items as frozen objects; problems with paths.

One YAML (or JSON) document per district. The city replaces it through the agent's `set_config`
command, which validates the new bytes with `catalogue_from_bytes` before the atomic swap, so a
catalogue that loads here is one the kiosk can show.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeVar

from config.loader import ConfigError, parse_yaml
from config.schema import Problem, build, field, in_range

T = TypeVar("T")

MAX_DOCUMENT_BYTES = 1024 * 1024  # the agent refuses larger set_config payloads too
MAX_NODES = 200_000  # YAML aliases can make a small file expand exponentially when walked
MAX_ITEMS = 2000
MAX_CATEGORIES = 100
MAX_TEXT_CHARS = 400
MAX_KEYWORD_CHARS = 24
SLUG_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
VERSION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
CITY_RE = re.compile(r"\d{6}")  # GB/T 2260 administrative division code
TIME_RANGE_RE = re.compile(r"([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)")
HTTPS_URL_RE = re.compile(r"https://([A-Za-z0-9-]+\.)+[A-Za-z0-9-]+(:\d{1,5})?(/\S*)?")
CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002ebef]")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = {
    "zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}
PLACEHOLDER = {"zh": "未知", "en": "unknown"}  # stands in for an unresolved material name

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
HandlingMode = Literal["here", "online", "window"]
HereAction = Literal["print", "query", "apply", "book"]


def _slug(value: Any) -> str | None:
    ok = SLUG_RE.fullmatch(value)
    return None if ok else "use 1-40 lowercase letters, digits or '-' (e.g. 'yb-001')"


def _version(value: Any) -> str | None:
    ok = VERSION_RE.fullmatch(value)
    return None if ok else "use 1-64 letters, digits, '.', '_' or '-' (e.g. '440300-2025.03.1')"


def _city(value: Any) -> str | None:
    return None if CITY_RE.fullmatch(value) else "expected a 6-digit division code (e.g. '440300')"


def _https_url(value: Any) -> str | None:
    if value is None:
        return None
    ok = HTTPS_URL_RE.fullmatch(value)
    return None if ok else "expected an https:// URL with a host"


def _zh(value: Any) -> str | None:
    if not value.strip() or len(value) > MAX_TEXT_CHARS:
        return f"must be 1-{MAX_TEXT_CHARS} characters"
    return None if CJK_RE.search(value) else "the Chinese text has no Chinese characters"


def _en(value: Any) -> str | None:
    if not value.strip() or len(value) > MAX_TEXT_CHARS:
        return f"must be 1-{MAX_TEXT_CHARS} characters"
    return "the English text contains Chinese characters" if CJK_RE.search(value) else None


def _keyword_problems(keywords: tuple[str, ...], path: str) -> list[Problem]:
    problems = []
    for index, keyword in enumerate(keywords):
        if not keyword.strip() or len(keyword) > MAX_KEYWORD_CHARS:
            message = f"must be 1-{MAX_KEYWORD_CHARS} characters"
            problems.append(Problem(f"{path}[{index}]", message))
        elif keyword in keywords[:index]:
            problems.append(Problem(f"{path}[{index}]", f"duplicate keyword {keyword!r}"))
    return problems


def _days(value: Any) -> str | None:
    if not value:
        return "list at least one day"
    return "a day is listed twice" if len(set(value)) != len(value) else None


def minutes_of(time_range: str) -> tuple[int, int]:
    """`"09:00-12:00"` (already validated) → (540, 720), minutes since midnight."""
    start, end = time_range.split("-")
    return _minute(start), _minute(end)


def _minute(hh_mm: str) -> int:
    hours, minutes = hh_mm.split(":")
    return int(hours) * 60 + int(minutes)


def _times(value: Any) -> str | None:
    return None if value else "list at least one period such as '09:00-12:00'"


def _time_problems(times: tuple[str, ...], path: str) -> list[Problem]:
    previous_end = -1
    for index, text in enumerate(times):
        where = f"{path}[{index}]"
        if not TIME_RANGE_RE.fullmatch(text):
            return [Problem(where, f"expected 'HH:MM-HH:MM' (24-hour clock), got {text!r}")]
        start, end = minutes_of(text)
        if start >= end:
            return [Problem(where, "the period must end after it starts")]
        if start < previous_end:
            return [Problem(where, "periods must be in order and must not overlap")]
        previous_end = end
    return []


@dataclass(frozen=True)
class Text:
    """A string in both interface languages; both are required."""

    zh: str = field(check=_zh)
    en: str = field(check=_en)

    def get(self, language: str) -> str:
        """The English text for `"en"`, else the Chinese text (zh-CN is the default)."""
        return self.en if language == "en" else self.zh


@dataclass(frozen=True)
class HoursRule:
    """Opening periods that apply on the listed days."""

    days: tuple[Weekday, ...] = field(check=_days)
    times: tuple[str, ...] = field(check=_times, doc="'HH:MM-HH:MM', in order")


@dataclass(frozen=True)
class Schedule:
    """Opening hours: weekday rules (or `always`), plus a free note such as holiday closures."""

    rules: tuple[HoursRule, ...] = field(())
    always: bool = field(False, doc="open 24 hours every day (online services)")
    note: Text | None = field(None)

    def is_open(self, when: datetime) -> bool:
        """True when `when` (local wall-clock time) falls in an opening period."""
        if self.always:
            return True
        day = WEEKDAYS[when.weekday()]
        minute = when.hour * 60 + when.minute
        for rule in self.rules:
            if day in rule.days:
                return any(s <= minute < e for s, e in map(minutes_of, rule.times))
        return False

    def describe(self, language: str) -> str:
        """One line for people: `周一至周五 09:00–12:00、14:00–18:00；周六 09:00–12:00`."""
        en = language == "en"
        if self.always:
            return "24 hours, every day" if en else "全天24小时"
        parts = []
        for rule in self.rules:
            times = (", " if en else "、").join(t.replace("-", "–") for t in rule.times)
            parts.append(f"{_describe_days(rule.days, 'en' if en else 'zh')} {times}")
        return ("; " if en else "；").join(parts)


def _describe_days(days: tuple[str, ...], language: str) -> str:
    names = DAY_NAMES[language]
    indices = sorted(WEEKDAYS.index(d) for d in days)
    runs: list[list[int]] = []
    for index in indices:
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    through = "–" if language == "en" else "至"
    texts = []
    for run in runs:
        if len(run) >= 3:
            texts.append(f"{names[run[0]]}{through}{names[run[-1]]}")
        else:
            texts.extend(names[i] for i in run)
    return (", " if language == "en" else "、").join(texts)


@dataclass(frozen=True)
class Handling:
    """Where and how an item is handled: at this kiosk, online (QR link), or at a window."""

    mode: HandlingMode
    action: HereAction | None = field(None, doc="mode 'here': what the kiosk does")
    url: str | None = field(None, check=_https_url, doc="mode 'online': shown as a QR code")
    place: Text | None = field(None, doc="mode 'window': floor, zone and window numbers")
    department: Text | None = field(None, doc="the responsible department")
    hours: str | None = field(None, doc="a name under `schedules`; required for mode 'window'")
    note: Text | None = field(None)


@dataclass(frozen=True)
class Category:
    """A top-level group shown as a big tile."""

    name: Text
    id: str = field(check=_slug)
    icon: str = field(check=_slug, doc="icon file stem in the UI theme")
    order: int = field(check=in_range(0, 9999), doc="tile order, smallest first")


@dataclass(frozen=True)
class Item:
    """One service (事项): what it is, what to bring, where and when it is handled."""

    category: str
    name: Text
    summary: Text
    handling: Handling
    id: str = field(check=_slug)
    materials: tuple[Text, ...] = field(doc="`[]` only when handled here")
    keywords: tuple[str, ...] = field((), doc="extra Chinese search terms")
    popularity: int = field(0, check=in_range(0, 1_000_000_000), doc="seed count of uses")
    age_friendly: bool = field(False, doc="适老化: simplified flow or assisted service")


@dataclass(frozen=True)
class Catalogue:
    """A validated catalogue: categories in tile order, items in file order."""

    version: str
    city: str
    categories: tuple[Category, ...]
    items: tuple[Item, ...]
    schedules: Mapping[str, Schedule]

    @cached_property
    def _items_by_id(self) -> Mapping[str, Item]:
        return {item.id: item for item in self.items}

    @cached_property
    def _categories_by_id(self) -> Mapping[str, Category]:
        return {category.id: category for category in self.categories}

    def item(self, item_id: str) -> Item:
        """The item with this id; KeyError if there is none."""
        return self._items_by_id[item_id]

    def category(self, category_id: str) -> Category:
        """The category with this id; KeyError if there is none."""
        return self._categories_by_id[category_id]

    def hours_of(self, item: Item) -> Schedule | None:
        """The opening hours that apply to an item, if it names any."""
        name = item.handling.hours
        return None if name is None else self.schedules[name]


def _bounded(limit: int) -> Any:
    def check(value: Any) -> str | None:
        if not value:
            return "must not be empty"
        return None if len(value) <= limit else f"at most {limit} entries"

    return check


@dataclass(frozen=True)
class _Document:
    """The document's top level; sections are built one entry at a time to report everything."""

    kind: Literal["catalogue"]
    version: str = field(check=_version)
    city: str = field(check=_city)
    categories: tuple[Any, ...] = field(check=_bounded(MAX_CATEGORIES))
    items: tuple[Any, ...] = field(check=_bounded(MAX_ITEMS))
    schedules: Mapping[str, Any] = field({}, doc="named opening hours items refer to")
    materials: Mapping[str, Any] = field({}, doc="named materials items may list by name")


def is_catalogue_document(raw: Any) -> bool:
    """Whether a parsed document is meant as a catalogue (rather than a kiosk config)."""
    return isinstance(raw, Mapping) and (
        raw.get("kind") == "catalogue" or "items" in raw or "categories" in raw
    )


def load_catalogue(path: str | Path) -> Catalogue:
    """Read and validate a catalogue file; ConfigError lists every problem with its path."""
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(source, [Problem("", f"cannot read: {exc.strerror}")]) from None
    return catalogue_from_bytes(data, source)


def catalogue_from_bytes(data: bytes, source: str) -> Catalogue:
    """Validate a catalogue document given as bytes (UTF-8 YAML or JSON); ConfigError if bad."""
    return catalogue_from_data(parse_bounded_document(data, source), source)


def parse_bounded_document(data: bytes, source: str) -> Any:
    """A UTF-8 YAML/JSON document within the catalogue's byte and node limits; ConfigError if not.

    Every document the city can send (any set_config kind) is read through this, so an alias
    bomb is refused before anything walks it.
    """
    if len(data) > MAX_DOCUMENT_BYTES:
        problem = Problem("", f"larger than {MAX_DOCUMENT_BYTES} bytes")
        raise ConfigError(source, [problem])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = Problem("", f"not UTF-8 (byte {exc.start})")
        raise ConfigError(source, [problem]) from None
    raw = parse_yaml(text, source)
    _check_node_count(raw, source)
    return raw


def _check_node_count(raw: Any, source: str) -> None:
    if _node_count_exceeds(raw, MAX_NODES):
        problem = Problem("", f"more than {MAX_NODES} values (YAML aliases included)")
        raise ConfigError(source, [problem])


def catalogue_from_data(raw: Any, source: str) -> Catalogue:
    """Validate an already-parsed catalogue document; ConfigError lists every problem."""
    _check_node_count(raw, source)
    problems: list[Problem] = []
    header = build(_Document, raw, "", problems)
    data: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    schedules = _build_named(Schedule, data.get("schedules"), "schedules", problems)
    for name, schedule in schedules.items():
        problems.extend(_check_schedule(schedule, f"schedules.{name}"))
    glossary = _build_named(Text, data.get("materials"), "materials", problems)
    categories = _build_list(Category, data.get("categories"), "categories", problems)
    items = _build_items(data.get("items"), data.get("materials"), glossary, problems)
    problems.extend(_check_unique(categories, "categories", lambda c: c.id, "id"))
    problems.extend(_check_unique(items, "items", lambda i: i.id, "id"))
    problems.extend(_check_unique(items, "items", lambda i: i.name.zh, "name.zh"))
    problems.extend(_check_items(items, categories, schedules, data.get("schedules")))
    raw_items = data.get("items")
    if isinstance(raw_items, list) and len(items) == len(raw_items):
        problems.extend(_check_categories_used(items, categories))
    if problems or header is None:
        raise ConfigError(source, sorted(problems, key=_document_order))
    return Catalogue(
        version=header.version,
        city=header.city,
        categories=tuple(sorted((c for _, c in categories), key=lambda c: (c.order, c.id))),
        items=tuple(item for _, item in items),
        schedules=MappingProxyType(schedules),
    )


SECTION_ORDER = ("kind", "version", "city", "schedules", "materials", "categories", "items")
SECTION_RE = re.compile(r"^([A-Za-z_]*)(?:\[(\d+)\])?")


def _document_order(problem: Problem) -> tuple[int, int]:
    """Sort key: problems in the order of the document's sections and entries (stable within)."""
    match = SECTION_RE.match(problem.path)
    name, index = (match.group(1), match.group(2)) if match else ("", None)
    section = SECTION_ORDER.index(name) if name in SECTION_ORDER else len(SECTION_ORDER)
    return section, int(index) if index is not None else -1


def _node_count_exceeds(value: Any, limit: int) -> bool:
    stack = [value]
    count = 0
    while stack:
        node = stack.pop()
        count += 1
        if count > limit:
            return True
        if isinstance(node, Mapping):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _build_named(cls: type[T], raw: Any, path: str, problems: list[Problem]) -> dict[str, T]:
    built: dict[str, T] = {}
    if isinstance(raw, Mapping):
        for name, value in raw.items():
            obj = build(cls, value, f"{path}.{name}", problems)
            if obj is not None and isinstance(name, str):
                built[name] = obj
    return built


def _build_list(cls: type[T], raw: Any, path: str, problems: list[Problem]) -> list[tuple[int, T]]:
    built: list[tuple[int, T]] = []
    if isinstance(raw, list):
        for index, value in enumerate(raw):
            obj = build(cls, value, f"{path}[{index}]", problems)
            if obj is not None:
                built.append((index, obj))
    return built


def _build_items(
    raw: Any, raw_glossary: Any, glossary: Mapping[str, Text], problems: list[Problem]
) -> list[tuple[int, Item]]:
    """Build items, first replacing material names with the glossary's texts."""
    if not isinstance(raw, list):
        return []
    known = set(raw_glossary) if isinstance(raw_glossary, Mapping) else set()
    resolved: list[Any] = []
    for index, original in enumerate(raw):
        value = original
        materials = value.get("materials") if isinstance(value, Mapping) else None
        if isinstance(materials, list):
            entries = []
            for position, entry in enumerate(materials):
                if not isinstance(entry, str):
                    entries.append(entry)
                    continue
                text = glossary.get(entry)
                if text is None and entry not in known:
                    where = f"items[{index}].materials[{position}]"
                    problems.append(Problem(where, _unknown("material", entry, known)))
                entries.append(dataclasses.asdict(text) if text is not None else PLACEHOLDER)
            value = {**value, "materials": entries}
        resolved.append(value)
    return _build_list(Item, resolved, "items", problems)


def _unknown(kind: str, name: str, known: Any) -> str:
    suggestion = difflib.get_close_matches(name, [str(k) for k in known], n=1)
    hint = f"; did you mean {suggestion[0]!r}?" if suggestion else ""
    return f"unknown {kind} {name!r}{hint}"


def _check_unique(
    entries: list[tuple[int, T]], path: str, key: Any, key_path: str
) -> list[Problem]:
    first: dict[Any, int] = {}
    problems = []
    for index, entry in entries:
        value = key(entry)
        if value in first:
            where = f"{path}[{index}].{key_path}"
            message = f"duplicate {value!r} (also {path}[{first[value]}])"
            problems.append(Problem(where, message))
        else:
            first[value] = index
    return problems


def _check_schedule(schedule: Schedule, path: str) -> list[Problem]:
    if schedule.always == bool(schedule.rules):
        return [Problem(path, "give either `always: true` or a list of `rules`, not both")]
    problems = []
    seen: set[str] = set()
    for index, rule in enumerate(schedule.rules):
        problems.extend(_time_problems(rule.times, f"{path}.rules[{index}].times"))
        if seen & set(rule.days):
            where = f"{path}.rules[{index}].days"
            problems.append(Problem(where, "a day already appears in an earlier rule"))
        seen |= set(rule.days)
    return problems


MODE_FIELDS = {"here": {"action"}, "online": {"url"}, "window": {"place", "hours"}}
ONLY_FOR = {"action": "here", "url": "online", "place": "window"}


def _check_items(
    items: list[tuple[int, Item]],
    categories: list[tuple[int, Category]],
    schedules: Mapping[str, Schedule],
    raw_schedules: Any,
) -> list[Problem]:
    known_categories = {c.id for _, c in categories}
    named_schedules = set(raw_schedules) if isinstance(raw_schedules, Mapping) else set()
    problems = []
    for index, item in items:
        path = f"items[{index}]"
        handling = item.handling
        problems.extend(_keyword_problems(item.keywords, f"{path}.keywords"))
        if item.category not in known_categories:
            message = _unknown("category", item.category, known_categories)
            problems.append(Problem(f"{path}.category", message))
        if not item.materials and handling.mode != "here":
            message = "list what to bring; `[]` is allowed only when handling.mode is 'here'"
            problems.append(Problem(f"{path}.materials", message))
        for name in sorted(MODE_FIELDS[handling.mode]):
            if getattr(handling, name) is None:
                where = f"{path}.handling.{name}"
                problems.append(Problem(where, f"required for mode {handling.mode!r}"))
        for name, mode in ONLY_FOR.items():
            if mode != handling.mode and getattr(handling, name) is not None:
                where = f"{path}.handling.{name}"
                problems.append(Problem(where, f"only for mode {mode!r}"))
        if handling.hours is not None and handling.hours not in named_schedules:
            message = _unknown("schedule", handling.hours, schedules or named_schedules)
            problems.append(Problem(f"{path}.handling.hours", message))
    return problems


def _check_categories_used(
    items: list[tuple[int, Item]], categories: list[tuple[int, Category]]
) -> list[Problem]:
    used = {item.category for _, item in items}
    return [
        Problem(f"categories[{index}]", f"no item uses category {category.id!r}")
        for index, category in categories
        if category.id not in used
    ]
