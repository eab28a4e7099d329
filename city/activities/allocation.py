"""First come, first served: the sans-I/O rule that turns sign-up and cancellation events into
decisions (docs/activities.md, "Allocation").

`allocate` sees one batch of newly stored events with what the database holds about the
activities they name (locked by the caller) and the sign-ups they touch; it returns what to
write and what to tell the kiosks. Events are taken in the order the residents acted — the
event's kiosk time, then its id — never in arrival order, which the contract does not keep
(docs/contract/README.md, "Order and gaps"). A decision already sent is never revoked: a late
batch from a kiosk that was offline gets the places that are left when it arrives.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

SignupState = Literal["requested", "confirmed", "refused", "cancelled"]
ACTIVE_STATES: tuple[SignupState, ...] = ("requested", "confirmed")
MAX_REASON_CHARS = 200  # the command's limit (docs/contract/README.md, activity_signup_result)

# The plain words a resident reads on the kiosk, Chinese first (the kiosk's default), then
# English; one string, since the command carries one reason whatever the kiosk's language.
REASONS: dict[str, tuple[str, str]] = {
    "full": ("名额已满", "the activity is full"),
    "unknown": ("没有找到这项活动", "this activity is not known"),
    "not_here": ("这项活动不在本中心举办", "this activity is not held at this centre"),
    "cancelled": ("活动已取消", "the activity was cancelled"),
    "over": ("活动已开始，报名已截止", "sign-up closed when the activity started"),
    "duplicate": ("您已报名这项活动", "you have already signed up for this activity"),
    "staff": ("工作人员未能确认您的报名", "the staff could not confirm your sign-up"),
}


def reason_text(code: str) -> str:
    """The resident-facing words for a refusal code: `名额已满 (the activity is full)`."""
    zh, en = REASONS[code]
    return f"{zh} ({en})"


@dataclass(frozen=True)
class ActivityFacts:
    """What allocation needs of an activity row (read under its row lock)."""

    id: str
    city: str
    centre: str
    state: str  # draft | published | cancelled
    starts_at: datetime
    ends_at: datetime
    capacity: int
    confirmed: int
    approval: str = "auto"  # auto | staff


@dataclass(frozen=True)
class SignupEvent:
    """An `activity.signup` event: who asked for which activity, from which kiosk, when."""

    event_id: str
    signup_id: str
    activity_id: str
    key_id: str
    subject: str
    kiosk: str  # CITY/CENTRE/KIOSK
    at: datetime


@dataclass(frozen=True)
class CancelEvent:
    """An `activity.cancelled` event."""

    event_id: str
    signup_id: str
    activity_id: str
    key_id: str
    subject: str
    kiosk: str
    at: datetime


@dataclass(frozen=True)
class Existing:
    """A stored sign-up that an event of the batch names."""

    signup_id: str
    activity_id: str
    key_id: str
    subject: str
    state: SignupState
    attended: bool = False


@dataclass(frozen=True)
class NewSignup:
    """Insert this sign-up; `tell` when the kiosk gets an answer now (not while requested)."""

    event: SignupEvent
    state: SignupState
    reason: str = ""  # a REASONS code when refused

    @property
    def tell(self) -> bool:
        """An answer goes to the kiosk (confirmed or refused)."""
        return self.state in ("confirmed", "refused")


@dataclass(frozen=True)
class Cancelled:
    """Mark the stored sign-up cancelled (`freed`: it held a confirmed place)."""

    event: CancelEvent
    previous: SignupState
    freed: bool


@dataclass(frozen=True)
class Tombstone:
    """A cancellation arrived before its sign-up: keep it cancelled, so the sign-up takes no
    place when it comes."""

    event: CancelEvent


@dataclass
class Allocation:
    """What a batch decided, and each touched activity's confirmed count afterwards."""

    new: list[NewSignup] = field(default_factory=list)
    cancelled: list[Cancelled] = field(default_factory=list)
    tombstones: list[Tombstone] = field(default_factory=list)
    confirmed: dict[str, int] = field(default_factory=dict)
    ignored: int = 0

    @property
    def places_changed(self) -> set[str]:
        """Activities whose places_left changed."""
        taken = {n.event.activity_id for n in self.new if n.state == "confirmed"}
        return taken | {c.event.activity_id for c in self.cancelled if c.freed}


def order_key(event: SignupEvent | CancelEvent) -> tuple[datetime, str]:
    """When the resident acted, then the event id: both kiosk-minted, so a batch that arrives
    late from an offline kiosk sorts where its residents stood, and the UUIDv7 breaks ties the
    same way in every worker."""
    return (event.at, event.event_id)


def refusal(activity: ActivityFacts | None, event: SignupEvent, now: datetime) -> str | None:
    """Why this sign-up cannot have a place, as a REASONS code (capacity aside), or None."""
    if activity is None or activity.state == "draft":
        return "unknown"
    city, centre, _kiosk = event.kiosk.split("/")
    if (activity.city, activity.centre) != (city, centre):
        return "not_here"
    if activity.state == "cancelled":
        return "cancelled"
    if event.at >= activity.starts_at or now >= activity.starts_at:
        return "over"
    return None


class _Batch:
    """The state one batch's decisions run through (counts, known sign-ups, place holders)."""

    def __init__(
        self,
        activities: Mapping[str, ActivityFacts],
        existing: Mapping[str, Existing],
        holders: Mapping[tuple[str, str, str], str],
        now: datetime,
    ) -> None:
        self.activities = activities
        self.counts = {a.id: a.confirmed for a in activities.values()}
        self.known: dict[str, Existing] = dict(existing)
        self.held: dict[tuple[str, str, str], str] = dict(holders)
        self.now = now
        self.result = Allocation()

    def signup(self, event: SignupEvent) -> None:
        if event.signup_id in self.known:  # a copy, or its cancellation came first
            self.result.ignored += 1
            return
        who = (event.activity_id, event.key_id, event.subject)
        activity = self.activities.get(event.activity_id)
        code = refusal(activity, event, self.now)
        state: SignupState = "refused"
        if code is None and who in self.held:
            code = "duplicate"
        if code is None and activity is not None:
            if self.counts[activity.id] >= activity.capacity:
                code = "full"
            elif activity.approval == "staff":
                state = "requested"
            else:
                state = "confirmed"
                self.counts[activity.id] += 1
        self.result.new.append(NewSignup(event, state, code or ""))
        self.known[event.signup_id] = Existing(event.signup_id, *who, state)
        if state in ACTIVE_STATES:
            self.held[who] = event.signup_id

    def cancel(self, event: CancelEvent) -> None:
        who = (event.activity_id, event.key_id, event.subject)
        stored = self.known.get(event.signup_id)
        if stored is None:
            self.result.tombstones.append(Tombstone(event))
            self.known[event.signup_id] = Existing(event.signup_id, *who, "cancelled")
            return
        mine = (stored.activity_id, stored.key_id, stored.subject) == who
        if not mine or stored.state == "cancelled" or stored.attended:
            self.result.ignored += 1  # another resident's id, already cancelled, or attended
            return
        freed = stored.state == "confirmed"
        if freed and stored.activity_id in self.counts:
            self.counts[stored.activity_id] -= 1
        self.result.cancelled.append(Cancelled(event, stored.state, freed))
        self.known[event.signup_id] = Existing(event.signup_id, *who, "cancelled")
        if self.held.get(who) == event.signup_id:
            del self.held[who]


def allocate(
    activities: Mapping[str, ActivityFacts],
    existing: Mapping[str, Existing],
    holders: Mapping[tuple[str, str, str], str],
    events: Iterable[SignupEvent | CancelEvent],
    now: datetime,
) -> Allocation:
    """Decide a batch: `holders` maps (activity, key_id, subject) to the sign-up holding (or
    waiting for) a place there, for the pseudonyms of the batch."""
    batch = _Batch(activities, existing, holders, now)
    for event in sorted(events, key=order_key):
        if isinstance(event, SignupEvent):
            batch.signup(event)
        else:
            batch.cancel(event)
    batch.result.confirmed = batch.counts
    return batch.result
