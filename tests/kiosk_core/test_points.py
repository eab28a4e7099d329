"""红色积分 in the core: the balance, recent entries and rewards after a card; redeem with a
confirm step and one redemption_id per tap (the same on every retry); refusals and failures in
plain words; the voucher on screen and on paper; nothing left after a wipe."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core import inputs as i
from kiosk.core.machine import Command, InvalidInput, State
from kiosk.core.points import parse_catalogue, parse_history, parse_redeem
from kiosk.core.ports import PointsAnswer
from kiosk.core.settings import SessionSettings
from kiosk.core.views import PointsView
from tests.kiosk_core.support import CITY, ID_NUMBER, NAME, FakePoints, Rig, card, make_rig


def phase(rig: Rig) -> str:
    """The points screen's phase now."""
    return rig.session.views.points.phase


def points_rig(port: FakePoints) -> Rig:
    """Attract → 红色积分 → card → the overview loaded through `port`."""
    rig = make_rig()
    assert rig.send(i.StartPoints()) is State.IDENTIFY
    assert rig.send(card()) is State.POINTS
    assert phase(rig) == "loading"
    made = rig.answer_points(port)
    assert [c.method for c in made] == ["history", "catalogue"]
    assert phase(rig) == "overview"
    return rig


def test_balance_entries_and_rewards_after_a_card() -> None:
    """points.history then points.catalogue, as words; each reward says if it can be had."""
    port = FakePoints(balance=120)
    rig = points_rig(port)
    view = rig.session.views.points
    assert view.identified
    assert view.greeting == "张**，您好"
    assert view.balance_text == "您现有积分：120"
    assert [(e.title, e.when_text, e.points_text) for e in view.entries] == [
        ("敬老院志愿服务", "11月20日", "+20"),
        ("参加活动", "11月10日", "+100"),
    ]
    by_id = {r.reward_id: r for r in view.rewards}
    assert (by_id["haircut"].points_text, by_id["haircut"].status_text) == ("50 积分", "可以兑换")
    assert by_id["haircut"].can_choose
    assert (by_id["rice"].status_text, by_id["rice"].can_choose) == ("还差 80 积分", False)
    assert (by_id["oil"].status_text, by_id["oil"].can_choose) == ("已兑换完", False)
    history = port.calls[0][1]
    assert history["subject"] == rig.sink.of_type("card.read")[0]["subject"]
    assert ID_NUMBER not in json.dumps(port.calls)
    assert NAME not in json.dumps(port.calls)
    assert rig.sink.of_type("session.started")[0]["flow"] == "points"  # contract 1.4


def test_calls_run_off_the_ui_thread_as_commands() -> None:
    """Each call is a POINTS command and a call object the host takes once."""
    rig = make_rig()
    rig.send(i.StartPoints())
    step = rig.session.handle(card())
    assert Command.POINTS in step.commands
    call = rig.session.take_points_call()
    assert call is not None
    assert call.method == "history"
    assert rig.session.take_points_call() is None


def test_english_and_not_identified() -> None:
    """Without a card: what points can buy, no balance, and "place your ID card"."""
    rig = make_rig()
    rig.send(i.SetLanguage("en"), i.StartPoints(), i.SkipIdentify())
    assert rig.session.state is State.POINTS
    assert [c.method for c in rig.answer_points(FakePoints())] == ["catalogue"]
    view = rig.session.views.points
    assert not view.identified
    assert view.balance_text == ""
    assert "ID card" in view.notice
    assert {r.status_text for r in view.rewards} == {"Place your ID card to redeem", "Run out"}
    with pytest.raises(InvalidInput):
        rig.send(i.ChooseReward("haircut"))
    rig.send(card())  # the card on the points screen: now the resident's own points
    assert [c.method for c in rig.answer_points(FakePoints())] == ["history", "catalogue"]
    assert rig.session.views.points.balance_text == "Your points: 120"


def test_redeem_confirm_voucher_and_slip() -> None:
    """Choose → confirm (price, balance after) → one redemption → voucher on screen and paper."""
    port = FakePoints(balance=120)
    rig = points_rig(port)
    rig.send(i.ChooseReward("haircut"))
    confirm = rig.session.views.points.confirm
    assert confirm is not None
    assert (confirm.price_text, confirm.balance_after_text) == (
        "需要 50 积分",
        "兑换后还剩 70 积分",
    )
    rig.send(i.ConfirmRedeem())
    assert phase(rig) == "redeeming"
    assert rig.session.views.points.waiting_text.startswith("正在兑换")
    rig.send(i.ConfirmRedeem())  # a second tap while waiting: the same action
    (call,) = rig.answer_points(port)
    assert (call.method, call.reward_id, call.points) == ("redeem", "haircut", 50)
    view = rig.session.views.points
    assert view.phase == "voucher"
    assert view.voucher is not None
    assert view.voucher.code == "7K2M-Q9XD-3FHT"
    assert (view.voucher.points_text, view.voucher.balance_after_text) == (
        "用去 50 积分",
        "还剩 70 积分",
    )
    assert port.balance == 70
    assert port.spent == 50
    job = rig.session.take_print_job()
    assert job is not None
    assert job.kind == "voucher"
    texts = [(line.kind, line.text, line.value) for line in job.lines]
    assert ("big", "7K2M-Q9XD-3FHT", "") in texts
    assert any(k == "qr" and t == "7K2M-Q9XD-3FHT" for k, t, _ in texts)
    assert ("name", "姓名", "张**") in texts
    assert ("field", "剩余积分", "70 积分") in texts
    assert ("field", "用去积分", "50 积分") in texts
    assert ("title", "理发", "") in texts
    assert "福田区政务服务中心" in [t for _, t, _ in texts]
    flat = json.dumps(texts, ensure_ascii=False)
    assert ID_NUMBER not in flat
    assert NAME not in flat
    assert rig.sink.of_type("card.read")[0]["subject"] not in flat
    assert rig.session.views.printing.kind == "voucher"
    rig.send(i.Back())  # back to the overview, loaded afresh
    rig.answer_points(port)
    assert rig.session.views.points.balance_text == "您现有积分：70"
    assert rig.send(i.Exit()) is State.RATING  # something was done: the rating follows


def test_a_printer_fault_keeps_the_voucher_on_screen() -> None:
    """Paper out: the slip is "ask at the counter"; the code is still on the screen."""
    port = FakePoints()
    rig = points_rig(port)
    rig.send(i.DeviceFault("printer", "fault", "0x460", "paper out"))
    rig.send(i.ChooseReward("haircut"), i.ConfirmRedeem())
    rig.answer_points(port)
    views = rig.session.views
    assert views.points.voucher is not None
    assert views.points.voucher.code == "7K2M-Q9XD-3FHT"
    assert views.printing.status == "unavailable"
    assert "服务台" in views.printing.text
    rig.send(i.DeviceRecovered("printer", 5.0), i.PrintVoucher())
    assert rig.session.views.printing.status == "printing"


def test_insufficient_points_is_plain_words_without_try_again() -> None:
    """Another kiosk spent the points meanwhile: the city refuses; back shows the balance now."""
    port = FakePoints(balance=120)
    rig = points_rig(port)
    rig.send(i.ChooseReward("haircut"))
    port.balance = 10
    rig.send(i.ConfirmRedeem())
    rig.answer_points(port)
    view = rig.session.views.points
    assert (view.phase, view.error_text, view.can_retry) == ("error", "积分不够", False)
    with pytest.raises(InvalidInput):
        rig.send(i.PointsRetry())
    rig.send(i.Back())
    rig.answer_points(port)
    view = rig.session.views.points
    assert view.phase == "overview"
    assert view.balance_text == "您现有积分：10"
    assert not next(r for r in view.rewards if r.reward_id == "haircut").can_choose
    assert port.spent == 0


def test_price_changed_then_the_new_price() -> None:
    """The price moved under the resident: refused; back reloads the catalogue's new price."""
    port = FakePoints(balance=120)
    rig = points_rig(port)
    rig.send(i.ChooseReward("haircut"))
    port.prices["haircut"] = 60
    rig.send(i.ConfirmRedeem())
    rig.answer_points(port)
    assert rig.session.views.points.error_text == "积分有变化"
    rig.send(i.Back())
    rig.answer_points(port)
    rig.send(i.ChooseReward("haircut"))
    confirm = rig.session.views.points.confirm
    assert confirm is not None
    assert confirm.price_text == "需要 60 积分"
    rig.send(i.ConfirmRedeem())
    rig.answer_points(port)
    assert phase(rig) == "voucher"
    assert port.spent == 60
    first, second = [c[1]["redemption_id"] for c in port.calls if c[0] == "redeem"]
    assert first != second  # a new confirm tap is a new action


def test_a_timeout_then_try_again_reuses_the_redemption_id() -> None:
    """The city spent the points but the answer was lost: "try again" sends the same id and
    gets the first outcome (the voucher); the points are spent once."""
    port = FakePoints(balance=120)
    rig = points_rig(port)
    rig.send(i.ChooseReward("haircut"), i.ConfirmRedeem())
    port.spend_then_fail = ["timeout"]
    rig.answer_points(port)
    view = rig.session.views.points
    assert (view.phase, view.error_text, view.can_retry) == ("error", "失败timeout", True)
    port.fail_next = ["offline"]  # the second try does not get through either
    rig.send(i.PointsRetry())
    assert phase(rig) == "redeeming"
    rig.answer_points(port)
    assert rig.session.views.points.can_retry
    rig.send(i.PointsRetry())
    rig.answer_points(port)
    assert phase(rig) == "voucher"
    redeems = [c[1] for c in port.calls if c[0] == "redeem"]
    assert len(redeems) == 3
    assert len({r["redemption_id"] for r in redeems}) == 1
    assert port.spent == 50
    assert port.balance == 70


def test_offline_loading_then_try_again() -> None:
    """No network: the plain words and try again; back leaves the screen."""
    port = FakePoints()
    port.fail_next = ["offline"]
    rig = make_rig()
    rig.send(i.StartPoints(), card())
    rig.answer_points(port)
    view = rig.session.views.points
    assert (view.phase, view.error_text, view.can_retry) == ("error", "失败offline", True)
    rig.send(i.PointsRetry())
    assert [c.method for c in rig.answer_points(port)] == ["history", "catalogue"]
    assert phase(rig) == "overview"
    port.fail_next = ["timeout"]
    rig.send(i.Back())  # the overview: back leaves; nothing was done, no rating
    assert rig.session.state is State.ATTRACT


def test_a_stale_answer_is_dropped() -> None:
    """An answer to a call nobody waits for (a wipe, a newer call) changes nothing."""
    port = FakePoints()
    rig = make_rig()
    rig.send(i.StartPoints(), card())
    call = rig.session.take_points_call()
    assert call is not None
    rig.send(i.Wipe("kiosk_restart"))
    rig.send(i.PointsAnswered(call.token, PointsAnswer(True, {"balance": 5, "entries": []})))
    assert rig.session.views.points == PointsView()
    assert port.calls == []


def test_idle_timeout_wipes_balance_entries_and_voucher() -> None:
    """Idle on the voucher: the countdown, then nothing of it is left."""
    port = FakePoints()
    rig = points_rig(port)
    rig.send(i.ChooseReward("haircut"), i.ConfirmRedeem())
    rig.answer_points(port)
    assert rig.session.views.points.voucher is not None
    assert rig.tick(rig.settings.idle_timeout_s + 1) is State.COUNTDOWN
    assert rig.tick(rig.settings.countdown_s + 1) is State.ATTRACT
    assert rig.session.views.points == PointsView()
    assert rig.session._resident.points is None
    assert rig.session.take_points_call() is None
    assert rig.sink.of_type("session.ended")[-1]["reason"] == "idle_timeout"


def test_waiting_for_the_city_is_not_idle() -> None:
    """No countdown while a call is in flight (a short idle timeout); it starts after."""
    port = FakePoints()
    rig = make_rig(settings=SessionSettings(city=CITY, idle_timeout_s=10.0, has_printer=True))
    rig.send(i.StartPoints(), card())
    assert rig.tick(15.0) is State.POINTS
    rig.answer_points(port)
    assert rig.tick(5.0) is State.POINTS
    assert rig.tick(6.0) is State.COUNTDOWN


def test_an_answer_during_the_countdown_is_kept_for_continue() -> None:
    """The voucher arrives while the countdown shows: 继续办理 shows it."""
    port = FakePoints()
    rig = points_rig(port)
    rig.send(i.ChooseReward("haircut"), i.ConfirmRedeem())
    call = rig.session.take_points_call()
    assert call is not None
    rig.tick(rig.settings.idle_timeout_s + 1)
    assert rig.session.state is State.COUNTDOWN
    answer = port.redeem(call.subject, call.key_id, "haircut", 50, call.redemption_id)
    assert rig.send(i.PointsAnswered(call.token, answer), i.Continue()) is State.POINTS
    assert phase(rig) == "voucher"


def test_choose_only_what_is_offered() -> None:
    """Unknown, out of stock and unaffordable rewards are not offered."""
    rig = points_rig(FakePoints(balance=120))
    for reward_id in ("no-such", "oil", "rice"):
        with pytest.raises(InvalidInput):
            rig.send(i.ChooseReward(reward_id))
    with pytest.raises(InvalidInput):
        rig.send(i.ConfirmRedeem())
    rig.send(i.ChooseReward("haircut"), i.Back())
    assert phase(rig) == "overview"


def test_an_unreadable_answer_is_plain_words() -> None:
    """A voucher that does not read: "did not work", never a crash or a half voucher."""
    port = FakePoints()
    rig = points_rig(port)
    rig.send(i.ChooseReward("haircut"), i.ConfirmRedeem())
    call = rig.session.take_points_call()
    assert call is not None
    rig.send(i.PointsAnswered(call.token, PointsAnswer(True, {"voucher": 7})))
    view = rig.session.views.points
    assert view.phase == "error"
    assert view.voucher is None
    assert view.error_text == "没有完成，请稍后再试，或询问工作人员。"


# --- the city's answers, read defensively ------------------------------------------------------

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
keys = st.sampled_from(
    ("balance", "entries", "rewards", "voucher", "title", "points", "reward_id", "redeemed_at")
)


@given(st.dictionaries(keys | st.text(max_size=8), values, max_size=8))
def test_any_answer_data_reads_or_is_refused(data: dict[str, object]) -> None:
    """Whatever the data, the readers return a value or None, never raise."""
    parse_history(data)
    parse_catalogue(data)
    parse_redeem(data, datetime(2026, 1, 1, tzinfo=UTC))


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "reward_id": st.text(max_size=70),
                "title": st.fixed_dictionaries({"zh": st.text(max_size=100)}),
                "points": st.integers(-5, 20_000_000),
                "available": st.booleans() | st.none(),
            }
        ),
        max_size=250,
    )
)
def test_rewards_are_bounded_and_checked(rewards: list[dict[str, object]]) -> None:
    """At most 200 rewards, ids unique, titles capped and printable, prices positive."""
    parsed = parse_catalogue({"rewards": rewards})
    assert parsed is not None
    assert len(parsed) <= 200
    assert len({r.reward_id for r in parsed}) == len(parsed)
    for reward in parsed:
        assert 1 <= reward.points <= 10_000_000
        assert 0 < len(reward.title.zh) <= 80
        assert reward.title.zh.isprintable()
