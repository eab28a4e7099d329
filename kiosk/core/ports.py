"""What the core consumes from outside, as Protocols and plain values (adapters live elsewhere).

The catalogue, the reading history and the event sink are pluggable so the core runs in tests
without the drivers, the SQLite outbox or the real catalogue loader.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
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


PointsMethod = Literal["history", "catalogue", "redeem"]
HISTORY_LIMIT = 10  # recent entries the points screen asks for (points.history allows 1–50)


@dataclass(frozen=True)
class PointsCall:
    """One online call the points screen needs (docs/points.md "At the kiosk").

    `token` is new for every attempt: the answer names it, so an answer to a call the resident
    has left (a wipe, a newer call) is dropped. `redemption_id` is minted once per confirm tap
    and is the same on every retry of that tap (the city spends at most once per id).
    """

    token: str
    method: PointsMethod
    subject: str = ""
    key_id: str = ""
    reward_id: str = ""
    points: int = 0  # the price the resident saw and confirmed
    redemption_id: str = ""
    limit: int = HISTORY_LIMIT


@dataclass(frozen=True)
class PointsAnswer:
    """The outcome of one call: `data` when ok, else a reason code and its plain words per
    language (kiosk/runtime/points_client.py PLAIN_WORDS)."""

    ok: bool
    data: dict[str, object] = field(default_factory=dict)
    reason: str | None = None
    words: dict[str, str] = field(default_factory=dict)


class PointsPort(Protocol):
    """红色积分 at the city, one blocking online call each (run off the UI thread)."""

    def history(self, subject: str, key_id: str, limit: int) -> PointsAnswer:
        """`data["balance"]`, `data["entries"]` newest first."""
        ...

    def catalogue(self) -> PointsAnswer:
        """`data["rewards"]`."""
        ...

    def redeem(
        self, subject: str, key_id: str, reward_id: str, points: int, redemption_id: str
    ) -> PointsAnswer:
        """`data["voucher"]`, `data["balance"]` after, … when ok."""
        ...


class NoPoints:
    """A PointsPort for a kiosk without red points (or a test that makes no calls): offline."""

    def _offline(self) -> PointsAnswer:
        return PointsAnswer(False, {}, "offline")

    def history(self, subject: str, key_id: str, limit: int) -> PointsAnswer:
        """Offline."""
        return self._offline()

    def catalogue(self) -> PointsAnswer:
        """Offline."""
        return self._offline()

    def redeem(
        self, subject: str, key_id: str, reward_id: str, points: int, redemption_id: str
    ) -> PointsAnswer:
        """Offline."""
        return self._offline()


def run_points_call(port: PointsPort, call: PointsCall) -> PointsAnswer:
    """Make `call` through `port` (blocks: the host runs it on a worker thread)."""
    if call.method == "history":
        return port.history(call.subject, call.key_id, call.limit)
    if call.method == "catalogue":
        return port.catalogue()
    return port.redeem(call.subject, call.key_id, call.reward_id, call.points, call.redemption_id)
