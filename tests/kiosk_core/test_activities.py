"""活动报名 in the core: the list, signing up identified (a durable, contract-valid event), waiting
for the city, its answer, cancelling, the slip, and nothing left for the next resident."""

from __future__ import annotations

import json
import re

import pytest

from common.kiosk_agent import SIGNUP_ID_RE, SignupResult
from kiosk.core import inputs as i
from kiosk.core.machine import Command, InvalidInput, State
from kiosk.core.views import ActivitiesView
from tests.kiosk_core.support import ID_NUMBER, NAME, MemorySignups, Rig, card, make_rig

OTHER_NAME, OTHER_ID = "李四", "44030519800101001X"


def identified(signups: MemorySignups | None = None, *, who: i.CardIdentity | None = None) -> Rig:
    rig = make_rig(signups=signups)
    assert rig.send(i.StartActivities(), who or card()) is State.ACTIVITIES
    return rig


def test_the_list_shows_time_place_organiser_audience_and_places() -> None:
    """Each activity in words; a full one cannot be signed up for."""
    rig = identified()
    view = rig.session.views.activities
    assert view.identified
    assert view.greeting == "张**，您好"
    first, full = view.activities
    assert first.title == "太极拳晨练10"
    assert first.when_text == "12月10日 星期四 08:30-09:30"
    assert first.place == "地点：中心一楼活动室"
    assert first.organiser == "主办：社区老年协会"
    assert first.audience == "对象：60岁以上居民"
    assert first.places_text == "还剩 12 个名额"
    assert first.can_sign_up
    assert full.places_text == "名额已满"
    assert not full.can_sign_up


def test_signing_up_is_a_durable_event_and_waits_for_the_city() -> None:
    """activity.signup carries a UUIDv7, the activity, the pseudonym and key id; never the ID."""
    signups = MemorySignups()
    rig = identified(signups)
    rig.send(i.SignUp("tai-chi-10"))
    (data,) = rig.sink.of_type("activity.signup")
    assert SIGNUP_ID_RE.fullmatch(data["signup_id"])
    assert data["activity_id"] == "tai-chi-10"
    assert data["activities_version"] == "2026-12-01.1"
    assert data["subject"] == rig.sink.of_type("card.read")[0]["subject"]
    assert ID_NUMBER not in json.dumps(rig.sink.events)
    view = rig.session.views.activities
    (mine,) = view.signups
    assert (mine.state, mine.state_text) == ("pending", "等待确认")
    assert "等待确认" in view.notice
    assert not view.activities[0].can_sign_up
    assert view.activities[0].signed_up
    rig.send(i.SignUp("tai-chi-10"))  # a second tap: nothing more
    assert len(rig.sink.of_type("activity.signup")) == 1


def test_the_citys_answer_shows_once_recorded() -> None:
    """Confirmed → 报名成功; refused → the city's reason in words."""
    signups = MemorySignups()
    rig = identified(signups)
    rig.send(i.SignUp("tai-chi-10"))
    signup_id = rig.session.views.activities.signups[0].signup_id
    assert signups.apply_result(SignupResult(signup_id, "confirmed"))
    rig.send(i.SignupsUpdated())
    assert rig.session.views.activities.signups[0].state_text == "报名成功"
    signups.apply_result(SignupResult(signup_id, "refused", "名额已满"))
    rig.send(i.SignupsUpdated())
    mine = rig.session.views.activities.signups[0]
    assert mine.state_text == "未能报名：名额已满"
    assert not mine.can_cancel
    assert rig.session.views.activities.activities[0].can_sign_up  # may try again


def test_a_full_activity_or_an_anonymous_resident_sends_nothing() -> None:
    """Full: a notice. Not identified: "place your ID card"; a card then identifies here."""
    rig = identified()
    rig.send(i.SignUp("tai-chi-11"))
    assert rig.session.views.activities.notice == "这个活动的名额已满。"
    assert rig.sink.of_type("activity.signup") == []
    rig = make_rig()
    rig.send(i.StartActivities(), i.SkipIdentify())
    view = rig.session.views.activities
    assert not view.identified
    assert "身份证" in view.notice
    assert not any(a.can_sign_up for a in view.activities)
    rig.send(i.SignUp("tai-chi-10"))
    assert rig.sink.of_type("activity.signup") == []
    assert rig.send(card()) is State.ACTIVITIES
    assert rig.session.views.activities.identified
    with pytest.raises(InvalidInput):
        rig.send(i.SignUp("no-such"))


def test_cancel_is_another_durable_event() -> None:
    """取消报名: activity.cancelled for that sign-up; it leaves the list."""
    rig = identified()
    rig.send(i.SignUp("tai-chi-10"))
    signup_id = rig.session.views.activities.signups[0].signup_id
    rig.send(i.CancelSignup(signup_id))
    (data,) = rig.sink.of_type("activity.cancelled")
    assert (data["signup_id"], data["activity_id"]) == (signup_id, "tai-chi-10")
    assert rig.session.views.activities.signups == ()
    assert rig.session.views.activities.notice == "已取消报名。"
    with pytest.raises(InvalidInput):
        rig.send(i.CancelSignup(signup_id))


def test_sign_ups_show_only_to_their_resident_and_are_wiped() -> None:
    """The next resident sees an empty screen, then only their own sign-ups."""
    signups = MemorySignups()
    rig = identified(signups)
    rig.send(i.SignUp("tai-chi-10"))
    signup_id = rig.session.views.activities.signups[0].signup_id
    assert rig.send(i.Exit()) is State.RATING  # signing up used the service
    rig.send(i.SkipRating())
    assert rig.session.views.activities == ActivitiesView()
    other = card(OTHER_NAME, OTHER_ID)
    rig.send(i.StartActivities(), other)
    assert rig.session.views.activities.signups == ()
    with pytest.raises(InvalidInput):
        rig.send(i.CancelSignup(signup_id))
    rig.send(i.Exit())
    rig.send(i.StartActivities(), card())
    views = rig.session.views  # a fresh name: mypy narrowed the old one to an empty tuple
    assert [mine.signup_id for mine in views.activities.signups] == [signup_id]


def test_idle_timeout_wipes_the_sign_ups_off_the_screen() -> None:
    """Countdown runs out on the activities screen: nothing of the resident remains."""
    rig = identified()
    rig.send(i.SignUp("tai-chi-10"))
    assert rig.tick(rig.settings.idle_timeout_s) is State.COUNTDOWN
    assert rig.tick(rig.settings.countdown_s) is State.ATTRACT
    assert rig.session.views.activities == ActivitiesView()


def test_the_sign_up_slip_has_the_masked_name_and_no_identifiers() -> None:
    """打印报名凭条: masked name, activity, time, place, state, a short reference."""
    rig = identified()
    rig.send(i.SignUp("tai-chi-10"))
    signup_id = rig.session.views.activities.signups[0].signup_id
    assert rig.session.views.printing.can_print_signup
    step = rig.session.handle(i.PrintSignupSlip(signup_id))
    assert Command.PRINT in step.commands
    job = rig.session.take_print_job()
    assert job is not None
    assert job.kind == "signup"
    texts = [line.text for line in job.lines] + [line.value for line in job.lines]
    assert "张**" in texts
    assert "太极拳晨练10" in texts
    assert "等待确认" in texts
    printed = json.dumps(texts, ensure_ascii=False)
    subject = rig.sink.of_type("card.read")[0]["subject"]
    for secret in (NAME, ID_NUMBER, subject):
        assert secret not in printed
    assert not re.search(r"[0-9a-f]{32}", printed)


def test_english_texts() -> None:
    """The same screen in English."""
    rig = identified()
    rig.send(i.SetLanguage("en"), i.SignUp("tai-chi-10"))
    view = rig.session.views.activities
    assert view.activities[0].when_text == "Thursday 10 December 08:30-09:30"
    assert view.signups[0].state_text == "Waiting for confirmation"


def test_ended_activities_are_not_offered() -> None:
    """After an activity's end it leaves the list and cannot be signed up for."""
    rig = identified()
    rig.clock.advance(18 * 86400)  # the wall clock moves with it: past both activities
    rig.send(i.SignupsUpdated())
    view = rig.session.views.activities
    assert view.activities == ()
    assert view.empty_text == "暂时没有近期活动。"
    with pytest.raises(InvalidInput):
        rig.send(i.SignUp("tai-chi-10"))
