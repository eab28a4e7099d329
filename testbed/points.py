"""Red points test helpers: `python -m city responder` processes and kiosk agents in threads."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testbed.city_workers import WorkerProcess

REPO = Path(__file__).resolve().parents[1]


class ResponderProcess(WorkerProcess):
    """`python -m city responder` in a process of its own; output in a log file."""

    def __init__(self, config: Path, log_path: Path, responder_id: str | None = None) -> None:
        super().__init__(
            config, log_path, responder_id, command="responder", id_flag="--responder-id"
        )


@dataclass
class AgentThread:
    """A real edge agent (edge_agent.agent.Agent) stepping in a thread until stopped."""

    agent: Any
    stop_event: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> None:
        """Run the agent's loop in a daemon thread."""
        self.thread = threading.Thread(target=self.agent.run, args=(self.stop_event,), daemon=True)
        self.thread.start()

    def wait_connected(self, timeout_s: float = 20.0) -> bool:
        """True once the agent's link is up."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            link = self.agent.link
            if link is not None and link.connected:
                return True
            time.sleep(0.02)
        return False

    def stop(self) -> None:
        """Stop the loop (the agent goes offline cleanly) and wait for the thread."""
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout=15)


DESK_REWARDS: tuple[dict[str, Any], ...] = (
    {"reward_id": "haircut", "title": {"zh": "理发一次", "en": "A haircut"}, "points": 50},
    {
        "reward_id": "rice",
        "title": {"zh": "大米一袋（5公斤）", "en": "A bag of rice (5 kg)"},
        "points": 200,
    },
    {"reward_id": "oil", "title": {"zh": "食用油一桶", "en": "Cooking oil"}, "points": 30},
)
DESK_ENTRIES: tuple[dict[str, Any], ...] = (
    {
        "kind": "earn",
        "points": 20,
        "source": "volunteering",
        "at": "2026-12-02T02:00:00.000Z",
        "title": {"zh": "敬老院志愿服务", "en": "Care home volunteering"},
    },
    {
        "kind": "earn",
        "points": 30,
        "source": "attendance",
        "at": "2026-11-28T01:30:00.000Z",
        "title": {"zh": "太极拳晨练", "en": "Morning tai chi"},
    },
    {"kind": "earn", "points": 70, "source": "attendance", "at": "2026-11-20T06:00:00.000Z"},
)


def _stamp() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


class PointsDesk:
    """The agent and the city's ledger on the kiosk's file channel (DATA_DIR/calls/), in a
    thread: for the UI tours and `make screenshots`, where no broker or database runs. Every
    call is checked against call.schema.json and every answer against answer.schema.json; a
    redemption is idempotent on its redemption_id like the real ledger (city/points/ledger.py).

    `fail_next`: reasons for the next calls (the agent's `timeout`/`offline` or the city's);
    `lose_next_redeem`: spend, then answer `timeout` (the answer lost on the way back);
    `hold`: while set, calls wait unanswered (a screenshot of "please wait")."""

    def __init__(self, data_dir: Path, balance: int = 120) -> None:
        from common.kiosk_agent import calls_dir

        self.data_dir = data_dir
        self.balance = balance
        self.entries = [dict(e) for e in DESK_ENTRIES]
        self.prices = {r["reward_id"]: r["points"] for r in DESK_REWARDS}
        self.stock = {"oil": 0}
        self.fail_next: list[str] = []
        self.lose_next_redeem = 0
        self.hold = threading.Event()
        self.calls: list[dict[str, Any]] = []
        self.outcomes: dict[str, dict[str, Any]] = {}
        self.spent = 0
        self._stop = threading.Event()
        calls_dir(data_dir).mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="points-desk", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop answering."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import json

        from common.kiosk_agent import LOCAL_REASONS, answer_path, calls_dir, write_atomically
        from edge_agent.contract import validate_answer, validate_call

        while not self._stop.wait(0.02):
            if self.hold.is_set():
                continue
            for path in sorted(calls_dir(self.data_dir).glob("*.call.json")):
                try:
                    body = json.loads(path.read_text(encoding="utf-8"))
                    path.unlink()
                except (OSError, ValueError):
                    continue
                validate_call(body)
                self.calls.append(body)
                answer = self._answer(body)
                if answer.get("reason") not in LOCAL_REASONS:  # the agent's own, not the city's
                    validate_answer(answer)
                write_atomically(answer_path(self.data_dir, body["call_id"]), answer)

    def _answer(self, call: dict[str, Any]) -> dict[str, Any]:
        method, params = call["method"], call["params"]
        head = {"call_id": call["call_id"], "method": method, "answered_at": _stamp()}
        if self.fail_next:
            return {**head, "status": "error", "reason": self.fail_next.pop(0)}
        if method == "points.history":
            data: dict[str, Any] = {"balance": self.balance, "entries": self.entries[:10]}
        elif method == "points.catalogue":
            data = {
                "rewards": [
                    {
                        **r,
                        "points": self.prices[r["reward_id"]],
                        "available": self.stock.get(r["reward_id"], 1) > 0,
                    }
                    for r in DESK_REWARDS
                ]
            }
        elif method == "points.balance":
            data = {"balance": self.balance}
        else:
            rid = params["redemption_id"]
            if rid not in self.outcomes:
                self.outcomes[rid] = self._redeem(params)
            if self.lose_next_redeem:
                self.lose_next_redeem -= 1
                return {**head, "status": "error", "reason": "timeout"}
            outcome = self.outcomes[rid]
            if "reason" in outcome:
                return {**head, "status": "error", "reason": outcome["reason"]}
            data = outcome
        return {**head, "status": "ok", "data": data}

    def _redeem(self, params: dict[str, Any]) -> dict[str, Any]:
        price = self.prices.get(params["reward_id"])
        if price is None:
            return {"reason": "unknown_reward"}
        if price != params["points"]:
            return {"reason": "price_changed"}
        if self.balance < price:
            return {"reason": "insufficient_points"}
        self.balance -= price
        self.spent += price
        at = _stamp()
        self.entries.insert(
            0, {"kind": "redeem", "points": -price, "source": "redemption", "at": at}
        )
        title = next(r["title"] for r in DESK_REWARDS if r["reward_id"] == params["reward_id"])
        return {
            "redemption_id": params["redemption_id"],
            "reward_id": params["reward_id"],
            "title": title,
            "points": price,
            "balance": self.balance,
            "voucher": f"7K2M-Q9XD-{len(self.outcomes) + 1:04d}",
            "redeemed_at": at,
        }
