"""What the core consumes from outside, as Protocols and plain values (adapters live elsewhere).

The catalogue, the reading history and the event sink are pluggable so the core runs in tests
without the drivers, the SQLite outbox or the real catalogue loader.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

Handling = Literal["here", "online", "window", "other"]
HANDLINGS: tuple[Handling, ...] = ("here", "online", "window", "other")


@dataclass(frozen=True)
class CategoryEntry:
    """One catalogue category as shown in the list (title already in the screen language)."""

    category_id: str
    title: str
    item_count: int
    icon: str = ""  # icon name in the UI theme


@dataclass(frozen=True)
class ItemSummary:
    """One catalogue item in a list or search result."""

    item_id: str
    category_id: str
    title: str


@dataclass(frozen=True)
class ItemDetail:
    """Everything the detail screen shows about one item (texts in the screen language)."""

    item_id: str
    category_id: str
    title: str
    summary: str
    materials: tuple[str, ...]
    handling: Handling
    where: str  # window number, counter or "this machine"; free text from the catalogue
    online_url: str | None  # shown as a QR code; a public service address, never personal
    opening_hours: str


class Catalogue(Protocol):
    """The service catalogue as the core browses it; `language` is "zh" or "en"."""

    @property
    def version(self) -> str:
        """Catalogue version string (goes into service.selected events, ≤64 characters)."""
        ...

    def categories(self, language: str) -> Sequence[CategoryEntry]:
        """All categories, in display order."""
        ...

    def items(self, category_id: str, language: str) -> Sequence[ItemSummary]:
        """The items of one category, most used first; empty for an unknown category."""
        ...

    def search(self, query: str, language: str, limit: int) -> Sequence[ItemSummary]:
        """Items matching keywords or pinyin initials, best first, at most `limit`."""
        ...

    def detail(self, item_id: str, language: str) -> ItemDetail | None:
        """One item's detail; None if the id is unknown (e.g. the catalogue was replaced)."""
        ...


@dataclass(frozen=True)
class StoredReading:
    """One past reading of a resident, for the trend plot."""

    taken_at: datetime
    systolic: int
    diastolic: int
    pulse: int | None


class ReadingHistory(Protocol):
    """Recent readings keyed by pseudonym (64 hex characters), never by ID number."""

    def add(self, subject: str, reading: StoredReading) -> None:
        """Store one reading (only ever called for consenting, identified residents)."""
        ...

    def recent(self, subject: str, limit: int) -> list[StoredReading]:
        """The newest `limit` readings of `subject`, oldest first."""
        ...


class NoHistory:
    """A ReadingHistory that stores nothing (health hut without local history)."""

    def add(self, subject: str, reading: StoredReading) -> None:
        """Drop the reading."""

    def recent(self, subject: str, limit: int) -> list[StoredReading]:
        """Always empty."""
        return []


SignupState = Literal["pending", "confirmed", "refused", "cancelled"]


@dataclass(frozen=True)
class StoredSignup:
    """A resident's sign-up as the kiosk keeps it: what they saw (titles kept, so the list still
    reads after the city drops the activity) and where the city's answer stands."""

    signup_id: str
    activity_id: str
    title_zh: str
    title_en: str
    place_zh: str
    place_en: str
    starts_at: datetime
    state: SignupState = "pending"
    reason: str = ""  # the city's plain words for a refusal


class SignupStore(Protocol):
    """Sign-ups keyed by pseudonym (64 hex characters), in the kiosk's private directory."""

    def add(self, subject: str, signup: StoredSignup) -> None:
        """Keep a new (pending) sign-up."""
        ...

    def for_subject(self, subject: str) -> list[StoredSignup]:
        """This resident's sign-ups that are not cancelled, soonest activity first."""
        ...

    def cancel(self, subject: str, signup_id: str) -> bool:
        """Mark one of this resident's sign-ups cancelled; False if it is not theirs."""
        ...


class NoSignups:
    """A SignupStore that keeps nothing (a kiosk without a private directory, some tests)."""

    def add(self, subject: str, signup: StoredSignup) -> None:
        """Drop it."""

    def for_subject(self, subject: str) -> list[StoredSignup]:
        """Nothing kept."""
        return []

    def cancel(self, subject: str, signup_id: str) -> bool:
        """Nothing to cancel."""
        return False
