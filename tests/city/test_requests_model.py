"""A request's state table and the texts staff write (city/requests/model.py), without I/O."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from city.requests.model import (
    ACTIONS,
    MAX_ANSWER_CHARS,
    STATES,
    TRANSITIONS,
    TextError,
    TransitionError,
    allowed_actions,
    hide_numbers,
    looks_like_number,
    next_state,
    parse_answer,
    parse_note,
    parse_request_id,
)

MOBILES = st.from_regex(r"\A1[3-9][0-9]{9}\Z")
ID_NUMBERS = st.from_regex(r"\A[1-8][0-9]{16}[0-9X]\Z")
LANDLINES = st.from_regex(r"\A0[1-9][0-9]{1,2}-?[2-8][0-9]{7}\Z")
WORDS = st.text(alphabet="已经派人维修楼道灯请耐心等待谢谢。，5栋2单元 ", max_size=60)
PLAIN_WORDS = st.text(alphabet="楼道灯坏了请回电。， ", max_size=30)


def test_every_state_and_action_either_moves_as_the_table_says_or_is_refused() -> None:
    """The table is the whole truth: nothing outside it passes, closed is final."""
    for state, action in itertools.product(STATES, ACTIONS):
        if (state, action) in TRANSITIONS:
            assert next_state(state, action) == TRANSITIONS[(state, action)]
            assert action in allowed_actions(state)
        else:
            with pytest.raises(TransitionError) as refused:
                next_state(state, action)
            assert (refused.value.state, refused.value.action) == (state, action)
            assert action not in allowed_actions(state)
    assert allowed_actions("closed") == ()
    assert next_state("received", "assign") == "assigned"
    assert next_state("assigned", "answer") == "answered"
    assert next_state("answered", "close") == "closed"


@given(st.text(max_size=20), st.text(max_size=20))
def test_unknown_states_and_actions_are_refused(state: str, action: str) -> None:
    """Anything not in the table, whatever the strings, is a TransitionError."""
    if (state, action) in TRANSITIONS:
        assert next_state(state, action) in STATES
    else:
        with pytest.raises(TransitionError):
            next_state(state, action)


@given(WORDS, st.one_of(MOBILES, ID_NUMBERS, LANDLINES), WORDS, st.sampled_from(["", " ", "-"]))
def test_an_answer_with_a_phone_or_id_number_is_refused(
    before: str, number: str, after: str, spacer: str
) -> None:
    """A number in an answer is refused, written plainly or with spaces or dashes in it."""
    if spacer and len(number) == 11:
        number = f"{number[:3]}{spacer}{number[3:7]}{spacer}{number[7:]}"
    with pytest.raises(TextError) as refused:
        parse_answer(f"{before}{number}{after}")
    assert refused.value.code == "number"
    assert number not in str(refused.value)


@pytest.mark.parametrize(
    "text",
    [
        "已于2026-12-05维修完毕。",
        "物业电话请到服务中心询问，5栋2单元已处理。",
        "午休时间（12:00-14:00）停止施工。",
        "下月起每周六上午9点开课，共8节。",
        "受理号 7K2MQ-9XD3F 已办结。",
    ],
)
def test_dates_times_and_small_numbers_are_not_phone_numbers(text: str) -> None:
    """Answers often hold dates and unit numbers: those pass and show unmasked."""
    assert parse_answer(text) == text
    assert hide_numbers(text) == text


@given(st.text(max_size=700))
def test_any_answer_text_is_accepted_or_refused_with_a_reason(text: str) -> None:
    """parse_answer never raises anything but TextError; what it accepts fits the contract."""
    try:
        cleaned = parse_answer(text)
    except TextError as exc:
        refused: TextError | None = exc
    else:
        refused = None
    if refused is not None:
        assert refused.code in ("empty", "too_long", "control", "number")
        return
    assert 1 <= len(cleaned) <= MAX_ANSWER_CHARS
    assert not looks_like_number(cleaned)
    assert cleaned == cleaned.strip()


def test_answer_limits() -> None:
    """Empty, over 500 characters, and control characters are refused; a note may be empty."""
    for text, code in [("  ", "empty"), ("好" * 501, "too_long"), ("好\x07", "control")]:
        with pytest.raises(TextError) as refused:
            parse_answer(text)
        assert refused.value.code == code
    assert parse_answer("好" * 500) == "好" * 500
    assert parse_answer("第一行\r\n第二行") == "第一行\n第二行"
    assert parse_note("   ") == ""
    with pytest.raises(TextError):
        parse_note("请回电 13800138000")


@given(st.text(max_size=300))
def test_hidden_text_never_shows_a_number(text: str) -> None:
    """What pages and exports show of a resident's text holds no phone or ID number."""
    assert not looks_like_number(hide_numbers(text))


@given(PLAIN_WORDS, MOBILES, PLAIN_WORDS)
def test_a_number_in_a_residents_text_shows_masked(before: str, phone: str, after: str) -> None:
    """A number a kiosk let through shows as 138****5678, the words around it unchanged."""
    shown = hide_numbers(f"{before}{phone}{after}")
    assert phone not in shown
    assert f"{phone[:3]}****{phone[-4:]}" in shown


@given(st.text(max_size=80))
def test_request_ids_from_urls(text: str) -> None:
    """A path segment is a UUID or a ValueError, never anything else."""
    try:
        value = parse_request_id(text)
    except ValueError:
        return
    assert len(value) == 36
    assert value == value.lower()
