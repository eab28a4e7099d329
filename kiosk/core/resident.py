"""The session's per-resident state: everything here is personal and is replaced at every wipe."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from kiosk.core.bp_classification import MAX_MMHG, Classification, classify
from kiosk.core.inputs import BpMeasured
from kiosk.core.points import PointsState
from kiosk.core.ports import StoredReading, StoredSignup
from kiosk.core.resident_requests import RequestDraft
from kiosk.core.views import CatalogueMode, PrintStatus

Flow = Literal["services", "health", "activities", "points", "requests"]


@dataclass(frozen=True)
class MeasurementOutcome:
    """The last measurement: values with their classification, or an error key (never both)."""

    systolic: int | None
    diastolic: int | None
    pulse: int | None
    mean: int | None
    classification: Classification | None
    error_key: str | None  # i18n suffix under bp.error.*; None for a good reading

    @classmethod
    def failed(cls, error_key: str) -> MeasurementOutcome:
        """A measurement that produced no values."""
        return cls(None, None, None, None, None, error_key)


def outcome_of(result: BpMeasured) -> MeasurementOutcome:
    """Classify a meter result; impossible values become the `out_of_range` error."""
    if not result.ok or result.systolic is None or result.diastolic is None:
        return MeasurementOutcome.failed(result.error_key or "device_error")
    try:
        classification = classify(result.systolic, result.diastolic)
    except ValueError:
        return MeasurementOutcome.failed("out_of_range")
    pulse = result.pulse if result.pulse is not None and 0 < result.pulse <= MAX_MMHG else None
    mean = result.mean if result.mean is not None and 0 < result.mean <= MAX_MMHG else None
    return MeasurementOutcome(result.systolic, result.diastolic, pulse, mean, classification, None)


@dataclass
class ResidentState:
    """One resident's session. Holds a pseudonym and a masked name, never clear ID data."""

    session_id: str | None = None
    started_s: float = 0.0
    flow: Flow | None = None
    subject: str | None = None  # HMAC pseudonym of the ID number
    masked_name: str = ""
    card_expired: bool = False
    card_problem: str | None = None  # key under card.fault.*
    qr_kind: str | None = None
    consent: bool = False
    used_service: bool = False  # something was done: the rating follows on exit
    # catalogue navigation
    mode: CatalogueMode = "categories"
    category_id: str | None = None
    query: str = ""
    item_id: str | None = None
    detail_return: CatalogueMode = "categories"
    last_item_id: str | None = None
    services_viewed: int = 0
    # health
    device_activity_s: float = 0.0
    cuff_mmhg: int | None = None
    outcome: MeasurementOutcome | None = None
    trend: tuple[StoredReading, ...] = ()
    measured_at: datetime | None = None  # when the shown outcome was taken (for its slip)
    # printing (the job itself is in memory only, until the printer worker takes it)
    print_job_id: str | None = None
    print_kind: Literal["guide", "bp", "signup", "voucher", "request"] | None = None
    print_status: PrintStatus | None = None
    print_started_s: float = 0.0
    prints: int = 0
    # activities: this resident's sign-ups, loaded once identified (gone at the wipe)
    signups: tuple[StoredSignup, ...] = ()
    activity_notice: str | None = None  # key under activities.notice.*
    # red points: balance, entries, rewards, a voucher (gone at the wipe)
    points: PointsState | None = None
    # requests (诉求): the draft, the call-back phone (memory only) and their list
    request: RequestDraft = field(default_factory=RequestDraft)
    # rating
    rating_level: int | None = None
    rating_reasons: frozenset[str] = field(default_factory=frozenset)
