"""Everything that can happen to a session, as typed values (touches, devices, time, system).

Device inputs are the core's own small values; adapters build them from the drivers' types
(`CardIdentity` from an `IdCard`, `QrShown` from a `QrScanned`, `BpMeasured` from a `BpResult`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from common.selftest import SelfTestReport
from kiosk.core.ports import PointsAnswer

Language = Literal["zh", "en"]
DeviceName = Literal["idcard", "bp", "qrscan", "camera", "printer"]
PrintOutcome = Literal["done", "unavailable"]
EndReason = Literal["completed", "user_exit", "idle_timeout", "error", "kiosk_restart"]
CardType = Literal["resident", "hkmotw_permit", "foreign_pr_2017", "foreign_pr_2023"]
SearchVia = Literal["browse", "search", "popular"]

# --- touches and navigation intents -----------------------------------------------------------


@dataclass(frozen=True)
class StartServices:
    """办事: the resident chose the service catalogue on the attract screen."""


@dataclass(frozen=True)
class StartHealth:
    """测血压: the resident chose the health check on the attract screen."""


@dataclass(frozen=True)
class StartActivities:
    """活动报名: the resident chose the centre's activities on the attract screen."""


@dataclass(frozen=True)
class StartRequests:
    """我要反映: the resident chose to file a request (诉求) or see their requests."""


@dataclass(frozen=True)
class SkipIdentify:
    """Continue without a card or code (catalogue browsing, anonymous BP)."""


@dataclass(frozen=True)
class Back:
    """One step back within the current screen, or leave it at its top level."""


@dataclass(frozen=True)
class Exit:
    """退出: the resident is done; rating follows if a service was used, then the wipe."""


@dataclass(frozen=True)
class Finish:
    """办结: the service (or the health check) is finished; go to the rating."""


@dataclass(frozen=True)
class SelectCategory:
    """Open one catalogue category."""

    category_id: str


@dataclass(frozen=True)
class Search:
    """Search the catalogue (keywords or pinyin initials); an empty query clears the search."""

    query: str


@dataclass(frozen=True)
class OpenItem:
    """Open one catalogue item's detail."""

    item_id: str
    via: SearchVia = "browse"


@dataclass(frozen=True)
class GiveConsent:
    """The identified resident agrees that this reading is stored and sent under a pseudonym."""


@dataclass(frozen=True)
class DeclineConsent:
    """The resident declines: the reading is shown and sent without any subject."""


@dataclass(frozen=True)
class StartMeasuring:
    """The resident sits, has the cuff on, and presses start."""


@dataclass(frozen=True)
class CancelMeasuring:
    """Stop the running measurement (the meter is told to abort)."""


@dataclass(frozen=True)
class Retry:
    """Measure again after a result or a device error."""


@dataclass(frozen=True)
class SelectLevel:
    """Choose a rating level: 5 非常满意 … 1 非常不满意."""

    level: int


@dataclass(frozen=True)
class ToggleReason:
    """Tick or untick one optional reason (offered for levels 1 and 2 only)."""

    reason: str


@dataclass(frozen=True)
class SubmitRating:
    """Send the chosen rating (a level must be chosen)."""


@dataclass(frozen=True)
class SkipRating:
    """Rating is voluntary: leave without rating."""


@dataclass(frozen=True)
class Continue:
    """继续办理 on the idle countdown."""


@dataclass(frozen=True)
class SetLanguage:
    """中文/English toggle."""

    language: Language


@dataclass(frozen=True)
class SetLargeText:
    """大字 toggle."""

    enabled: bool


@dataclass(frozen=True)
class SetVoice:
    """语音 (read aloud) toggle."""

    enabled: bool


@dataclass(frozen=True)
class SetHighContrast:
    """High-contrast theme toggle."""

    enabled: bool


@dataclass(frozen=True)
class TechnicianGesture:
    """The hidden gesture was recognised (see technician.CornerTapGesture)."""


@dataclass(frozen=True)
class PinEntered:
    """A technician PIN was typed; it is checked and never kept."""

    pin: str = field(repr=False)


@dataclass(frozen=True)
class PrintGuide:
    """打印办事指南: print the open item's guide (materials, where, hours) to take home."""


@dataclass(frozen=True)
class PrintBpSlip:
    """打印结果: print the identified, consenting resident's BP result slip (masked name only)."""


@dataclass(frozen=True)
class SignUp:
    """报名: ask for a place at one activity (the resident must be identified)."""

    activity_id: str


@dataclass(frozen=True)
class CancelSignup:
    """取消报名: cancel one of the identified resident's own sign-ups."""

    signup_id: str


@dataclass(frozen=True)
class PrintSignupSlip:
    """打印报名凭条: print one of the resident's sign-ups (masked name only)."""

    signup_id: str


RequestGoal = Literal["new", "mine", "menu", "next"]


@dataclass(frozen=True)
class RequestGo:
    """Requests: file a new one, see mine, back to the choice, or on to the next step."""

    goal: RequestGoal


@dataclass(frozen=True)
class ChooseRequestCategory:
    """Requests: the category's big button."""

    category_id: str


@dataclass(frozen=True)
class ChooseRequestLocation:
    """Requests: a building (index in the config) and a unit of it; None: not at a building."""

    building: int | None
    unit: int | None = None


@dataclass(frozen=True)
class AddRequestPhrase:
    """Requests: tap a preset phrase of the chosen category to add it to the text."""

    index: int


@dataclass(frozen=True)
class EditRequestText:
    """Requests: the text as the on-screen keyboard left it (the whole text)."""

    text: str


@dataclass(frozen=True)
class RequestPhoneKey:
    """Requests: one key of the call-back number pad (a digit, `-`, back, clear, done), `edit`
    to type the number again, `remove` for no call back."""

    key: str


@dataclass(frozen=True)
class SubmitRequest:
    """Requests: send it (from the review step)."""


@dataclass(frozen=True)
class PrintRequestTicket:
    """Requests: print the ticket of the request just filed."""


@dataclass(frozen=True)
class StartPoints:
    """红色积分: the resident chose their points on the attract screen."""


@dataclass(frozen=True)
class ChooseReward:
    """兑换: the resident chose a reward they can afford; the confirm step follows."""

    reward_id: str


@dataclass(frozen=True)
class ConfirmRedeem:
    """确认兑换: one tap, one redemption (its redemption_id is minted here, once)."""


@dataclass(frozen=True)
class PointsRetry:
    """再试一次: the failed points call again (a redemption with the same redemption_id)."""


@dataclass(frozen=True)
class PrintVoucher:
    """打印兑换券: print the voucher on screen again (masked name only)."""


@dataclass(frozen=True)
class RunSelfTest:
    """Diagnostics: ask one device a real question (SAM status, meter status, a frame, …)."""

    device: DeviceName
    measure: bool = False  # BP only: also take one measurement (the technician asked for it)


# --- devices ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardIdentity:
    """A card read, reduced to what the core needs. Clear PII: consumed at once, never stored."""

    card_type: CardType
    name: str = field(repr=False)
    id_number: str = field(repr=False)
    id_number_valid: bool
    card_expired: bool | None = None
    read_ms: float | None = None


@dataclass(frozen=True)
class CardReadFault:
    """Reading a placed card failed; `reason` is a key: card_moved, card_unreadable, …."""

    reason: str


@dataclass(frozen=True)
class QrShown:
    """A code was read. The token stays with the adapter that routes it; the core sees its kind."""

    kind: str
    length: int
    source: Literal["camera", "scanner"]


@dataclass(frozen=True)
class CuffPressure:
    """Live cuff pressure while measuring."""

    mmhg: int


@dataclass(frozen=True)
class BpMeasured:
    """A finished measurement: vitals, or `error_key` (a drivers.bp.messages key) on failure."""

    systolic: int | None
    diastolic: int | None
    pulse: int | None
    mean: int | None
    error_key: str | None
    device_protocol: str | None = None

    @property
    def ok(self) -> bool:
        """True when the meter produced a reading."""
        return self.error_key is None and self.systolic is not None and self.diastolic is not None


@dataclass(frozen=True)
class DeviceFault:
    """A device failed or vanished; `message` is PII-free driver text (capped to 200 chars)."""

    device: DeviceName
    kind: Literal["disconnected", "timeout", "fault"]
    code: str | None = None
    message: str = ""


@dataclass(frozen=True)
class DeviceRecovered:
    """A device works again after `down_s` seconds."""

    device: DeviceName
    down_s: float


@dataclass(frozen=True)
class SelfTestDone:
    """A device's self-test finished (from its worker); the checks carry no personal data."""

    report: SelfTestReport


@dataclass(frozen=True)
class PrintFinished:
    """The printer worker is done with print job `job_id`: printed whole, or not (any reason)."""

    job_id: str
    outcome: PrintOutcome


@dataclass(frozen=True)
class SignupsUpdated:
    """The city's answers to sign-ups were recorded in the store: show them if on screen."""


@dataclass(frozen=True)
class PointsAnswered:
    """The answer to the points call `token` (from the host's worker thread)."""

    token: str
    answer: PointsAnswer


# --- time and system --------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestStatusAnswered:
    """The city's `requests.status` answer (or why there is none), for the call `call_id`;
    `requests` holds kiosk.core.resident_requests.CityRequest values."""

    call_id: str
    ok: bool
    requests: tuple[Any, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Tick:
    """Time passes: `now_s` on the session's monotonic clock (drive it about once a second)."""

    now_s: float


@dataclass(frozen=True)
class Wipe:
    """Wipe everything now and return to the attract screen (e.g. the kiosk is restarting)."""

    reason: EndReason = "kiosk_restart"


@dataclass(frozen=True)
class OutboxStatus:
    """The agent's outbox state for the diagnostics screen."""

    depth: int
    oldest_age_s: float | None
    broker_connected: bool


@dataclass(frozen=True)
class LogLine:
    """One recent log line for diagnostics (already redacted; redacted again on the way in)."""

    text: str


Touch = (
    StartServices
    | StartHealth
    | SkipIdentify
    | Back
    | Exit
    | Finish
    | SelectCategory
    | Search
    | OpenItem
    | GiveConsent
    | DeclineConsent
    | StartMeasuring
    | CancelMeasuring
    | Retry
    | SelectLevel
    | ToggleReason
    | SubmitRating
    | SkipRating
    | Continue
    | SetLanguage
    | SetLargeText
    | SetVoice
    | SetHighContrast
    | TechnicianGesture
    | PinEntered
    | RunSelfTest
    | PrintGuide
    | PrintBpSlip
    | StartActivities
    | SignUp
    | CancelSignup
    | PrintSignupSlip
    | StartPoints
    | ChooseReward
    | ConfirmRedeem
    | PointsRetry
    | PrintVoucher
    | StartRequests
    | RequestGo
    | ChooseRequestCategory
    | ChooseRequestLocation
    | AddRequestPhrase
    | EditRequestText
    | RequestPhoneKey
    | SubmitRequest
    | PrintRequestTicket
)
DeviceInput = CardIdentity | CardReadFault | QrShown | CuffPressure | BpMeasured
SystemInput = (
    Tick
    | Wipe
    | DeviceFault
    | DeviceRecovered
    | OutboxStatus
    | LogLine
    | SelfTestDone
    | PrintFinished
    | SignupsUpdated
    | PointsAnswered
    | RequestStatusAnswered
)
Input = Touch | DeviceInput | SystemInput

TOUCH_TYPES: tuple[type, ...] = Touch.__args__
DEVICE_TYPES: tuple[type, ...] = DeviceInput.__args__
SYSTEM_TYPES: tuple[type, ...] = SystemInput.__args__
INPUT_TYPES: tuple[type, ...] = TOUCH_TYPES + DEVICE_TYPES + SYSTEM_TYPES
