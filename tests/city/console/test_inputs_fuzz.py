"""Every input the console parses, fuzzed: the parsers give a value or a BadInput, and the HTTP
endpoints answer 2xx/3xx/4xx with arbitrary queries and forms — never a 500."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from city.console.filters import (
    MAX_PAGE,
    MAX_TEXT,
    STATES,
    fleet_filter,
    kiosk_id,
    note_field,
    page_param,
)
from city.console.pages.common import safe_next
from city.console.web import BadInput
from tests.fixtures.console import console_login, csrf_from

FLEET_KEYS = st.sampled_from(["district", "centre", "state", "q", "page", "other"])
ANY_TEXT = st.text(max_size=300)
NASTY = st.sampled_from(
    ["", "0", "-1", "1e3", "١", "%", "_", "\x00", "a\nb", "²", "9" * 30, "online"]
)
VALUES = st.one_of(ANY_TEXT, NASTY)
# The machine is shared and loaded: no deadline, no "too slow" health check.
PURE = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PURE
@given(st.dictionaries(FLEET_KEYS, VALUES))
def test_fleet_filter_is_bounded_or_refused(query: dict[str, str]) -> None:
    """A FleetFilter within bounds, or a BadInput."""
    try:
        flt = fleet_filter(query)
    except BadInput:
        return
    assert flt.state is None or flt.state in STATES
    assert 1 <= flt.page <= MAX_PAGE
    for text in (flt.district, flt.centre, flt.text):
        assert text is None or (0 < len(text) <= MAX_TEXT and "\x00" not in text)


@PURE
@given(VALUES)
def test_page_param(value: str) -> None:
    """Only ASCII digits 1…MAX_PAGE are pages."""
    try:
        page = page_param({"page": value})
    except BadInput:
        return
    assert value == "" or (value.isascii() and str(page) == value.lstrip("0"))


@PURE
@given(VALUES, VALUES, VALUES)
def test_kiosk_id(city: str, centre: str, name: str) -> None:
    """Three topic-safe segments or a BadInput."""
    try:
        kiosk = kiosk_id(city, centre, name)
    except BadInput:
        return
    assert kiosk.count("/") == 2
    assert kiosk.isascii()


@PURE
@given(VALUES)
def test_note_field(value: str) -> None:
    """A note is bounded and free of control characters other than newlines and tabs."""
    try:
        note = note_field({"note": value})
    except BadInput:
        return
    assert len(note) <= 500
    assert all(c in "\n\t" or ord(c) >= 0x20 for c in note if ord(c) < 0x80)


@PURE
@given(ANY_TEXT)
def test_safe_next_stays_on_site(value: str) -> None:
    """The login redirect target is always a local path."""
    target = safe_next(value)
    assert target.startswith("/")
    assert not target.startswith("//")
    assert "\\" not in target


FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PATHS = st.sampled_from(
    [
        "/fleet",
        "/alerts",
        "/audit",
        "/users",
        "/kiosks/440300/c1/k1",
        "/kiosks/440300/c1/k1/heartbeats",
    ]
)
KEYS = st.one_of(
    st.sampled_from(["state", "page", "q", "district", "centre", "kiosk", "window", "action"]),
    ANY_TEXT,
)


@pytest.mark.postgres
@FUZZ
@given(path=PATHS, query=st.dictionaries(KEYS, VALUES, max_size=6), raw=st.binary(max_size=200))
def test_pages_never_fail_on_a_query(
    console_client: TestClient, path: str, query: dict[str, str], raw: bytes
) -> None:
    """Arbitrary parameters, and a raw percent-encoded query string, never give a 500."""
    if "console_session" not in console_client.cookies:
        console_login(console_client, "admin")
    answer = console_client.get(path, params=query)
    assert answer.status_code in (200, 400, 404), (path, query, answer.text[-300:])
    encoded = quote(raw, safe="=&")
    answer = console_client.get(f"{path}?{encoded}")
    assert answer.status_code in (200, 400, 404), (path, encoded)


@pytest.mark.postgres
@FUZZ
@given(
    form=st.dictionaries(
        st.sampled_from(["note", "name", "password", "next", "role", "disabled", "x"]), VALUES
    ),
    raw=st.binary(max_size=300),
    target=st.sampled_from(["/alerts/1/ack", "/login", "/logout", "/users", "/users/x/disabled"]),
)
def test_posts_never_fail_on_a_form(
    console_client: TestClient, form: dict[str, str], raw: bytes, target: str
) -> None:
    """Arbitrary fields (with the right token) and raw bodies give a 4xx or a redirect."""
    if "console_session" not in console_client.cookies:
        console_login(console_client, "admin")
    token = csrf_from(console_client.get("/alerts").text)
    answer = console_client.post(target, data={**form, "csrf": token}, follow_redirects=False)
    assert answer.status_code in (200, 303, 400, 401, 403, 429), (form, answer.text[-300:])
    answer = console_client.post(
        target,
        content=raw,
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert answer.status_code in (400, 403), raw
    multipart = console_client.post(
        target, content=raw, headers={"content-type": "multipart/form-data; boundary=x"}
    )
    assert multipart.status_code == 400


@pytest.mark.postgres
def test_oversized_inputs_are_refused(console_client: TestClient) -> None:
    """A query over 4 KB, a form over 64 KB, a POST without Content-Length: 400."""
    console_login(console_client, "operator")
    assert console_client.get("/fleet?q=" + "a" * 5000).status_code == 400
    token = csrf_from(console_client.get("/alerts").text)
    big = console_client.post("/alerts/1/ack", data={"csrf": token, "note": "x" * 70_000})
    assert big.status_code == 400

    def chunks() -> object:
        yield b"csrf=" + token.encode()

    streamed = console_client.post(
        "/alerts/1/ack",
        content=chunks(),  # type: ignore[arg-type]
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert streamed.status_code == 400
