"""Shared rig for kiosk core tests: clocks, a contract-validating sink, a small catalogue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from common.kiosk_agent import SignupResult
from common.selftest import Check, SelfTestReport
from config.activities import Activities, activities_from_data
from config.pinhash import MIN_N
from config.resident_requests import Requests
from edge_agent.contract import Identity, new_event, validate_event
from kiosk.core import inputs as i
from kiosk.core.machine import State
from kiosk.core.ports import (
    CategoryEntry,
    ItemDetail,
    ItemSummary,
    PointsAnswer,
    PointsCall,
    PointsPort,
    ReadingHistory,
    StoredReading,
    StoredSignup,
    run_points_call,
)
from kiosk.core.resident_requests import StoredRequest
from kiosk.core.session import Session
from kiosk.core.settings import SessionSettings
from kiosk.core.technician import PinGate, hash_pin

KEY = bytes(range(32))
CITY = "440300"
BOOT_ID = "00000000-0000-4000-8000-000000000000"
IDENTITY = Identity(city="440300", centre="futian-01", kiosk="k1")
PIN = "258036"
PIN_HASH = hash_pin(PIN, n=MIN_N, salt=b"0123456789abcdef")  # the cheapest scrypt allowed
LOCKOUT_STEPS_S = (300.0, 900.0, 3600.0)
START_WALL = datetime(2026, 11, 23, 8, 15, tzinfo=UTC)
NAME = "张三丰"
ID_NUMBER = "11010519491231002X"


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start_s: float = 1000.0) -> None:
        self.now_s = start_s
        self.start_s = start_s

    def __call__(self) -> float:
        return self.now_s

    def advance(self, seconds: float) -> float:
        """Move forward and return the new time."""
        self.now_s += seconds
        return self.now_s

    def wall(self) -> datetime:
        """The wall clock that moves with this one."""
        return START_WALL + timedelta(seconds=self.now_s - self.start_s)


class ContractSink:
    """An EventSink that wraps every event in an envelope and validates it against the contract."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def put(self, event_type: str, data: dict[str, Any]) -> None:
        """Build, validate and keep the event."""
        event = new_event(
            event_type, data, identity=IDENTITY, boot_id=BOOT_ID, seq=len(self.events) + 1
        )
        validate_event(event)
        self.events.append(event)

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        """The data of every event of one type, in order."""
        return [e["data"] for e in self.events if e["type"] == event_type]

    def types(self) -> list[str]:
        """Event types in order."""
        return [e["type"] for e in self.events]


_ITEMS = (
    ItemDetail(
        "yb-001",
        "medical_insurance",
        "医保参保登记",
        "办理城乡居民医保参保",
        ("身份证",),
        "here",
        "本机",
        None,
        "周一至周五 9:00-17:00",
    ),
    ItemDetail(
        "yb-002",
        "medical_insurance",
        "医保异地就医备案",
        "异地就医前备案",
        ("身份证", "备案表"),
        "online",
        "国家医保服务平台",
        "https://example.gov.cn/yb",
        "全天",
    ),
    ItemDetail(
        "gjj-001",
        "housing_fund",
        "公积金提取",
        "提取住房公积金",
        ("身份证", "银行卡"),
        "window",
        "3号窗口",
        None,
        "周一至周五 9:00-17:00",
    ),
)


class StaticCatalogue:
    """A three-item catalogue implementing the Catalogue port."""

    version = "test-1"

    def categories(self, language: str) -> Sequence[CategoryEntry]:
        """Two categories."""
        return (
            CategoryEntry("medical_insurance", "医保" if language == "zh" else "Medical", 2),
            CategoryEntry("housing_fund", "公积金" if language == "zh" else "Housing fund", 1),
        )

    def items(self, category_id: str, language: str) -> Sequence[ItemSummary]:
        """Items of one category."""
        return tuple(
            ItemSummary(d.item_id, d.category_id, d.title)
            for d in _ITEMS
            if d.category_id == category_id
        )

    def search(self, query: str, language: str, limit: int) -> Sequence[ItemSummary]:
        """Substring search on titles."""
        return tuple(
            ItemSummary(d.item_id, d.category_id, d.title) for d in _ITEMS if query in d.title
        )[:limit]

    def detail(self, item_id: str, language: str) -> ItemDetail | None:
        """One item."""
        return next((d for d in _ITEMS if d.item_id == item_id), None)


ITEM_IDS = tuple(d.item_id for d in _ITEMS)
CATEGORY_IDS = ("medical_insurance", "housing_fund")


@dataclass
class Rig:
    """A session with its clock and sink."""

    session: Session
    clock: FakeClock
    sink: ContractSink
    settings: SessionSettings = field(default_factory=SessionSettings)

    def tick(self, seconds: float) -> State:
        """Advance the clock and deliver a Tick; returns the new state."""
        return self.session.handle(i.Tick(self.clock.advance(seconds))).state

    def send(self, *events: i.Input) -> State:
        """Deliver inputs in order; returns the final state."""
        for event in events:
            self.session.handle(event)
        return self.session.state

    def answer_points(self, port: PointsPort, *, limit: int = 10) -> list[PointsCall]:
        """Do what the host's worker does: make each call the session asks for, answer it."""
        made: list[PointsCall] = []
        while (call := self.session.take_points_call()) is not None and len(made) < limit:
            made.append(call)
            self.session.handle(i.PointsAnswered(call.token, run_points_call(port, call)))
        return made


REWARDS: tuple[dict[str, Any], ...] = (
    {"reward_id": "haircut", "title": {"zh": "理发", "en": "Haircut"}, "points": 50},
    {"reward_id": "rice", "title": {"zh": "大米一袋", "en": "A bag of rice"}, "points": 200},
    {"reward_id": "oil", "title": {"zh": "食用油", "en": "Cooking oil"}, "points": 30},
)


class FakePoints:
    """A PointsPort like the city's ledger, in memory: idempotent on redemption_id (a retry
    gets the first outcome, spends nothing more); `fail_next` makes calls fail as the agent
    or the city would (timeout, offline, unavailable), optionally after the spend."""

    def __init__(self, balance: int = 120, stock: dict[str, int] | None = None) -> None:
        self.balance = balance
        self.prices = {r["reward_id"]: r["points"] for r in REWARDS}
        self.stock = dict(stock or {"oil": 0})
        self.entries: list[dict[str, Any]] = [
            {
                "kind": "earn",
                "points": 20,
                "source": "volunteering",
                "at": "2026-11-20T02:00:00.000Z",
                "title": {"zh": "敬老院志愿服务", "en": "Care home volunteering"},
            },
            {
                "kind": "earn",
                "points": 100,
                "source": "attendance",
                "at": "2026-11-10T01:30:00.000Z",
            },
        ]
        self.fail_next: list[str] = []
        self.spend_then_fail: list[str] = []  # redeem: spend, then lose the answer like this
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.outcomes: dict[str, PointsAnswer] = {}
        self.spent = 0

    def _failure(self) -> PointsAnswer | None:
        if self.fail_next:
            reason = self.fail_next.pop(0)
            return PointsAnswer(False, {}, reason, {"zh": f"失败{reason}", "en": f"fail {reason}"})
        return None

    def history(self, subject: str, key_id: str, limit: int) -> PointsAnswer:
        """points.history."""
        self.calls.append(("history", {"subject": subject, "key_id": key_id, "limit": limit}))
        failed = self._failure()
        return failed or PointsAnswer(
            True, {"balance": self.balance, "entries": list(self.entries[:limit])}
        )

    def catalogue(self) -> PointsAnswer:
        """points.catalogue."""
        self.calls.append(("catalogue", {}))
        rewards = [
            {
                **r,
                "points": self.prices[r["reward_id"]],
                "available": self.stock.get(r["reward_id"], 1) > 0,
            }
            for r in REWARDS
        ]
        return self._failure() or PointsAnswer(True, {"rewards": rewards})

    def redeem(
        self, subject: str, key_id: str, reward_id: str, points: int, redemption_id: str
    ) -> PointsAnswer:
        """points.redeem, idempotent on redemption_id."""
        params = {
            "subject": subject,
            "reward_id": reward_id,
            "points": points,
            "redemption_id": redemption_id,
        }
        self.calls.append(("redeem", params))
        failed = self._failure()
        if failed is not None:
            return failed
        if redemption_id not in self.outcomes:
            self.outcomes[redemption_id] = self._redeem(reward_id, points, redemption_id)
        if self.spend_then_fail:
            reason = self.spend_then_fail.pop(0)
            return PointsAnswer(False, {}, reason, {"zh": f"失败{reason}", "en": f"fail {reason}"})
        return self.outcomes[redemption_id]

    def _redeem(self, reward_id: str, points: int, redemption_id: str) -> PointsAnswer:
        price = self.prices.get(reward_id)
        if price is None:
            return PointsAnswer(False, {}, "unknown_reward", {"zh": "没有", "en": "none"})
        if price != points:
            return PointsAnswer(False, {}, "price_changed", {"zh": "积分有变化", "en": "changed"})
        if self.balance < price:
            return PointsAnswer(False, {}, "insufficient_points", {"zh": "积分不够", "en": "short"})
        self.balance -= price
        self.spent += price
        self.entries.insert(
            0,
            {
                "kind": "redeem",
                "points": -price,
                "source": "redemption",
                "at": "2026-11-23T08:15:00.000Z",
            },
        )
        title = next(r["title"] for r in REWARDS if r["reward_id"] == reward_id)
        return PointsAnswer(
            True,
            {
                "redemption_id": redemption_id,
                "reward_id": reward_id,
                "title": title,
                "points": price,
                "balance": self.balance,
                "voucher": "7K2M-Q9XD-3FHT",
                "redeemed_at": "2026-11-23T08:15:00.000Z",
            },
        )


def _activity(activity_id: str, day: int, places_left: int) -> dict[str, Any]:
    return {
        "id": activity_id,
        "title": {"zh": f"太极拳晨练{day}", "en": f"Morning tai chi {day}"},
        "starts_at": f"2026-12-{day:02d}T08:30:00+08:00",
        "ends_at": f"2026-12-{day:02d}T09:30:00+08:00",
        "place": {"zh": "中心一楼活动室", "en": "Activity room"},
        "organiser": {"zh": "社区老年协会", "en": "Seniors' association"},
        "audience": {"zh": "60岁以上居民", "en": "Residents aged 60 and over"},
        "capacity": 30,
        "places_left": places_left,
    }


ACTIVITIES: Activities = activities_from_data(
    {
        "kind": "activities",
        "version": "2026-12-01.1",
        "activities": [_activity("tai-chi-10", 10, 12), _activity("tai-chi-11", 11, 0)],
    },
    "support",
)
ACTIVITY_IDS = ("tai-chi-10", "tai-chi-11", "no-such")


class MemorySignups:
    """A SignupStore in a dict (the SQLite one has its own tests), with the city's answers."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, StoredSignup]] = {}

    def add(self, subject: str, signup: StoredSignup) -> None:
        """Keep it."""
        self.rows.setdefault(signup.signup_id, (subject, signup))

    def for_subject(self, subject: str) -> list[StoredSignup]:
        """Not cancelled, soonest first."""
        mine = [s for who, s in self.rows.values() if who == subject and s.state != "cancelled"]
        return sorted(mine, key=lambda s: (s.starts_at, s.signup_id))

    def cancel(self, subject: str, signup_id: str) -> bool:
        """Cancel one of theirs."""
        who, signup = self.rows.get(signup_id, ("", None))
        if signup is None or who != subject or signup.state == "cancelled":
            return False
        self.rows[signup_id] = (who, replace(signup, state="cancelled"))
        return True

    def apply_result(self, result: SignupResult) -> bool:
        """The city's answer (as kiosk/runtime/signups.py applies it)."""
        who, signup = self.rows.get(result.signup_id, ("", None))
        if signup is None or signup.state == "cancelled":
            return False
        self.rows[result.signup_id] = (
            who,
            replace(signup, state=result.outcome, reason=result.reason),
        )
        return True


# The city's request key for the tests (docs/requests.md): the private half opens what is sealed.
REQUEST_PRIVATE_KEY = bytes.fromhex("a8" + "11" * 30 + "4f")
PHONE = "13912345678"


def _request_public_key() -> str:
    import base64

    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    private = X25519PrivateKey.from_private_bytes(REQUEST_PRIVATE_KEY)
    return base64.b64encode(private.public_key().public_bytes_raw()).decode()


def requests_config(*, key: bool = True, buildings: bool = True) -> Requests:
    """The default categories, two buildings (one without units) and the test key."""
    from config.schema import Problem, build

    problems: list[Problem] = []
    raw: dict[str, Any] = {}
    if key:
        raw["key"] = {"key_id": "req-test", "public_key": _request_public_key()}
    if buildings:
        raw["buildings"] = [
            {"label": {"zh": "5栋", "en": "Building 5"}, "units": [
                {"zh": "1单元", "en": "Unit 1"}, {"zh": "2单元", "en": "Unit 2"}]},
            {"label": {"zh": "老年活动中心", "en": "Seniors' centre"}},
        ]  # fmt: skip
    config = build(Requests, raw, "requests", problems)
    assert config is not None, problems
    return config


class MemoryRequests:
    """A RequestStore in a list (the SQLite one has its own tests)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, StoredRequest]] = []

    def add(self, subject: str, request: StoredRequest) -> None:
        """Keep it."""
        self.rows.append((subject, request))

    def for_subject(self, subject: str) -> list[StoredRequest]:
        """Newest first."""
        mine = [r for who, r in self.rows if who == subject]
        return sorted(mine, key=lambda r: r.submitted_at, reverse=True)


def make_rig(
    history: ReadingHistory | None = None,
    *,
    pin_hash: str | None = PIN_HASH,
    settings: SessionSettings | None = None,
    signups: MemorySignups | None = None,
    requests: Requests | None = None,
    request_store: MemoryRequests | None = None,
) -> Rig:
    """A fresh session at the attract screen."""
    clock = FakeClock()
    sink = ContractSink()
    settings = settings or SessionSettings(
        centre_name="福田区政务服务中心", city=CITY, has_printer=True
    )
    gate = PinGate(pin_hash, max_failures=5, lockout_steps_s=LOCKOUT_STEPS_S, clock=clock)
    session = Session(
        settings,
        sink=sink,
        catalogue=StaticCatalogue(),
        pseudonym_key=KEY,
        clock=clock,
        wall_clock=clock.wall,
        history=history,
        pin_gate=gate,
        signups=signups if signups is not None else MemorySignups(),
        activities=ACTIVITIES,
        requests=requests if requests is not None else requests_config(),
        request_store=request_store if request_store is not None else MemoryRequests(),
    )
    return Rig(session, clock, sink, settings)


def card(name: str = NAME, id_number: str = ID_NUMBER) -> i.CardIdentity:
    """A resident card read."""
    return i.CardIdentity("resident", name, id_number, id_number_valid=True, read_ms=420.0)


GOOD_READING = i.BpMeasured(128, 84, 72, 99, None, "suntech")

# Paths from the attract screen into each state (anonymous unless the path says otherwise).
PATHS: dict[State, tuple[i.Input, ...]] = {
    State.ATTRACT: (),
    State.IDENTIFY: (i.StartServices(),),
    State.SERVICES: (i.StartServices(), i.SkipIdentify()),
    State.HEALTH_CONSENT: (i.StartHealth(), card()),
    State.HEALTH_GUIDE: (i.StartHealth(), i.SkipIdentify()),
    State.HEALTH_MEASURING: (i.StartHealth(), i.SkipIdentify(), i.StartMeasuring()),
    State.HEALTH_RESULT: (i.StartHealth(), i.SkipIdentify(), i.StartMeasuring(), GOOD_READING),
    State.ACTIVITIES: (i.StartActivities(), i.SkipIdentify()),
    State.POINTS: (i.StartPoints(), i.SkipIdentify()),
    State.REQUESTS: (i.StartRequests(), i.SkipIdentify()),
    State.RATING: (i.StartServices(), i.SkipIdentify(), i.Finish()),
    State.DIAGNOSTICS_PIN: (i.TechnicianGesture(),),
    State.DIAGNOSTICS: (i.TechnicianGesture(), i.PinEntered(PIN)),
}


def rig_in(state: State, history: ReadingHistory | None = None) -> Rig:
    """A rig driven into `state` (COUNTDOWN via an idle services screen)."""
    rig = make_rig(history)
    if state is State.COUNTDOWN:
        rig.send(*PATHS[State.SERVICES])
        rig.tick(rig.settings.idle_timeout_s)
    else:
        rig.send(*PATHS[state])
    assert rig.session.state is state
    return rig


# --- strategies -------------------------------------------------------------------------------

CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
names = st.text(CJK, min_size=2, max_size=4)
id_numbers = st.from_regex(r"[1-6][0-9]{16}[0-9X]", fullmatch=True)
levels = st.integers(min_value=0, max_value=6)
mmhg = st.integers(min_value=1, max_value=300)
devices = st.sampled_from(("idcard", "bp", "qrscan", "camera", "printer"))


def card_identities(name: str, id_number: str) -> st.SearchStrategy[i.CardIdentity]:
    """Card reads of one resident."""
    return st.builds(
        i.CardIdentity,
        card_type=st.sampled_from(("resident", "hkmotw_permit")),
        name=st.just(name),
        id_number=st.just(id_number),
        id_number_valid=st.booleans(),
        card_expired=st.none() | st.booleans(),
        read_ms=st.none() | st.floats(0, 5000),
    )


def inputs(name: str = NAME, id_number: str = ID_NUMBER) -> st.SearchStrategy[i.Input]:
    """Any input except Tick and Wipe (which tests drive on purpose), with plausible values."""
    return st.one_of(
        st.sampled_from(
            [
                i.StartServices(),
                i.StartHealth(),
                i.SkipIdentify(),
                i.Back(),
                i.Exit(),
                i.Finish(),
                i.GiveConsent(),
                i.DeclineConsent(),
                i.StartMeasuring(),
                i.CancelMeasuring(),
                i.Retry(),
                i.SubmitRating(),
                i.SkipRating(),
                i.Continue(),
                i.TechnicianGesture(),
                i.PrintGuide(),
                i.PrintBpSlip(),
                i.StartActivities(),
                i.SignupsUpdated(),
                i.StartPoints(),
                i.ConfirmRedeem(),
                i.PointsRetry(),
                i.PrintVoucher(),
                i.StartRequests(),
                i.SubmitRequest(),
                i.PrintRequestTicket(),
            ]
        ),
        st.builds(i.ChooseReward, st.sampled_from(("haircut", "rice", "oil", "no-such"))),
        st.builds(
            i.PointsAnswered,
            st.sampled_from(("stale-token",)),
            st.builds(PointsAnswer, st.booleans(), st.just({"balance": 9})),
        ),
        st.builds(i.RequestGo, st.sampled_from(("new", "mine", "menu", "next"))),
        st.builds(i.ChooseRequestCategory, st.sampled_from(("repairs", "other", "bogus"))),
        st.builds(
            i.ChooseRequestLocation, st.none() | st.integers(-1, 3), st.none() | st.integers(-1, 3)
        ),
        st.builds(i.AddRequestPhrase, st.integers(-1, 5)),
        st.builds(i.EditRequestText, st.sampled_from(("楼道灯坏了", name, "", f"电话{PHONE}"))),
        st.builds(i.RequestPhoneKey, st.sampled_from(("edit", "1", "3", "9", "done", "remove"))),
        st.builds(
            i.RequestStatusAnswered,
            st.sampled_from(("stale", "00000000-0000-7000-8000-000000000001")),
            st.booleans(),
        ),
        st.builds(i.SignUp, st.sampled_from(ACTIVITY_IDS)),
        st.builds(
            i.CancelSignup, st.sampled_from(("unknown", "0193f1c2-7a4b-7c3d-8e5f-0123456789ab"))
        ),
        st.builds(i.PrintSignupSlip, st.sampled_from(("unknown",))),
        st.builds(
            i.PrintFinished,
            st.sampled_from(("stale-job", "00000000-0000-7000-8000-000000000001")),
            st.sampled_from(("done", "unavailable")),
        ),
        st.builds(i.SelectCategory, st.sampled_from(CATEGORY_IDS)),
        st.builds(i.Search, st.sampled_from(("医保", "公积金", "", "zzz", name))),
        st.builds(i.OpenItem, st.sampled_from(ITEM_IDS), st.sampled_from(("browse", "search"))),
        st.builds(i.SelectLevel, levels),
        st.builds(i.ToggleReason, st.sampled_from(("waited_too_long", "other", "bogus"))),
        st.builds(i.SetLanguage, st.sampled_from(("zh", "en"))),
        st.builds(i.SetLargeText, st.booleans()),
        st.builds(i.SetVoice, st.booleans()),
        st.builds(i.SetHighContrast, st.booleans()),
        st.builds(i.PinEntered, st.sampled_from((PIN, "0000"))),
        st.builds(i.RunSelfTest, devices, st.booleans()),
        st.builds(
            i.SelfTestDone,
            st.builds(
                SelfTestReport.of,
                devices,
                st.lists(st.builds(Check, st.just("port"), st.booleans(), st.just("")), max_size=2),
                st.just(0.1),
            ),
        ),
        card_identities(name, id_number),
        st.builds(i.CardReadFault, st.sampled_from(("card_moved", "weird"))),
        st.builds(
            i.QrShown,
            st.sampled_from(("medical_insurance_code", "health_code", "url")),
            st.integers(1, 300),
            st.sampled_from(("camera", "scanner")),
        ),
        st.builds(i.CuffPressure, mmhg),
        st.builds(
            i.BpMeasured,
            mmhg,
            mmhg,
            st.none() | st.integers(30, 200),
            st.none() | mmhg,
            st.none() | st.sampled_from(("movement", "cuff_leak", "weird_key")),
        ),
        st.builds(
            i.DeviceFault,
            devices,
            st.sampled_from(("disconnected", "timeout", "fault")),
            st.none() | st.just("E2"),
            st.just("no answer"),
        ),
        st.builds(i.DeviceRecovered, devices, st.floats(0, 100)),
        st.builds(
            i.OutboxStatus, st.integers(0, 100), st.none() | st.floats(0, 100), st.booleans()
        ),
        st.builds(i.LogLine, st.sampled_from(("link up", f"card {id_number} read"))),
    )


class MemoryHistory:
    """A ReadingHistory in a dict (the SQLite one has its own tests)."""

    def __init__(self) -> None:
        self.readings: dict[str, list[StoredReading]] = {}

    def add(self, subject: str, reading: StoredReading) -> None:
        """Keep the reading."""
        self.readings.setdefault(subject, []).append(reading)

    def recent(self, subject: str, limit: int) -> list[StoredReading]:
        """The newest `limit`, oldest first."""
        return self.readings.get(subject, [])[-limit:]
