"""The requests pages of the console (docs/requests-city.md, docs/console.md "Adding pages").

/requests (the inbox: filters, counts per state, the oldest waiting), /requests/export.FMT
(CSV or .xlsx of the inbox, never a phone number; audited), /requests/ID (the request, its
history, and for operators: assign, answer, close, and "show the number to call back", which
opens the sealed number with the city's private key, shows it this once and writes who saw it
to the audit log). Every action is a CSRF-checked POST, audited in its own transaction.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import psycopg
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from city.console.filters import choice_param, note_field, page_param
from city.console.modules import ConsoleModule, NavItem, Screen
from city.console.web import BadInput, PageContext, page
from city.reports.export import CONTENT_TYPES, Format, render
from city.reports.filters import FilterError, parse_centre
from city.reports.labels import Lang
from city.reports.table import Column, Report, Table
from city.requests import store
from city.requests.demo import seed_requests_demo
from city.requests.keys import RequestKey, RequestKeyError, load_request_key, open_callback
from city.requests.model import (
    MAX_ANSWER_CHARS,
    MAX_NOTE_CHARS,
    OPEN_STATES,
    STATES,
    TextError,
    TransitionError,
    allowed_actions,
    hide_numbers,
    parse_answer,
    parse_note,
    parse_request_id,
)
from city.requests.web.messages import MESSAGES

HERE = Path(__file__).resolve().parent
EXPORT_FORMATS: tuple[Format, ...] = ("csv", "xlsx")
CATEGORY_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
TICKET_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$")
# Crockford base32 read back by a person: O is 0, I and L are 1 (the contract's alphabet).
TICKET_READ = str.maketrans({"O": "0", "I": "1", "L": "1"})
DONE = ("assigned", "answered", "closed")


# filters ------------------------------------------------------------------------------------


def parse_ticket(text: str | None) -> str | None:
    """A ticket typed by staff (any case, with or without the dash); None when empty."""
    value = (text or "").strip().upper().replace(" ", "").translate(TICKET_READ)
    if not value:
        return None
    if len(value) == 10 and "-" not in value:
        value = f"{value[:5]}-{value[5:]}"
    if len(value) > 11 or not TICKET_RE.match(value):
        raise BadInput("ticket: expected ten characters such as 7K2MQ-9XD3F")
    return value


def inbox_filter(ctx: PageContext, values: Any = None) -> store.InboxFilter:
    """The inbox's filters from the query string (or a form); BadInput when unusable."""
    source = ctx.query if values is None else values
    state = choice_param(source, "state", store.STATE_FILTERS) or "open"
    category = source.get("category") or None
    if category is not None and not CATEGORY_RE.match(category):
        raise BadInput(ctx.t("requests.bad_filter", problem="category"))
    try:
        city, centre = parse_centre(source.get("centre") or "")
    except FilterError as exc:
        raise BadInput(ctx.t("requests.bad_filter", problem=str(exc))) from None
    assignee = None
    if source.get("mine") == "1":
        assert ctx.user is not None
        assignee = ctx.user.name
    return store.InboxFilter(
        state=state,
        category=category,
        city=city,
        centre=centre,
        assignee=assignee,
        ticket=parse_ticket(source.get("ticket")),
    )


def filter_query(f: store.InboxFilter, **extra: Any) -> str:
    """The query string that gives this filter back (plus `extra`)."""
    values: dict[str, Any] = {"state": f.state}
    if f.category:
        values["category"] = f.category
    if f.centre:
        values["centre"] = f"{f.city}/{f.centre}" if f.city else f.centre
    if f.assignee:
        values["mine"] = "1"
    if f.ticket:
        values["ticket"] = f.ticket
    values |= {k: v for k, v in extra.items() if v not in (None, "")}
    return urlencode(values)


# words --------------------------------------------------------------------------------------


def category_label(ctx: PageContext, category: str) -> str:
    """A category's words (a kiosk's own category id as it is)."""
    return ctx.t_or(f"requests.category.{category}", category)


def age_text(ctx: PageContext, since: datetime, now: datetime) -> str:
    """How long ago `since` was, in days and hours (or hours and minutes)."""
    seconds = max(0, int((now - since).total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    if days:
        return ctx.t("requests.age.days", days=days, hours=hours)
    if hours:
        return ctx.t("requests.age.hours", hours=hours, minutes=rest // 60)
    return ctx.t("requests.age.minutes", minutes=rest // 60)


def _text_problem(ctx: PageContext, exc: TextError, what: str, max_chars: int) -> str:
    return ctx.t(
        f"requests.bad_text.{exc.code}", what=ctx.t(f"requests.what.{what}"), max=max_chars
    )


# the private key ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _cached_key(path: Path, key_id: str, _mtime_ns: int) -> RequestKey:
    return load_request_key(path, key_id)


def request_key(ctx: PageContext) -> tuple[RequestKey | None, str | None]:
    """(the city's request key, or None and why): read from requests.private_key_file."""
    config = ctx.console.config.requests
    path = config.private_key_file
    try:
        if path is None:
            return None, None
        return _cached_key(path, config.key_id, path.stat().st_mtime_ns), None
    except OSError as exc:
        return None, f"requests.private_key_file {path}: cannot read ({exc.strerror or exc})"
    except RequestKeyError as exc:
        return None, str(exc)


# pages --------------------------------------------------------------------------------------


def _request_id(ctx: PageContext) -> str:
    try:
        return parse_request_id(str(ctx.request.path_params["request_id"]))
    except ValueError:
        raise BadInput(ctx.t("requests.not_found")) from None


@page("viewer")
def inbox(ctx: PageContext) -> Response:
    """The inbox: counts per state, the oldest waiting, the filtered list (paged)."""
    f = inbox_filter(ctx)
    counts = store.state_counts(ctx.conn, f)
    size = ctx.console.config.console.page_size
    pages = max(1, -(-counts[f.state] // size))
    current = min(page_param(ctx.query), pages)
    rows = store.list_requests(ctx.conn, f, limit=size, offset=(current - 1) * size)
    now = datetime.now(UTC)
    oldest = store.oldest_open(ctx.conn, f)
    assert ctx.user is not None
    return ctx.render(
        "requests/inbox.html",
        flt=f,
        counts=counts,
        state_tabs=("open", "received", "assigned", "answered", "closed", "all"),
        oldest=None if oldest is None else age_text(ctx, oldest, now),
        rows=[
            {
                "row": r,
                "category": category_label(ctx, r.category),
                "text": hide_numbers(r.text),
                "waiting": age_text(ctx, r.submitted_at, now) if r.state in OPEN_STATES else "",
            }
            for r in rows
        ],
        category_options=[(c, category_label(ctx, c)) for c in store.categories(ctx.conn)],
        centre_options=store.centres(ctx.conn),
        centre_value=(f"{f.city}/{f.centre}" if f.city else f.centre) or "",
        page=current,
        pages=pages,
        page_link=lambda n: "/requests?" + filter_query(f, page=n),
        state_link=lambda s: "/requests?" + filter_query(_with_state(f, s)),
        exports={fmt: f"/requests/export.{fmt}?{filter_query(f)}" for fmt in EXPORT_FORMATS},
    )


def _with_state(f: store.InboxFilter, state: str) -> store.InboxFilter:
    return store.InboxFilter(state, f.category, f.city, f.centre, f.assignee, f.ticket)


def _request_page(
    ctx: PageContext,
    request_id: str,
    *,
    status: int = 200,
    problem: str | None = None,
    draft: str | None = None,
    revealed: str | None = None,
) -> Response:
    try:
        request = store.get_request(ctx.conn, request_id)
    except store.NotFound:
        return ctx.error(404, ctx.t("requests.not_found"))
    key, key_problem = request_key(ctx)
    callback = None
    if request.callback_sealed is not None and request.callback_key_id is not None:
        callback, _number = open_callback(
            key, request.callback_sealed, request.callback_key_id, request.request_id
        )
        del _number  # the page shows the masked form; the whole number only via `revealed`
    done = ctx.query.get("done")
    assert ctx.user is not None
    return ctx.render(
        "requests/request.html",
        status=status,
        r=request,
        category=category_label(ctx, request.category),
        text=hide_numbers(request.text),
        callback=callback,
        key_problem=key_problem,
        revealed=revealed,
        history=store.history(ctx.conn, request_id),
        actions=allowed_actions(request.state),
        staff=store.staff_who_act(ctx.conn),
        problem=problem,
        draft=draft if draft is not None else (request.answer or ""),
        done=done if done in DONE else None,
        max_answer=MAX_ANSWER_CHARS,
        max_note=MAX_NOTE_CHARS,
    )


@page("viewer")
def request_page(ctx: PageContext) -> Response:
    """One request: what the resident wrote, where, the history; actions for operators."""
    return _request_page(ctx, _request_id(ctx))


def _note(ctx: PageContext) -> str:
    raw = note_field(ctx.form, "note", MAX_NOTE_CHARS + 100)
    try:
        return parse_note(raw)
    except TextError as exc:
        raise BadInput(_text_problem(ctx, exc, "note", MAX_NOTE_CHARS)) from None


def _act(ctx: PageContext, request_id: str, action: str, do: Any) -> Response:
    """Run one store action; refusals re-show the request page with the reason (400)."""
    try:
        # locked first: the audit's "from" is the state this action changed, not an older one
        before = store.get_request(ctx.conn, request_id, lock=True)
        after: store.RequestRow = do()
    except store.NotFound:
        return ctx.error(404, ctx.t("requests.not_found"))
    except psycopg.errors.LockNotAvailable:
        ctx.conn.rollback()
        return _request_page(ctx, request_id, status=409, problem=ctx.t("requests.busy"))
    except TransitionError as exc:
        ctx.conn.rollback()
        state = ctx.t(f"requests.state.{exc.state}")
        return _request_page(
            ctx, request_id, status=409, problem=ctx.t("requests.refused", state=state)
        )
    except store.AssigneeError:
        ctx.conn.rollback()
        return _request_page(ctx, request_id, status=400, problem=ctx.t("requests.bad_assignee"))
    detail: dict[str, Any] = {"ticket": before.ticket, "from": before.state, "to": after.state}
    if action == "assign":
        detail["assignee"] = after.assignee
    if action == "answer":
        detail["answer"] = after.answer
    ctx.audit(f"request.{action}", subject=request_id, detail=detail)
    done = {"assign": "assigned", "answer": "answered", "close": "closed"}[action]
    return ctx.redirect(f"/requests/{request_id}?done={done}")


@page("operator")
def assign(ctx: PageContext) -> Response:
    """Give the request to an operator (default: oneself); received → assigned."""
    request_id = _request_id(ctx)
    assert ctx.user is not None
    assignee = (ctx.form.get("assignee") or ctx.user.name).strip()[:64]
    note = _note(ctx)
    return _act(
        ctx,
        request_id,
        "assign",
        lambda: store.assign(
            ctx.conn, request_id, assignee, actor=_actor(ctx), now=datetime.now(UTC), note=note
        ),
    )


@page("operator")
def answer(ctx: PageContext) -> Response:
    """Store the answer for the resident; assigned → answered (no phone or ID numbers)."""
    request_id = _request_id(ctx)
    raw = ctx.form.get("answer", "")
    try:
        text = parse_answer(raw[: MAX_ANSWER_CHARS * 4])
    except TextError as exc:
        # what the operator typed comes back with any number in it masked: retyped, not kept
        return _request_page(
            ctx,
            request_id,
            status=400,
            problem=_text_problem(ctx, exc, "answer", MAX_ANSWER_CHARS),
            draft=hide_numbers(raw[: MAX_ANSWER_CHARS * 2]),
        )
    note = _note(ctx)
    return _act(
        ctx,
        request_id,
        "answer",
        lambda: store.answer(
            ctx.conn, request_id, text, actor=_actor(ctx), now=datetime.now(UTC), note=note
        ),
    )


@page("operator")
def close(ctx: PageContext) -> Response:
    """answered → closed."""
    request_id = _request_id(ctx)
    note = _note(ctx)
    return _act(
        ctx,
        request_id,
        "close",
        lambda: store.close(
            ctx.conn, request_id, actor=_actor(ctx), now=datetime.now(UTC), note=note
        ),
    )


@page("operator")
def reveal_callback(ctx: PageContext) -> Response:
    """Open the sealed call-back number, show it this once, audit who saw it."""
    request_id = _request_id(ctx)
    try:
        request = store.get_request(ctx.conn, request_id)
    except store.NotFound:
        return ctx.error(404, ctx.t("requests.not_found"))
    key, _problem = request_key(ctx)
    if request.callback_sealed is None or request.callback_key_id is None:
        return _request_page(ctx, request_id, status=400)
    _shown, number = open_callback(
        key, request.callback_sealed, request.callback_key_id, request.request_id
    )
    if number is None:
        return _request_page(ctx, request_id, status=409)
    ctx.audit(
        "request.callback_reveal",
        subject=request_id,
        detail={"ticket": request.ticket, "key_id": request.callback_key_id},
    )
    return _request_page(ctx, request_id, revealed=number)


def _actor(ctx: PageContext) -> str:
    assert ctx.user is not None
    return ctx.user.name


# export -------------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    Column("ticket", "受理号", "Ticket"),
    Column("submitted_at", "提交时间", "Submitted"),
    Column("centre", "服务中心", "Centre"),
    Column("district", "区", "District"),
    Column("kiosk", "终端", "Kiosk"),
    Column("category", "类别", "Category"),
    Column("location", "位置", "Where"),
    Column("text", "内容", "Text"),
    Column("callback", "需回拨", "Call back"),
    Column("state", "状态", "State"),
    Column("assignee", "处理人", "Assigned to"),
    Column("answer", "答复", "Answer"),
    Column("updated_at", "更新时间", "Updated"),
)


def inbox_report(ctx: PageContext, f: store.InboxFilter, today: date) -> Report:
    """The filtered inbox as a report table: no phone number, sealed or not, and the text's
    numbers masked as on the pages."""
    zone = ZoneInfo(ctx.console.config.timezone)
    rows = store.list_requests(ctx.conn, f, limit=None)
    # words looked up once, not per row (tens of thousands of rows: docs/requests-city.md)
    states = {s: ctx.t(f"requests.state.{s}") for s in STATES}
    callback = {True: ctx.t("requests.yes"), False: ctx.t("requests.no")}
    labels: dict[str, str] = {}
    table = Table(
        "requests",
        ("群众诉求", "Resident requests"),
        EXPORT_COLUMNS,
        [
            (
                r.ticket,
                r.submitted_at.astimezone(zone).replace(tzinfo=None),
                f"{r.city}/{r.centre}",
                r.district,
                r.kiosk.rsplit("/", 1)[-1],
                labels.get(r.category)
                or labels.setdefault(r.category, category_label(ctx, r.category)),
                r.location or None,
                hide_numbers(r.text),
                callback[r.has_callback],
                states[r.state],
                r.assignee,
                r.answer,
                r.updated_at.astimezone(zone).replace(tzinfo=None),
            )
            for r in rows
        ],
    )
    first = min((r.submitted_at.astimezone(zone).date() for r in rows), default=today)
    centre = (f"{f.city}/{f.centre}" if f.city else f.centre) or ""
    return Report("requests", ("群众诉求", "Resident requests"), (first, today), centre, (table,))


@page("viewer")
def export(ctx: PageContext) -> Response:
    """The inbox (as filtered) as CSV or .xlsx; audited."""
    fmt = ctx.request.path_params["fmt"]
    if fmt not in EXPORT_FORMATS:
        return ctx.error(404, ctx.t("requests.no_such_export"))
    f = inbox_filter(ctx)
    today = datetime.now(ZoneInfo(ctx.console.config.timezone)).date()
    report = inbox_report(ctx, f, today)
    lang: Lang = "zh" if ctx.lang.startswith("zh") else "en"
    data = render(report, _format(fmt), lang)
    ctx.audit(
        "request.export",
        subject="inbox",
        detail={"format": fmt, "filter": filter_query(f), "rows": len(report.tables[0].rows)},
    )
    return Response(
        data,
        media_type=CONTENT_TYPES[_format(fmt)],
        headers={
            "Content-Disposition": f'attachment; filename="requests_{today.isoformat()}.{fmt}"',
            "Cache-Control": "no-store",
        },
    )


def _format(fmt: str) -> Format:
    for option in EXPORT_FORMATS:
        if option == fmt:
            return option
    raise BadInput(fmt)


def received_count(conn: psycopg.Connection) -> int:
    """Requests nobody is assigned to yet (the menu's badge; index requests_state)."""
    row = conn.execute("SELECT count(*) FROM requests WHERE state = 'received'").fetchone()
    return int(row[0]) if row else 0


MODULE = ConsoleModule(
    name="requests",
    routes=[
        Route("/requests", inbox, methods=["GET"]),
        Route("/requests/export.{fmt}", export, methods=["GET"]),
        Mount("/requests/static", StaticFiles(directory=HERE / "static"), name="requests-static"),
        Route("/requests/{request_id:uuid}", request_page, methods=["GET"]),
        Route("/requests/{request_id:uuid}/assign", assign, methods=["POST"]),
        Route("/requests/{request_id:uuid}/answer", answer, methods=["POST"]),
        Route("/requests/{request_id:uuid}/close", close, methods=["POST"]),
        Route("/requests/{request_id:uuid}/callback", reveal_callback, methods=["POST"]),
    ],
    nav=[NavItem("/requests", "nav.requests", "viewer", order=70, badge=received_count)],
    messages=MESSAGES,
    templates=HERE / "templates",
    screens=[
        Screen("requests-request", "/requests/{request_id}"),
        Screen("requests-all", "/requests?state=all", role="viewer"),
        Screen("requests-export", "/requests/export.csv"),
    ],
    demo=seed_requests_demo,
)
