"""诉求 in the core (docs/requests.md): the flow step by step, the contract-valid event with the
phone sealed (and opened with the city's private key), text refusal, tickets, "my requests"
merged with the city's answer, timeout/offline in plain words, and the wipe."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.pii import mask_phone
from common.sealed_box import open_phone
from config.privacy import pseudonymise
from kiosk.core import inputs as i
from kiosk.core.machine import Command, InvalidInput, State
from kiosk.core.resident_requests import (
    CityRequest,
    StoredRequest,
    add_phrase,
    clean_text,
    merge_requests,
    mint_ticket,
    parse_status_data,
    spoken_ticket,
    text_problem,
    ticket_of,
)
from kiosk.core.resident_requests_view import RequestsView
from tests.kiosk_core.support import (
    CITY,
    ID_NUMBER,
    KEY,
    NAME,
    PHONE,
    REQUEST_PRIVATE_KEY,
    MemoryRequests,
    Rig,
    card,
    make_rig,
    requests_config,
)
from tests.kiosk_core.test_wipe import assert_wiped

TICKET = re.compile(r"^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$")


def identified(store: MemoryRequests | None = None, **config: bool) -> Rig:
    rig = make_rig(request_store=store, requests=requests_config(**config))
    assert rig.send(i.StartRequests(), card()) is State.REQUESTS
    return rig


def filled(rig: Rig, *, phone: str | None = PHONE) -> Rig:
    """Category repairs, 5栋 2单元, two phrases, a call-back phone: at the review step."""
    rig.send(i.RequestGo("new"), i.ChooseRequestCategory("repairs"))
    rig.send(i.ChooseRequestLocation(0), i.ChooseRequestLocation(0, 1))
    rig.send(i.AddRequestPhrase(0), i.AddRequestPhrase(1), i.RequestGo("next"))
    if phone is not None:
        rig.send(i.RequestPhoneKey("edit"))
        rig.send(*(i.RequestPhoneKey(d) for d in phone), i.RequestPhoneKey("done"))
    rig.send(i.RequestGo("next"))
    assert rig.session.views.requests.step == "review"
    return rig


def view(rig: Rig) -> RequestsView:
    return rig.session.views.requests


# --- the flow -------------------------------------------------------------------------------------


def test_the_steps_category_location_text_phone_review_ticket() -> None:
    rig = identified()
    assert view(rig).greeting == "张**，您好"
    rig.send(i.RequestGo("new"))
    assert view(rig).step == "category"
    assert [c.key for c in view(rig).categories] == [
        "repairs", "sanitation", "dispute", "elderly_care", "other"
    ]  # fmt: skip
    rig.send(i.ChooseRequestCategory("repairs"))
    assert view(rig).step == "location"
    rig.send(i.ChooseRequestLocation(0))  # 5栋 has units: they are asked next
    assert view(rig).step == "location"
    assert [u.text for u in view(rig).units] == ["1单元", "2单元"]
    rig.send(i.ChooseRequestLocation(0, 1))
    assert view(rig).step == "text"
    assert view(rig).phrases[0].text == "楼道灯坏了"
    rig.send(i.AddRequestPhrase(0), i.AddRequestPhrase(2))
    assert view(rig).text == "楼道灯坏了，水管漏水"
    assert view(rig).text_count == "10/200"
    assert view(rig).phrases[0].selected
    rig.send(i.RequestGo("next"))
    assert view(rig).step == "phone"
    assert view(rig).phone_offered
    rig.send(i.RequestGo("next"))  # no call back
    assert view(rig).step == "review"
    assert dict(view(rig).review) == {
        "类别": "维修报修",
        "地点": "5栋 2单元",
        "问题说明": "楼道灯坏了，水管漏水",
        "回电": "不需要回电",
    }
    rig.send(i.SubmitRequest())
    v = view(rig)
    assert v.step == "ticket"
    assert TICKET.fullmatch(v.ticket)
    assert v.ticket_spoken == "，".join(v.ticket.replace("-", ""))
    assert "已提交" in v.notice
    assert rig.session.views.printing.can_print_request


def test_back_walks_the_steps_and_leaves_from_the_menu() -> None:
    rig = filled(identified())
    steps = []
    for _ in range(5):
        rig.send(i.Back())
        steps.append(view(rig).step)
    assert steps == ["phone", "text", "location", "category", "menu"]
    assert rig.send(i.Back()) is State.ATTRACT  # nothing filed: no rating, a wipe


def test_not_at_a_building_sends_no_location_and_no_buildings_skips_the_step() -> None:
    rig = identified()
    rig.send(
        i.RequestGo("new"), i.ChooseRequestCategory("sanitation"), i.ChooseRequestLocation(None)
    )
    assert view(rig).step == "text"
    rig.send(i.EditRequestText("小区门口垃圾"), i.RequestGo("next"), i.RequestGo("next"))
    assert dict(view(rig).review)["地点"] == "不在楼栋里（如公共区域）"
    rig.send(i.SubmitRequest())
    (data,) = rig.sink.of_type("request.submitted")
    assert "location" not in data
    assert "callback" not in data
    bare = identified(buildings=False, key=False)
    bare.send(i.RequestGo("new"), i.ChooseRequestCategory("other"))
    assert view(bare).step == "text"
    bare.send(i.EditRequestText("hello"), i.RequestGo("next"))
    assert view(bare).step == "review"  # no key: no phone step
    assert not view(bare).phone_offered


def test_the_event_is_contract_valid_and_the_phone_only_sealed() -> None:
    """request.submitted: UUIDv7, a ticket, the pseudonym; the phone opens with the city's key."""
    store = MemoryRequests()
    rig = filled(identified(store))
    assert dict(view(rig).review)["回电"] == "139****5678"
    rig.send(i.SubmitRequest())
    (data,) = rig.sink.of_type("request.submitted")  # the sink validated it against the schema
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", data["request_id"]
    )
    assert TICKET.fullmatch(data["ticket"])
    assert data["ticket"] == view(rig).ticket
    assert data["category"] == "repairs"
    assert data["location"] == {"building": "5栋", "unit": "2单元"}
    assert data["text"] == "楼道灯坏了，电梯故障"
    assert data["subject"] == pseudonymise(ID_NUMBER, KEY, CITY)
    assert data["callback"]["key_id"] == "req-test"
    assert open_phone(data["callback"]["sealed"], REQUEST_PRIVATE_KEY, data["request_id"]) == PHONE
    everything = json.dumps(rig.sink.events, ensure_ascii=False)
    for secret in (PHONE, ID_NUMBER, NAME, mask_phone(PHONE)):
        assert secret not in everything
    # kept before it was sent, never with the phone
    ((subject, stored),) = store.rows
    assert subject == data["subject"]
    assert (stored.request_id, stored.ticket, stored.building, stored.unit) == (
        data["request_id"], data["ticket"], "5栋", "2单元"
    )  # fmt: skip
    assert PHONE not in repr(stored)
    assert rig.session._resident.request.phone == ""  # forgotten once sealed


def test_the_phone_is_shown_while_typed_masked_after_and_checked() -> None:
    rig = filled(identified(), phone=None)
    rig.send(i.Back(), i.RequestPhoneKey("edit"))
    for digit in "1391234":
        rig.send(i.RequestPhoneKey(digit))
    assert view(rig).phone_typing
    assert view(rig).phone_shown == "1391234"  # the resident sees what they type
    assert not view(rig).can_next
    rig.send(i.RequestPhoneKey("done"))  # 7 digits: not a number
    assert view(rig).phone_typing
    assert "号码不对" in view(rig).notice
    rig.send(*(i.RequestPhoneKey(d) for d in "5678"), i.RequestPhoneKey("done"))
    assert not view(rig).phone_typing
    assert view(rig).phone_shown == "139****5678"
    assert view(rig).notice == ""
    rig.send(i.RequestPhoneKey("remove"))
    assert view(rig).phone_shown == ""
    with pytest.raises(InvalidInput):
        rig.session.handle(i.RequestPhoneKey("7"))  # not typing: tap the field first
    with pytest.raises(InvalidInput):
        rig.session.handle(i.RequestPhoneKey("x"))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("请打13812345678", "phone"),
        ("电话 138 1234 5678", "phone"),
        ("电话 138-1234-5678", "phone"),
        ("１３８１２３４５６７８", "phone"),  # full-width digits
        ("座机 0755-12345678", "phone"),
        ("身份证11010519491231002X", "id_number"),
        ("110105 19491231 002x", "id_number"),
        ("5栋2单元1203室，楼道灯坏了3天", None),
        ("电费 138 元", None),
        ("2026年12月7日", None),
        ("  ", "empty"),
    ],
)
def test_text_that_looks_like_a_phone_or_id_number_is_refused(
    text: str, problem: str | None
) -> None:
    assert text_problem(text) == problem


def test_the_session_refuses_such_text_in_plain_words() -> None:
    rig = identified()
    rig.send(i.RequestGo("new"), i.ChooseRequestCategory("other"), i.ChooseRequestLocation(None))
    rig.send(i.EditRequestText("请回电 13812345678"))
    assert "不要写电话号码" in view(rig).notice
    assert not view(rig).can_next
    rig.send(i.RequestGo("next"))
    assert view(rig).step == "text"  # stays, with the plain words
    assert "不要写电话号码" in view(rig).notice
    rig.send(i.EditRequestText("身份证 11010519491231002X"))
    assert "不要写身份证号码" in view(rig).notice
    rig.send(i.EditRequestText(""))
    rig.send(i.RequestGo("next"))
    assert view(rig).step == "text"
    assert "请先点一条常用语" in view(rig).notice
    rig.send(i.EditRequestText("楼道灯坏了"))
    assert view(rig).notice == ""
    assert view(rig).can_next


def test_text_is_at_most_200_characters_without_control_characters() -> None:
    rig = identified()
    rig.send(i.RequestGo("new"), i.ChooseRequestCategory("other"), i.ChooseRequestLocation(None))
    rig.send(i.EditRequestText("灯\x00坏\n了" + "好" * 400))
    text = view(rig).text
    assert len(text) == 200
    assert text.startswith("灯 坏 了")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_cleaned_text_always_fits_the_contract(text: str) -> None:
    cleaned = clean_text(text)
    assert len(cleaned) <= 200
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in cleaned)
    text_problem(cleaned)  # never raises


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.text(min_size=1, max_size=60))
def test_adding_a_phrase_keeps_the_text_within_200(text: str, phrase: str) -> None:
    assert len(add_phrase(clean_text(text), phrase)) <= 200


def test_only_an_identified_resident_files_or_sees_requests() -> None:
    rig = make_rig()
    assert rig.send(i.StartRequests(), i.SkipIdentify()) is State.REQUESTS
    assert "身份证" in view(rig).notice
    assert not view(rig).identified
    rig.send(i.RequestGo("new"))
    assert view(rig).step == "menu"
    rig.send(card())
    assert view(rig).identified
    assert view(rig).notice == ""
    rig.send(i.RequestGo("new"))
    assert view(rig).step == "category"


def test_a_kiosk_without_the_section_offers_no_requests() -> None:
    from kiosk.core.session import Session
    from kiosk.core.settings import SessionSettings
    from tests.kiosk_core.support import ContractSink, FakeClock, StaticCatalogue

    clock = FakeClock()
    session = Session(
        SessionSettings(), sink=ContractSink(), catalogue=StaticCatalogue(), pseudonym_key=KEY,
        clock=clock, wall_clock=clock.wall,
    )  # fmt: skip
    assert not session.offers_requests
    with pytest.raises(InvalidInput):
        session.handle(i.StartRequests())


# --- tickets ------------------------------------------------------------------------------------


@settings(max_examples=500)
@given(st.integers(0, (1 << 50) - 1))
def test_a_ticket_is_50_bits_in_crockford_base32(value: int) -> None:
    ticket = ticket_of(value)
    assert TICKET.fullmatch(ticket)
    digits = ticket.replace("-", "")
    decoded = 0
    for char in digits:
        decoded = decoded * 32 + "0123456789ABCDEFGHJKMNPQRSTVWXYZ".index(char)
    assert decoded == value


def test_tickets_are_random_and_out_of_range_values_refused() -> None:
    assert len({mint_ticket() for _ in range(200)}) == 200
    assert ticket_of(0) == "00000-00000"
    assert ticket_of((1 << 50) - 1) == "ZZZZZ-ZZZZZ"
    for bad in (-1, 1 << 50):
        with pytest.raises(ValueError, match="50 bits"):
            ticket_of(bad)
    assert spoken_ticket("7K2MQ-9XD3F") == "7，K，2，M，Q，9，X，D，3，F"


def test_the_ticket_slip_has_no_phone_and_the_masked_name() -> None:
    rig = filled(identified())
    rig.send(i.SubmitRequest())
    step = rig.session.handle(i.PrintRequestTicket())
    assert Command.PRINT in step.commands
    job = rig.session.take_print_job()
    assert job is not None
    assert job.kind == "request"
    ticket = view(rig).ticket
    texts = [(line.kind, line.text, line.value) for line in job.lines]
    flat = json.dumps(texts, ensure_ascii=False)
    assert ("big", ticket, "") in texts
    assert ("qr", ticket, "工单号") in texts
    assert "张**" in flat
    assert "维修报修" in flat
    assert "5栋 2单元" in flat
    assert "楼道灯坏了，电梯故障" in flat
    assert "回电话" in flat  # that a call back was asked for, without the number
    for secret in (PHONE, mask_phone(PHONE), "5678", NAME, ID_NUMBER):
        assert secret not in flat


# --- my requests --------------------------------------------------------------------------------


def _city(request_id: str, ticket: str, state: str, answer: str = "") -> dict[str, str]:
    item = {
        "request_id": request_id,
        "ticket": ticket,
        "category": "repairs",
        "state": state,
        "submitted_at": "2026-11-20T08:00:00.000Z",
        "updated_at": "2026-11-21T08:00:00.000Z",
    }
    if answer:
        item["answer"] = answer
    return item


def test_my_requests_asks_the_city_and_merges_what_is_still_on_its_way() -> None:
    store = MemoryRequests()
    rig = filled(identified(store))
    rig.send(i.SubmitRequest(), i.Back())
    filed = store.rows[0][1]
    step = rig.session.handle(i.RequestGo("mine"))
    assert Command.CALL_REQUEST_STATUS in step.commands
    call = rig.session.take_status_call()
    assert call is not None
    assert call.subject == pseudonymise(ID_NUMBER, KEY, CITY)
    assert rig.session.take_status_call() is None  # once
    assert view(rig).mine_phase == "asking"
    assert [(m.ticket, m.state_text) for m in view(rig).mine] == [
        (filed.ticket, "已发送，等待受理")
    ]
    older = "0193f1c2-7a4b-7c3d-8e5f-0123456789ab"
    data = {"requests": [_city(older, "7K2MQ-9XD3F", "answered", "已更换灯泡，谢谢反映。")]}
    parsed = parse_status_data(data)
    assert parsed is not None
    rig.send(i.RequestStatusAnswered(call.call_id, True, parsed))
    mine = view(rig).mine
    assert [(m.ticket, m.state) for m in mine] == [
        (filed.ticket, "waiting"),
        ("7K2MQ-9XD3F", "answered"),
    ]
    assert mine[1].state_text == "已答复"
    assert mine[1].answer == "已更换灯泡，谢谢反映。"
    assert view(rig).mine_status == ""


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("timeout", "暂时查不到办理进度"),
        ("offline", "没有联网"),
        ("unavailable", "系统正忙"),
        ("weird", "暂时查不到"),
    ],
)
def test_no_answer_is_plain_words_and_the_kiosks_own_requests_still_show(
    reason: str, words: str
) -> None:
    store = MemoryRequests()
    rig = filled(identified(store))
    rig.send(i.SubmitRequest(), i.Back(), i.RequestGo("mine"))
    call = rig.session.take_status_call()
    assert call is not None
    rig.send(i.RequestStatusAnswered(call.call_id, False, (), reason))
    assert view(rig).mine_phase == "failed"
    assert words in view(rig).mine_status
    assert [m.state for m in view(rig).mine] == ["waiting"]
    # asking again is a new call
    step = rig.session.handle(i.RequestGo("mine"))
    assert Command.CALL_REQUEST_STATUS in step.commands


def test_an_answer_for_an_earlier_resident_is_dropped() -> None:
    rig = identified()
    rig.send(i.RequestGo("mine"))
    call = rig.session.take_status_call()
    assert call is not None
    rig.send(i.Wipe("user_exit"), i.StartRequests(), card("李四", "44030519800101001X"))
    item = _city("0193f1c2-7a4b-7c3d-8e5f-0123456789ab", "7K2MQ-9XD3F", "closed")
    parsed = parse_status_data({"requests": [item]})
    assert parsed is not None
    rig.send(i.RequestStatusAnswered(call.call_id, True, parsed))
    assert view(rig).mine == ()


def test_merge_prefers_the_citys_state_and_sorts_newest_first() -> None:
    rid = "0193f1c2-7a4b-7c3d-8e5f-0123456789ab"
    local = [
        StoredRequest(rid, "7K2MQ-9XD3F", "repairs", "5栋", "", "灯",
                      datetime(2026, 11, 20, 8, tzinfo=UTC)),
        StoredRequest("0193f1c2-7a4b-7c3d-8e5f-0123456789ac", "AAAAA-BBBBB", "other", "", "", "x",
                      datetime(2026, 11, 22, 8, tzinfo=UTC)),
    ]  # fmt: skip
    city = [CityRequest(rid, "7K2MQ-9XD3F", "repairs", "assigned", "2026-11-20T08:00:00.000Z",
                        "2026-11-21T08:00:00.000Z")]  # fmt: skip
    merged = merge_requests(local, city)
    assert [(m.ticket, m.state) for m in merged] == [
        ("AAAAA-BBBBB", "waiting"),
        ("7K2MQ-9XD3F", "assigned"),
    ]
    assert merged[1].text == "灯"
    assert [m.state for m in merge_requests(local, None)] == ["waiting", "waiting"]


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=30),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=12), children, max_size=6)
        ),
        max_leaves=30,
    )
)
def test_any_answer_data_parses_or_is_refused_never_raises(data: object) -> None:
    result = parse_status_data({"requests": data} if not isinstance(data, dict) else data)
    assert result is None or all(isinstance(r, CityRequest) for r in result)


def test_a_valid_answer_parses_and_a_bad_state_is_refused() -> None:
    rid = "0193f1c2-7a4b-7c3d-8e5f-0123456789ab"
    assert parse_status_data({"requests": [_city(rid, "7K2MQ-9XD3F", "closed")]})
    assert parse_status_data({"requests": [_city(rid, "7K2MQ-9XD3F", "lost")]}) is None
    assert parse_status_data({"requests": [_city(rid, "7K2MQ-9XD3I", "closed")]}) is None
    assert parse_status_data({"requests": "nope"}) is None


# --- the wipe -----------------------------------------------------------------------------------


def test_the_idle_timeout_wipes_the_typed_phone_and_text() -> None:
    rig = identified()
    rig.send(i.RequestGo("new"), i.ChooseRequestCategory("dispute"), i.ChooseRequestLocation(1))
    rig.send(
        i.EditRequestText("楼上漏水到我家 zhang"), i.RequestGo("next"), i.RequestPhoneKey("edit")
    )
    rig.send(*(i.RequestPhoneKey(d) for d in PHONE))  # typing, not done: the phone is on screen
    assert rig.session.views.requests.phone_shown == PHONE
    rig.tick(rig.settings.idle_timeout_s)
    assert rig.session.state is State.COUNTDOWN
    rig.tick(rig.settings.countdown_s)
    secrets = {PHONE, mask_phone(PHONE), "楼上漏水到我家 zhang", NAME, ID_NUMBER}
    secrets.add(pseudonymise(ID_NUMBER, KEY, CITY))
    assert_wiped(rig.session, secrets)
    assert rig.session.views.requests == RequestsView()
    assert rig.sink.of_type("session.ended")[-1]["reason"] == "idle_timeout"
    assert rig.sink.of_type("session.started")[-1]["flow"] == "requests"  # contract 1.4


def test_a_wipe_after_filing_leaves_the_ticket_screen_empty() -> None:
    rig = filled(identified())
    rig.send(i.SubmitRequest())
    ticket = view(rig).ticket
    rig.send(i.Exit())
    assert rig.session.state is State.RATING
    rig.send(i.SkipRating())
    assert_wiped(rig.session, {PHONE, ticket, "楼道灯坏了，电梯故障"})


@settings(max_examples=300, deadline=None)
@given(
    st.from_regex(r"\A1[3-9][0-9]{9}\Z") | st.from_regex(r"\A[1-6][0-9]{16}[0-9X]\Z"),
    st.text(st.sampled_from(" -.·"), max_size=1),
    st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), max_size=8),
)
def test_a_number_with_separators_anywhere_in_chinese_text_is_refused(
    number: str, separator: str, words: str
) -> None:
    spaced = separator.join(number[n : n + 4] for n in range(0, len(number), 4))
    assert text_problem(f"{words}{spaced}{words}") in ("phone", "id_number")
