"""The city's inventory: which kiosks should exist, their district and opening hours (a file).

A kiosk listed here that never connected shows as `never_seen` (missing) in the fleet.
Opening hours: `DAYS HH:MM-HH:MM` in the city's local time, DAYS like `Mon-Fri`, `Sat`,
`Mon-Sun` or `Mon,Wed,Fri`; an empty value means always open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any

import psycopg
import yaml

from common.typed_config import Problem

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS_RE = re.compile(r"^\s*([A-Za-z,\-]+)\s+(\d{2}):(\d{2})-(\d{2}):(\d{2})\s*$")
KIOSK_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}(/[A-Za-z0-9][A-Za-z0-9_-]{0,63}){2}$")
MAX_INVENTORY_KIOSKS = 1_000_000


class InventoryError(ValueError):
    """The inventory file has problems, each with its path."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(str(p) for p in problems))


@dataclass(frozen=True)
class OpeningHours:
    """Days of the week (0 = Monday) and a daily open..close window."""

    days: frozenset[int]
    opens: time
    closes: time

    def is_open(self, local: datetime) -> bool:
        """Whether `local` (city time) falls in the window."""
        return local.weekday() in self.days and self.opens <= local.time() < self.closes


def parse_hours(text: str) -> OpeningHours | None:
    """`Mon-Fri 09:00-18:00` → OpeningHours; ValueError when malformed; None when empty."""
    if not text.strip():
        return None
    match = HOURS_RE.match(text)
    if match is None:
        raise ValueError("expected 'DAYS HH:MM-HH:MM', e.g. 'Mon-Fri 09:00-18:00'")
    days: set[int] = set()
    for part in match[1].lower().split(","):
        ends = part.split("-")
        if len(ends) > 2 or any(e not in DAY_NAMES for e in ends):
            raise ValueError(f"unknown day {part!r}: use {', '.join(DAY_NAMES)}")
        first, last = DAY_NAMES.index(ends[0]), DAY_NAMES.index(ends[-1])
        days.update(
            range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
        )
    opens = time(int(match[2]), int(match[3]))
    closes = time(int(match[4]), int(match[5])) if match[4] != "24" else time.max
    if closes <= opens:
        raise ValueError("closing time must be after opening time")
    return OpeningHours(frozenset(days), opens, closes)


@dataclass(frozen=True)
class InventoryKiosk:
    """One expected kiosk."""

    kiosk: str
    district: str
    opening_hours: str


def load_inventory(path: Path) -> list[InventoryKiosk]:
    """Read and check the inventory file; InventoryError lists every problem."""
    source = str(path)
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InventoryError(source, [Problem("", f"cannot read: {exc}")]) from None
    items = raw.get("kiosks") if isinstance(raw, dict) else None
    if not isinstance(items, list) or len(items) > MAX_INVENTORY_KIOSKS:
        raise InventoryError(source, [Problem("kiosks", "expected a list of kiosks")])
    problems: list[Problem] = []
    kiosks: list[InventoryKiosk] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        path_ = f"kiosks[{index}]"
        if not isinstance(item, dict):
            problems.append(Problem(path_, "expected a mapping"))
            continue
        unknown = set(item) - {"kiosk", "district", "opening_hours"}
        if unknown:
            problems.append(Problem(f"{path_}.{sorted(unknown)[0]}", "unknown key"))
        kiosk = str(item.get("kiosk", ""))
        if not KIOSK_ID_RE.match(kiosk):
            problems.append(Problem(f"{path_}.kiosk", "expected CITY/CENTRE/KIOSK"))
        elif kiosk in seen:
            problems.append(Problem(f"{path_}.kiosk", "listed twice"))
        seen.add(kiosk)
        hours = str(item.get("opening_hours", "") or "")
        try:
            parse_hours(hours)
        except ValueError as exc:
            problems.append(Problem(f"{path_}.opening_hours", str(exc)))
        kiosks.append(InventoryKiosk(kiosk, str(item.get("district", "") or ""), hours))
    if problems:
        raise InventoryError(source, problems)
    return kiosks


def sync_inventory(conn: psycopg.Connection, kiosks: list[InventoryKiosk]) -> None:
    """Make the `kiosks` table's inventory columns match the file (not committed here)."""
    with conn.cursor() as cur:
        cur.execute("UPDATE kiosks SET in_inventory = false WHERE in_inventory")
        cur.executemany(
            "INSERT INTO kiosks (kiosk, city, centre, name, in_inventory, district, opening_hours)"
            " VALUES (%s, %s, %s, %s, true, %s, %s)"
            " ON CONFLICT (kiosk) DO UPDATE SET in_inventory = true,"
            " district = EXCLUDED.district, opening_hours = EXCLUDED.opening_hours",
            [(k.kiosk, *k.kiosk.split("/"), k.district, k.opening_hours) for k in kiosks],
        )
