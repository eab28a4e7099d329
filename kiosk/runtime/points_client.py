"""Red points (红色积分) for the kiosk's screens: online calls to the city through the agent.

No UI here and no MQTT: a call is a file in `DATA_DIR/calls/` that the agent publishes, and the
answer is the file the agent writes back (common/kiosk_agent.py, docs/points.md). Each method
blocks until the answer or the call's expiry (15 s by default), so a screen runs it off the UI
thread and shows `Answer.words(lang)` when it is not ok. Calls are never put in the outbox.

A redemption keeps one `redemption_id` per resident action: mint it with new_redemption_id()
when the resident taps "redeem" and pass the same id to every retry of that action; the city
spends the points at most once per id and answers a retry with the first outcome.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common.ids import uuid7
from common.kiosk_agent import (
    MAX_ANSWER_BYTES,
    answer_path,
    call_path,
    read_bounded_object,
    write_atomically,
)
from kiosk.core.ports import PointsAnswer

DEFAULT_TIMEOUT_S = 15.0
ANSWER_GRACE_S = 3.0  # the agent writes `timeout` at expires_at; this covers a busy agent
POLL_S = 0.05

# What a resident reads (and hears) for each reason; plain words, no codes, no blame.
PLAIN_WORDS: dict[str, dict[str, str]] = {
    "timeout": {
        "zh": "暂时连不上积分系统，请稍后再试，或询问工作人员。",
        "en": "The points service did not answer. Please try again later or ask the staff.",
    },
    "offline": {
        "zh": "本机暂时没有联网，积分暂不能查询或兑换。",
        "en": "This kiosk is offline right now, so points cannot be checked or redeemed.",
    },
    "unavailable": {
        "zh": "积分系统正忙，请稍后再试。",
        "en": "The points service is busy. Please try again in a moment.",
    },
    "busy": {
        "zh": "上一个请求还在处理中，请稍候。",
        "en": "The last request is still being handled. Please wait a moment.",
    },
    "insufficient_points": {
        "zh": "您的积分不够兑换这一项。",
        "en": "You do not have enough points for this.",
    },
    "unknown_reward": {
        "zh": "这一项已不能兑换，请重新选择。",
        "en": "This item can no longer be redeemed. Please choose again.",
    },
    "reward_unavailable": {
        "zh": "这一项已兑换完了，请选择其他项目。",
        "en": "This item has run out. Please choose another.",
    },
    "price_changed": {
        "zh": "这一项所需积分有变化，请重新查看后再兑换。",
        "en": "The points needed for this item have changed. Please look again before redeeming.",
    },
    "redemption_conflict": {
        "zh": "兑换没有完成，请重新操作或询问工作人员。",
        "en": "The redemption did not go through. Please start again or ask the staff.",
    },
    "invalid_call": {
        "zh": "兑换没有完成，请重新操作或询问工作人员。",
        "en": "That did not work. Please start again or ask the staff.",
    },
    "unknown_method": {
        "zh": "本机暂不支持这项积分服务。",
        "en": "This kiosk cannot offer that points service yet.",
    },
}
FALLBACK_WORDS = PLAIN_WORDS["invalid_call"]


@dataclass(frozen=True)
class Resident:
    """The identified resident: the pseudonym of their ID card (card.read's subject, key_id)."""

    subject: str
    key_id: str


@dataclass(frozen=True)
class Answer:
    """The outcome of one call: `data` when ok, else a reason code (`timeout` when unanswered)."""

    ok: bool
    data: dict[str, Any]
    reason: str | None = None

    def words(self, lang: str = "zh") -> str:
        """What to show and read aloud when the call did not succeed ("" when it did)."""
        if self.ok:
            return ""
        words = PLAIN_WORDS.get(self.reason or "", FALLBACK_WORDS)
        return words.get(lang, words["en"])


def new_redemption_id() -> str:
    """One per resident action ("redeem" tapped); reuse it for every retry of that action."""
    return uuid7()


def _ts(moment: float) -> str:
    utc = datetime.fromtimestamp(moment, UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def answer_of(body: dict[str, Any] | None, call_id: str, method: str) -> Answer | None:
    """The Answer an answer file holds; None if it is not an answer to this call."""
    if body is None or body.get("call_id") != call_id:
        return None
    if body.get("status") == "ok" and isinstance(body.get("data"), dict):
        if body.get("method") not in (None, method):
            return Answer(False, {}, "invalid_call")
        return Answer(True, body["data"])
    reason = body.get("reason")
    return Answer(False, {}, reason if reason in PLAIN_WORDS else "invalid_call")


class PointsClient:
    """balance / history / catalogue / redeem, each one online call through the agent."""

    def __init__(
        self,
        data_dir: Path,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.data_dir = data_dir
        self.timeout_s = timeout_s
        self.clock = clock
        self.sleep = sleep

    def balance(self, resident: Resident) -> Answer:
        """`data["balance"]`."""
        return self.call("points.balance", _params(resident))

    def history(self, resident: Resident, limit: int = 10) -> Answer:
        """`data["balance"]` and `data["entries"]`, newest first."""
        return self.call("points.history", {**_params(resident), "limit": max(1, min(50, limit))})

    def catalogue(self) -> Answer:
        """`data["rewards"]`: what points can buy."""
        return self.call("points.catalogue", {})

    def redeem(self, resident: Resident, reward_id: str, points: int, redemption_id: str) -> Answer:
        """Spend `points` (the price shown) on `reward_id`; `data["voucher"]` when ok."""
        params = {
            **_params(resident),
            "redemption_id": redemption_id,
            "reward_id": reward_id,
            "points": points,
        }
        return self.call("points.redeem", params)

    def call(self, method: str, params: dict[str, Any]) -> Answer:
        """Write the call, wait for the agent's answer file, take it."""
        now = self.clock()
        call_id = uuid7(now)
        body = {
            "call_id": call_id,
            "method": method,
            "issued_at": _ts(now),
            "expires_at": _ts(now + self.timeout_s),
            "params": params,
        }
        try:
            write_atomically(call_path(self.data_dir, call_id), body)
        except OSError:
            return Answer(False, {}, "offline")
        answer_file = answer_path(self.data_dir, call_id)
        deadline = now + self.timeout_s + ANSWER_GRACE_S
        while True:
            answer = answer_of(read_bounded_object(answer_file, MAX_ANSWER_BYTES), call_id, method)
            if answer is not None:
                answer_file.unlink(missing_ok=True)
                return answer
            if self.clock() >= deadline:
                # The agent is not running: take the call back so it is never sent later.
                with contextlib.suppress(OSError):
                    call_path(self.data_dir, call_id).unlink()
                return Answer(False, {}, "timeout")
            self.sleep(POLL_S)


def _params(resident: Resident) -> dict[str, Any]:
    return {"subject": resident.subject, "key_id": resident.key_id}


class PointsPortAdapter:
    """The core's PointsPort (kiosk/core/ports.py) over a PointsClient: answers become the
    core's plain PointsAnswer, with PLAIN_WORDS in both languages for a failure."""

    def __init__(self, client: PointsClient) -> None:
        self.client = client

    def history(self, subject: str, key_id: str, limit: int) -> PointsAnswer:
        """points.history."""
        return core_answer(self.client.history(Resident(subject, key_id), limit))

    def catalogue(self) -> PointsAnswer:
        """points.catalogue."""
        return core_answer(self.client.catalogue())

    def redeem(
        self, subject: str, key_id: str, reward_id: str, points: int, redemption_id: str
    ) -> PointsAnswer:
        """points.redeem with the redemption_id the session minted at the confirm tap."""
        answer = self.client.redeem(Resident(subject, key_id), reward_id, points, redemption_id)
        return core_answer(answer)


def core_answer(answer: Answer) -> PointsAnswer:
    if answer.ok:
        return PointsAnswer(True, dict(answer.data))
    words = {language: answer.words(language) for language in ("zh", "en")}
    return PointsAnswer(False, {}, answer.reason, words)
