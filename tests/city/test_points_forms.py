"""The console's points forms (city/points/forms.py): any input is a parsed form or a list of
problems, never an exception, and what parses is what the ledger's tables accept."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from city.points.forms import (
    KEY_ID_RE,
    REWARD_ID_RE,
    SUBJECT_RE,
    EarnForm,
    Problem,
    RewardForm,
    outcome_param,
    parse_earn,
    parse_reward,
    pseudonym,
    search_prefix,
)
from city.points.ledger import MAX_EARN_POINTS

FIELDS = (
    "key_id",
    "subject",
    "points",
    "reference",
    "note",
    "reward_id",
    "title_zh",
    "title_en",
    "stock",
    "active",
    "csrf",
    "other",
)
forms = st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=300), max_size=len(FIELDS))
SUBJECT = "ab" * 32


@given(forms)
def test_any_earn_form_parses_or_names_its_problems(form: dict[str, str]) -> None:
    """The result obeys the ledger's rules (0006_points.sql, ledger.earn)."""
    result = parse_earn(form)
    if isinstance(result, list):
        assert result
        assert all(isinstance(p, Problem) for p in result)
        return
    assert isinstance(result, EarnForm)
    assert SUBJECT_RE.match(result.resident.subject)
    assert KEY_ID_RE.match(result.resident.key_id)
    assert 1 <= result.points <= MAX_EARN_POINTS
    assert 1 <= len(result.reference) <= 200
    assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in result.reference)
    assert len(result.note) <= 500


@given(forms, st.one_of(st.none(), st.text(max_size=80)))
def test_any_reward_form_parses_or_names_its_problems(
    form: dict[str, str], reward_id: str | None
) -> None:
    """Ids, titles, points and stock within the table's CHECKs."""
    result = parse_reward(form, reward_id=reward_id)
    if isinstance(result, list):
        assert result
        return
    assert isinstance(result, RewardForm)
    assert REWARD_ID_RE.match(result.reward_id)
    assert 1 <= len(result.title_zh) <= 60
    assert result.title_en is None or 1 <= len(result.title_en) <= 80
    assert 1 <= result.points <= 1_000_000
    assert result.stock is None or result.stock >= 0


@given(st.text(max_size=200))
def test_any_search_is_a_hex_prefix_none_or_a_value_error(text: str) -> None:
    """Never anything but lowercase hex of at most 64 digits."""
    try:
        prefix = search_prefix(text)
    except ValueError:
        return
    assert prefix is None or (1 <= len(prefix) <= 64 and set(prefix) <= set("0123456789abcdef"))


@given(st.text(max_size=80), st.text(max_size=80))
def test_any_pseudonym_is_checked(key_id: str, subject: str) -> None:
    """A path's pseudonym is one the ledger can hold, or None."""
    resident = pseudonym(key_id, subject)
    if resident is not None:
        assert KEY_ID_RE.match(resident.key_id)
        assert SUBJECT_RE.match(resident.subject)


def test_the_forms_in_words() -> None:
    """A good credit, a pasted upper-case pseudonym, each problem by field."""
    good = parse_earn(
        {"key_id": "k1", "subject": SUBJECT.upper(), "points": "20", "reference": " shift-1 "}
    )
    assert good == EarnForm(pseudonym("k1", SUBJECT), 20, "shift-1", "")  # type: ignore[arg-type]
    bad = parse_earn({"key_id": "k1", "subject": SUBJECT, "points": "100001", "reference": "a\x01"})
    assert bad == [Problem("points", "earn_points"), Problem("reference", "reference")]
    reward = parse_reward({"reward_id": "tea", "title_zh": "茶", "points": "5", "stock": ""})
    assert reward == RewardForm("tea", "茶", None, 5, None, False)
    assert parse_reward({"reward_id": "-x", "title_zh": "", "points": "0", "stock": "-1"}) == [
        Problem("reward_id", "reward_id"),
        Problem("title_zh", "title_zh"),
        Problem("points", "reward_points"),
        Problem("stock", "stock"),
    ]
    assert search_prefix(" AB cd ") == "abcd"
    assert search_prefix("") is None
    assert outcome_param("all") is None
    assert outcome_param("refused") == "refused"
    with pytest.raises(ValueError, match="outcome"):
        outcome_param("x")
