"""View-models: frozen snapshots of what each screen shows, rebuilt after every step.

Screens bind to these and to `Strings` for static labels; they hold only masked personal data
(the masked name in a greeting) and the current resident's readings, all gone after a wipe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from kiosk.core.inputs import DeviceName, Language
from kiosk.core.machine import State
from kiosk.core.ports import CategoryEntry, ItemDetail, ItemSummary
from kiosk.core.resident_requests_view import RequestsView

CatalogueMode = Literal["categories", "items", "search", "detail"]
HealthPhase = Literal["consent", "guide", "measuring", "result"]


@dataclass(frozen=True)
class AccessibilityView:
    """Language and 适老化 modes; back to the configured defaults at every wipe."""

    language: Language
    large_text: bool
    text_scale: float  # multiply every font size by this (1.0 unless large_text)
    high_contrast: bool
    voice: bool


@dataclass(frozen=True)
class AttractView:
    """The attract screen: centre name and the kiosk's local date and time."""

    centre_name: str
    date_text: str
    time_text: str


@dataclass(frozen=True)
class IdentifyView:
    """Identification: the prompt, a card-read problem if any, and the masked greeting."""

    flow: Literal["services", "health", "activities", "points", "requests"] | None = None
    prompt: str = ""
    problem: str = ""  # plain words for a card fault; "" when none
    greeting: str = ""  # `张*，您好` once identified; masked only
    card_notice: str = ""  # e.g. the card has expired (informative; nobody is refused)
    identified: bool = False
    card_reader_ok: bool = True
    qr_ok: bool = True


@dataclass(frozen=True)
class CatalogueView:
    """The catalogue: categories, one category's items, search results, or one item's detail."""

    mode: CatalogueMode = "categories"
    categories: tuple[CategoryEntry, ...] = ()
    category_id: str | None = None
    category_title: str = ""
    items: tuple[ItemSummary, ...] = ()
    query: str = ""
    results: tuple[ItemSummary, ...] = ()
    no_results: bool = False
    detail: ItemDetail | None = None
    handling_text: str = ""  # the detail's handling in words (办理方式)
    greeting: str = ""
    card_notice: str = ""


@dataclass(frozen=True)
class BpResultView:
    """A measurement result: category in words + colour + icon, advice, or an error in words."""

    ok: bool
    systolic: int | None = None
    diastolic: int | None = None
    pulse: int | None = None
    category: str | None = None  # contract value, e.g. "grade_1"
    category_text: str = ""
    colour: str = ""
    icon: str = ""
    severity: int | None = None
    advice_text: str = ""
    error_key: str | None = None
    error_text: str = ""
    disclaimer: str = ""


@dataclass(frozen=True)
class TrendPoint:
    """One past reading on the trend plot."""

    date_text: str
    systolic: int
    diastolic: int


@dataclass(frozen=True)
class HealthView:
    """The health hut screens."""

    phase: HealthPhase = "guide"
    identified: bool = False
    consented: bool = False
    greeting: str = ""
    consent_text: str = ""
    cuff_pressure_mmhg: int | None = None
    result: BpResultView | None = None
    trend: tuple[TrendPoint, ...] = ()
    meter_ok: bool = True


@dataclass(frozen=True)
class RatingLevelView:
    """One of the five 好差评 levels."""

    level: int
    text: str
    selected: bool


@dataclass(frozen=True)
class ReasonView:
    """One optional reason (levels 1–2 only)."""

    reason: str
    text: str
    selected: bool


@dataclass(frozen=True)
class RatingView:
    """好差评: five levels, reasons for the two lowest, submit once a level is chosen."""

    levels: tuple[RatingLevelView, ...] = ()
    selected: int | None = None
    reasons: tuple[ReasonView, ...] = ()
    can_submit: bool = False


@dataclass(frozen=True)
class CountdownView:
    """The full-screen idle countdown with its one big 继续办理 button."""

    remaining_s: int = 0
    total_s: int = 0
    message: str = ""


@dataclass(frozen=True)
class DeviceStateView:
    """One device's state for diagnostics."""

    device: DeviceName
    ok: bool
    kind: str = ""  # disconnected | timeout | fault when not ok
    code: str = ""
    message: str = ""


@dataclass(frozen=True)
class OutboxView:
    """The outbox and broker link as the agent last reported them."""

    depth: int
    oldest_age_s: float | None
    broker_connected: bool


@dataclass(frozen=True)
class SelfTestView:
    """One device's latest self-test: running, passed or failed, one line per check."""

    device: DeviceName
    status: Literal["running", "passed", "failed"]
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class DiagnosticsView:
    """Technician screens: PIN feedback, devices, outbox, recent redacted log lines."""

    pin_message: str = ""
    locked_for_s: int = 0
    devices: tuple[DeviceStateView, ...] = ()
    outbox: OutboxView | None = None
    log_lines: tuple[str, ...] = ()
    dropped_events: int = 0
    self_tests: tuple[SelfTestView, ...] = ()


@dataclass(frozen=True)
class ActivityView:
    """One coming activity, in the screen's language."""

    activity_id: str
    title: str
    when_text: str
    place: str
    organiser: str
    audience: str
    places_text: str  # "还剩 12 个名额" / "已满"
    can_sign_up: bool  # identified, places left, not signed up already
    signed_up: bool


@dataclass(frozen=True)
class SignupView:
    """One of the identified resident's sign-ups and where the city's answer stands."""

    signup_id: str
    title: str
    when_text: str
    place: str
    state: Literal["pending", "confirmed", "refused"]
    state_text: str  # 等待确认 / 报名成功 / 未能报名：<reason>
    can_cancel: bool


@dataclass(frozen=True)
class ActivitiesView:
    """活动报名: the centre's coming activities; the resident's own sign-ups once identified."""

    identified: bool = False
    greeting: str = ""
    activities: tuple[ActivityView, ...] = ()
    signups: tuple[SignupView, ...] = ()
    notice: str = ""  # e.g. "place your ID card to sign up", "signed up: waiting for the city"
    notice_ok: bool = False  # good news (sent, cancelled) rather than a problem
    empty_text: str = ""  # no activities pushed yet


@dataclass(frozen=True)
class PointsEntryView:
    """One ledger entry: what for, when, and the points (+20 earned, -50 spent)."""

    title: str
    when_text: str
    points_text: str
    earned: bool


@dataclass(frozen=True)
class RewardView:
    """Something points can buy: its price and whether this resident can have it now."""

    reward_id: str
    title: str
    points_text: str  # "50 积分"
    status_text: str  # 可以兑换 / 还差 20 积分 / 已兑换完 / 登记后可兑换
    can_choose: bool  # identified, available and affordable


@dataclass(frozen=True)
class PointsConfirmView:
    """The confirm step: the reward, its price and the balance after."""

    reward_id: str
    title: str
    question: str
    price_text: str
    balance_after_text: str


@dataclass(frozen=True)
class PointsVoucherView:
    """A redemption that went through: the code to show at the counter."""

    code: str
    title: str
    points_text: str
    balance_after_text: str
    when_text: str
    note: str


PointsPhase = Literal["", "loading", "overview", "confirm", "redeeming", "voucher", "error"]


@dataclass(frozen=True)
class PointsView:
    """红色积分: balance, recent entries and rewards; the confirm step, the voucher, a wait or
    a failure in plain words (docs/points.md "At the kiosk")."""

    phase: PointsPhase = ""
    identified: bool = False
    greeting: str = ""
    notice: str = ""  # place your ID card (not identified)
    balance_text: str = ""
    entries: tuple[PointsEntryView, ...] = ()
    entries_empty_text: str = ""
    rewards: tuple[RewardView, ...] = ()
    rewards_empty_text: str = ""
    waiting_text: str = ""  # phase loading / redeeming
    error_text: str = ""  # phase error: the client's plain words
    can_retry: bool = False
    confirm: PointsConfirmView | None = None
    voucher: PointsVoucherView | None = None


PrintStatus = Literal["printing", "done", "unavailable"]


@dataclass(frozen=True)
class PrintView:
    """The print button and its status in plain words; printing never blocks the screen."""

    can_print_guide: bool = False  # the services detail offers 打印办事指南
    can_print_bp: bool = False  # the result offers 打印结果 (identified and consenting only)
    can_print_signup: bool = False  # each of the identified resident's sign-ups offers a slip
    can_print_voucher: bool = False  # the voucher screen offers a (re)print
    can_print_request: bool = False  # the ticket step offers 打印回执
    kind: Literal["guide", "bp", "signup", "voucher", "request"] | None = None  # status of
    status: PrintStatus | None = None
    text: str = ""  # the status in words ("" when nothing was printed)


@dataclass(frozen=True)
class Views:
    """Every view-model at once, plus the state that picks the screen."""

    state: State
    accessibility: AccessibilityView
    attract: AttractView
    identify: IdentifyView = field(default_factory=IdentifyView)
    catalogue: CatalogueView = field(default_factory=CatalogueView)
    health: HealthView = field(default_factory=HealthView)
    rating: RatingView = field(default_factory=RatingView)
    countdown: CountdownView = field(default_factory=CountdownView)
    diagnostics: DiagnosticsView = field(default_factory=DiagnosticsView)
    printing: PrintView = field(default_factory=PrintView)
    activities: ActivitiesView = field(default_factory=ActivitiesView)
    points: PointsView = field(default_factory=PointsView)
    requests: RequestsView = field(default_factory=RequestsView)
