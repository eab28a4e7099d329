"""The requests pages' inputs, fuzzed: a value or a BadInput from the parsers, and from the
endpoints a 2xx/3xx/4xx with arbitrary queries and forms — never a 500, never a phone number."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from city.config import CityConfig
from city.console.web import BadInput
from city.requests.web import TICKET_RE, parse_ticket
from testbed.request_events import file_request
from tests.fixtures.console import console_login, csrf_from

ANY_TEXT = st.text(max_size=300)
NASTY = st.sampled_from(
    ["", "0", "all", "open", "closed", "1", "repairs", "440300/c1", "\x00", "a\nb", "9" * 30]
)
VALUES = st.one_of(ANY_TEXT, NASTY)
PURE = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PHONE = "13912345678"


@PURE
@given(st.one_of(ANY_TEXT, st.from_regex(r"\A[0-9a-zA-Z]{5}-?[0-9a-zA-Z]{5}\Z")))
def test_a_typed_ticket_is_a_ticket_or_refused(value: str) -> None:
    """Whatever is typed: None, a contract-shaped ticket, or a BadInput."""
    try:
        ticket = parse_ticket(value)
    except BadInput:
        return
    assert ticket is None or TICKET_RE.match(ticket)


@pytest.fixture
def seeded(console_client: TestClient, console_config: CityConfig) -> str:
    """One request with a call-back number; its id."""
    event = file_request(console_config.database.url, phone=PHONE)
    return str(event["data"]["request_id"])


@pytest.mark.postgres
@FUZZ
@given(
    where=st.sampled_from(["/requests", "/requests/export.csv", "/requests/export.xlsx", "ID"]),
    query=st.dictionaries(
        st.one_of(
            st.sampled_from(["state", "category", "centre", "ticket", "mine", "page"]), ANY_TEXT
        ),
        VALUES,
        max_size=6,
    ),
)
def test_pages_never_fail_on_a_query(
    console_client: TestClient, seeded: str, where: str, query: dict[str, str]
) -> None:
    """Arbitrary parameters give 200 or 400, and never the whole phone number."""
    if "console_session" not in console_client.cookies:
        console_login(console_client, "operator")
    path = f"/requests/{seeded}" if where == "ID" else where
    answer = console_client.get(path, params=query)
    assert answer.status_code in (200, 400), (path, query, answer.text[-300:])
    assert PHONE.encode() not in answer.content


@pytest.mark.postgres
@FUZZ
@given(
    form=st.dictionaries(st.sampled_from(["assignee", "answer", "note", "x"]), VALUES),
    action=st.sampled_from(["assign", "answer", "close", "callback"]),
)
def test_posts_never_fail_on_a_form(
    console_client: TestClient, seeded: str, form: dict[str, Any], action: str
) -> None:
    """Arbitrary fields (with the right token) give a redirect, the page again, or a 4xx."""
    if "console_session" not in console_client.cookies:
        console_login(console_client, "operator")
    token = csrf_from(console_client.get(f"/requests/{seeded}").text)
    answer = console_client.post(
        f"/requests/{seeded}/{action}", data={**form, "csrf": token}, follow_redirects=False
    )
    assert answer.status_code in (200, 303, 400, 409), (form, answer.text[-300:])
    if action != "callback":
        assert PHONE.encode() not in answer.content
