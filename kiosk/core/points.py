"""红色积分 at the kiosk (pure): the points screen's state, the city's answers read defensively,
the view-model and the points voucher slip (docs/points.md "At the kiosk").

The session (kiosk/core/session.py) owns one PointsState per resident and turns touches and
answers into PointsCalls; the host runs each call off the UI thread through the PointsPort and
feeds the answer back as a PointsAnswered input. Answers come from outside (the city, through
the agent): every value is checked and capped here before the screen or the printer sees it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from typing import Literal

from kiosk.core.i18n import Strings
from kiosk.core.ports import PointsAnswer, PointsCall, PointsMethod
from kiosk.core.slips import SlipLine, when_text
from kiosk.core.views import (
    PointsConfirmView,
    PointsEntryView,
    PointsView,
    PointsVoucherView,
    RewardView,
)

Phase = Literal["loading", "overview", "confirm", "redeeming", "voucher", "error"]
# Worth the same call again (the same redemption_id for a redemption): the city was not reached
# or could not answer now. A refusal (insufficient_points, price_changed, …) is the city's
# stored outcome for that redemption_id: asking again would only repeat it.
RETRYABLE = frozenset({"timeout", "offline", "unavailable", "busy"})
MAX_ENTRIES = 50
MAX_REWARDS = 200
MAX_TITLE_CHARS = 80
MAX_VOUCHER_CHARS = 40
MAX_POINTS = 10_000_000
ENTRIES_SHOWN = 10
ENTRY_KINDS = frozenset({"earn", "redeem"})
ENTRY_SOURCES = frozenset({"attendance", "volunteering", "redemption"})


@dataclass(frozen=True)
class Title:
    """A title in both languages as the city sent it (en falls back to zh)."""

    zh: str
    en: str

    def get(self, language: str) -> str:
        """The title in `language`."""
        return self.en if language == "en" else self.zh


@dataclass(frozen=True)
class Entry:
    """One ledger entry: points earned (> 0) or spent (< 0)."""

    kind: str
    points: int
    source: str
    title: Title | None
    at: datetime


@dataclass(frozen=True)
class Reward:
    """Something points can buy, at its price now."""

    reward_id: str
    title: Title
    points: int
    available: bool


@dataclass(frozen=True)
class Voucher:
    """A redemption that went through: what the resident shows at the counter."""

    code: str
    reward_id: str
    title: Title
    points: int
    balance: int
    redeemed_at: datetime


# --- reading the city's answers (bounded, defensive) --------------------------------------------


def _count(value: object, low: int = 0) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if low <= value <= MAX_POINTS else None


def _text(value: object, limit: int = MAX_TITLE_CHARS) -> str | None:
    if not isinstance(value, str):
        return None
    cleaned = "".join(ch for ch in value if ch.isprintable()).strip()
    return cleaned[:limit] if cleaned else None


def _title(value: object) -> Title | None:
    if not isinstance(value, dict):
        return None
    zh = _text(value.get("zh"))
    if zh is None:
        return None
    return Title(zh, _text(value.get("en")) or zh)


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_history(data: dict[str, object]) -> tuple[int, tuple[Entry, ...]] | None:
    """(balance, entries newest first) from a points.history answer; None if unreadable.
    Entries that do not read are left out; the balance must read."""
    balance = _count(data.get("balance"))
    raw = data.get("entries")
    if balance is None or not isinstance(raw, list):
        return None
    entries = []
    for item in raw[:MAX_ENTRIES]:
        if not isinstance(item, dict):
            continue
        points = item.get("points")
        at = _moment(item.get("at"))
        if isinstance(points, bool) or not isinstance(points, int) or abs(points) > MAX_POINTS:
            continue
        kind, source = item.get("kind"), item.get("source")
        if at is None or kind not in ENTRY_KINDS or source not in ENTRY_SOURCES:
            continue
        entries.append(Entry(str(kind), points, str(source), _title(item.get("title")), at))
    return balance, tuple(entries)


def parse_catalogue(data: dict[str, object]) -> tuple[Reward, ...] | None:
    """The rewards of a points.catalogue answer (unreadable ones left out); None if no list."""
    raw = data.get("rewards")
    if not isinstance(raw, list):
        return None
    rewards: list[Reward] = []
    seen: set[str] = set()
    for item in raw[:MAX_REWARDS]:
        if not isinstance(item, dict):
            continue
        reward_id = _text(item.get("reward_id"), 64)
        title = _title(item.get("title"))
        points = _count(item.get("points"), 1)
        available = item.get("available")
        if reward_id is None or title is None or points is None or not isinstance(available, bool):
            continue
        if reward_id in seen:
            continue
        seen.add(reward_id)
        rewards.append(Reward(reward_id, title, points, available))
    return tuple(rewards)


def parse_redeem(data: dict[str, object], fallback_at: datetime) -> Voucher | None:
    """The voucher of a points.redeem answer; None if any part of it does not read."""
    code = _text(data.get("voucher"), MAX_VOUCHER_CHARS)
    reward_id = _text(data.get("reward_id"), 64)
    title = _title(data.get("title"))
    points = _count(data.get("points"), 1)
    balance = _count(data.get("balance"))
    if code is None or reward_id is None or title is None or points is None or balance is None:
        return None
    redeemed_at = _moment(data.get("redeemed_at")) or fallback_at
    return Voucher(code, reward_id, title, points, balance, redeemed_at)


# --- the per-resident state ---------------------------------------------------------------------


@dataclass
class PointsState:
    """One resident's points screen; replaced at every wipe with the rest of ResidentState."""

    phase: Phase = "loading"
    balance: int | None = None
    entries: tuple[Entry, ...] = ()
    rewards: tuple[Reward, ...] | None = None  # None: not loaded
    to_load: tuple[PointsMethod, ...] = ()  # what the overview still waits for, in order
    chosen: str | None = None  # reward_id on the confirm step
    redemption_id: str | None = None  # minted at the confirm tap; reused by every retry
    voucher: Voucher | None = None
    in_flight: PointsCall | None = None  # the call whose answer we wait for
    sent_s: float = 0.0  # when it was handed to the host (session clock)
    error_reason: str | None = None
    error_words: dict[str, str] = field(default_factory=dict)
    retry: PointsCall | None = None  # what "try again" sends again (with a new token)
    error_in_redeem: bool = False

    def reward(self, reward_id: str | None) -> Reward | None:
        """The loaded reward with that id."""
        return next((w for w in self.rewards or () if w.reward_id == reward_id), None)

    def fail(self, call: PointsCall, answer: PointsAnswer) -> None:
        """The call did not succeed: plain words, and "try again" where it may help."""
        self.phase = "error"
        self.error_reason = answer.reason or "invalid_call"
        self.error_words = dict(answer.words)
        self.error_in_redeem = call.method == "redeem"
        self.retry = call if self.error_reason in RETRYABLE else None
        if call.method == "redeem" and self.retry is None:
            self.redemption_id = None  # refused for good: a new tap is a new action


# --- the view-model ------------------------------------------------------------------------------


def _points_text(strings: Strings, points: int) -> str:
    return strings.text("points.amount", points=points)


def _entry_view(strings: Strings, entry: Entry, zone: tzinfo | None) -> PointsEntryView:
    local = entry.at.astimezone(zone)
    title = entry.title.get(strings.language) if entry.title else ""
    return PointsEntryView(
        title=title or strings.text(f"points.source.{entry.source}"),
        when_text=strings.text(
            "datetime.short_date",
            month=local.month,
            day=local.day,
            month_name=strings.text(f"month.{local.month}"),
        ),
        points_text=f"{entry.points:+d}",
        earned=entry.points > 0,
    )


def _reward_view(strings: Strings, reward: Reward, balance: int | None) -> RewardView:
    if not reward.available:
        status, can = "points.reward.unavailable", False
    elif balance is None:
        status, can = "points.reward.identify", False
    elif balance < reward.points:
        status, can = "points.reward.short", False
    else:
        status, can = "points.reward.can", True
    short = max(reward.points - (balance or 0), 0)
    return RewardView(
        reward_id=reward.reward_id,
        title=reward.title.get(strings.language),
        points_text=_points_text(strings, reward.points),
        status_text=strings.text(status, short=short),
        can_choose=can,
    )


def error_text(strings: Strings, state: PointsState) -> str:
    """The client's plain words for the reason, in the screen's language."""
    words = state.error_words
    return words.get(strings.language) or words.get("en") or strings.text("points.error.other")


def points_view(
    strings: Strings,
    state: PointsState | None,
    *,
    identified: bool,
    greeting: str,
    now: datetime,
) -> PointsView:
    """The points screen in its current phase (empty outside a points session)."""
    if state is None:
        return PointsView()
    balance = state.balance if identified else None
    view = PointsView(
        phase=state.phase,
        identified=identified,
        greeting=greeting,
        notice="" if identified else strings.text("points.notice.identify"),
        balance_text=strings.text("points.balance", points=balance) if balance is not None else "",
        entries=tuple(_entry_view(strings, e, now.tzinfo) for e in state.entries[:ENTRIES_SHOWN]),
        entries_empty_text=strings.text("points.entries_empty")
        if identified and not state.entries
        else "",
        rewards=tuple(_reward_view(strings, w, balance) for w in state.rewards or ()),
        rewards_empty_text=strings.text("points.rewards_empty")
        if state.rewards is not None and not state.rewards
        else "",
    )
    return replace(view, **_phase_parts(strings, state, balance, now))  # type: ignore[arg-type]


def _phase_parts(
    strings: Strings, state: PointsState, balance: int | None, now: datetime
) -> dict[str, object]:
    language = strings.language
    if state.phase in ("loading", "redeeming"):
        return {"waiting_text": strings.text(f"points.wait.{state.phase}")}
    if state.phase == "error":
        return {"error_text": error_text(strings, state), "can_retry": state.retry is not None}
    reward = state.reward(state.chosen)
    if state.phase == "confirm" and reward is not None and balance is not None:
        title = reward.title.get(language)
        return {
            "confirm": PointsConfirmView(
                reward_id=reward.reward_id,
                title=title,
                question=strings.text("points.confirm.question", title=title),
                price_text=strings.text("points.confirm.price", points=reward.points),
                balance_after_text=strings.text(
                    "points.confirm.balance_after", points=balance - reward.points
                ),
            )
        }
    voucher = state.voucher
    if state.phase == "voucher" and voucher is not None:
        return {
            "voucher": PointsVoucherView(
                code=voucher.code,
                title=voucher.title.get(language),
                points_text=strings.text("points.voucher.spent", points=voucher.points),
                balance_after_text=strings.text(
                    "points.voucher.balance_after", points=voucher.balance
                ),
                when_text=when_text(strings, voucher.redeemed_at.astimezone(now.tzinfo)),
                note=strings.text("points.voucher.note"),
            )
        }
    return {}


# --- paper ----------------------------------------------------------------------------------------


def voucher_slip(
    strings: Strings,
    masked_name: str,
    voucher: Voucher,
    *,
    centre_name: str,
    kiosk_id: str,
    zone: tzinfo | None,
) -> tuple[SlipLine, ...]:
    """积分兑换券: the voucher code as text and QR, the reward, the points spent, the balance
    after, when, where (centre and kiosk); of the resident only the masked name."""
    lines = [SlipLine("heading", strings.text("slip.voucher.title"))]
    if centre_name:
        lines.append(SlipLine("centre", centre_name))
    lines.append(SlipLine("rule"))
    if masked_name:
        lines.append(SlipLine("name", strings.text("slip.bp.name"), masked_name))
    lines += [
        SlipLine("section", strings.text("slip.voucher.code")),
        SlipLine("big", voucher.code),
        SlipLine("qr", voucher.code, strings.text("slip.voucher.qr")),
        SlipLine("title", voucher.title.get(strings.language)),
        SlipLine(
            "field",
            strings.text("slip.voucher.points"),
            _points_text(strings, voucher.points),
        ),
        SlipLine(
            "field",
            strings.text("slip.voucher.balance"),
            _points_text(strings, voucher.balance),
        ),
        SlipLine(
            "field",
            strings.text("slip.voucher.at"),
            when_text(strings, voucher.redeemed_at.astimezone(zone)),
        ),
    ]
    if kiosk_id:
        lines.append(SlipLine("field", strings.text("slip.voucher.kiosk"), kiosk_id))
    lines += [SlipLine("rule"), SlipLine("text", strings.text("slip.voucher.note"))]
    return tuple(lines)
