"""What a console page handler gets: the `page` decorator and its PageContext (docs/console.md).

A handler is a plain function `handler(ctx: PageContext) -> Response`, run in Starlette's
thread pool with one pooled PostgreSQL connection whose transaction commits when the handler
returns (and rolls back when it raises). The decorator checks the session and the role, reads
and bounds POST bodies, and refuses a POST whose CSRF token is missing or wrong.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote

import psycopg
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from city import audit
from city.console.accounts import User
from city.console.i18n import pick_language
from city.console.modules import Role
from city.console.sessions import (
    Session,
    csrf_matches,
    load_session,
    signed_token,
    signed_token_valid,
)
from city.console.site import Console

SESSION_COOKIE = "console_session"
PRE_SESSION_COOKIE = "console_csrf"
LANG_COOKIE = "console_lang"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
MAX_QUERY = 4096
MAX_FORM_BYTES = 64_000
MAX_FORM_FIELDS = 64

Handler = Callable[["PageContext"], Response]
Endpoint = Callable[[Request], Awaitable[Response]]


class BadInput(ValueError):
    """Input the page cannot use: answered 400 with this message (shown to the user)."""


@dataclass
class PageContext:
    """One request as a page handler sees it."""

    request: Request
    console: Console
    conn: psycopg.Connection
    lang: str
    session: Session | None
    csrf_token: str
    form: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, tuple[str, bytes]] = field(default_factory=dict)

    @property
    def user(self) -> User | None:
        """The logged-in user (None on public pages when nobody is logged in)."""
        return None if self.session is None else self.session.user

    @property
    def query(self) -> Mapping[str, str]:
        """The query string's parameters (first value of each)."""
        return self.request.query_params

    def t(self, key: str, **values: object) -> str:
        """A message in the request's language."""
        return self.console.catalogue.text(self.lang, key, **values)

    def t_or(self, key: str, fallback: str) -> str:
        """The message `key` if there is one, else `fallback` (device or rule names)."""
        return self.t(key) if self.console.catalogue.has(key) else fallback

    def render(self, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
        """Render a template (it extends "base.html") with the page globals."""
        html = self.console.render(template, self._globals() | values)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    def _globals(self) -> dict[str, Any]:
        user = self.user
        return {
            "t": self.t,
            "t_or": self.t_or,
            "lang": self.lang,
            "user": user,
            "csrf_token": self.csrf_token,
            "csrf_field": CSRF_FIELD,
            "nav": self.console.nav_for(user),
            "badges": {
                item.path: item.badge(self.conn)
                for item in self.console.nav_for(user)
                if item.badge is not None
            },
            "path": self.request.url.path,
            "here": _here(self.request),
            "query": self.request.query_params,
            "timezone": self.console.config.timezone,
        }

    def audit(self, action: str, subject: str = "", detail: Mapping[str, Any] | None = None) -> int:
        """An audit entry by the current user, in this request's transaction."""
        actor = self.user.name if self.user else "anonymous"
        return audit.record(self.conn, actor=actor, action=action, subject=subject, detail=detail)

    def audit_as(
        self, actor: str, action: str, subject: str = "", detail: Mapping[str, Any] | None = None
    ) -> int:
        """An audit entry by `actor` (e.g. the user who just logged in)."""
        return audit.record(self.conn, actor=actor, action=action, subject=subject, detail=detail)

    def redirect(self, url: str) -> RedirectResponse:
        """303 See Other (after a POST, the browser GETs `url`)."""
        return RedirectResponse(url, status_code=303)

    def error(self, status: int, message: str) -> HTMLResponse:
        """An error page with a message in the request's language."""
        return self.render("error.html", status=status, status_code=status, message=message)


def page(
    role: Role | None = "viewer", *, max_body: int = MAX_FORM_BYTES, multipart: bool = False
) -> Callable[[Handler], Endpoint]:
    """Make `handler` a Starlette endpoint needing at least `role` (None: public)."""

    def decorate(handler: Handler) -> Endpoint:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            console: Console = request.app.state.console
            if len(request.url.query) > MAX_QUERY:
                return Response("query string too long", status_code=400)
            form: dict[str, str] = {}
            files: dict[str, tuple[str, bytes]] = {}
            if request.method == "POST":
                try:
                    form, files = await _read_form(request, max_body, multipart)
                except BadInput as exc:
                    return Response(str(exc), status_code=400)
            return await run_in_threadpool(
                functools.partial(
                    _handle, console, request, form=form, files=files, handler=handler, role=role
                )
            )

        return endpoint

    return decorate


async def _read_form(
    request: Request, max_body: int, multipart: bool
) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    length = request.headers.get("content-length", "")
    if not length.isdigit():
        raise BadInput("a POST needs a Content-Length")
    if int(length) > max_body:
        raise BadInput(f"the form is larger than {max_body} bytes")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if kind == "application/x-www-form-urlencoded" or (kind == "" and not body):
        try:
            pairs = parse_qsl(
                body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS
            )
        except (UnicodeDecodeError, ValueError):
            raise BadInput("the form is not valid UTF-8 form data") from None
        form: dict[str, str] = {}
        for key, value in pairs:
            form.setdefault(key, value)
        return form, {}
    if kind == "multipart/form-data" and multipart:
        return await _read_multipart(request, max_body)
    raise BadInput("unsupported form encoding")


async def _read_multipart(
    request: Request, max_body: int
) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    from starlette.datastructures import UploadFile
    from starlette.formparsers import MultiPartException

    try:
        data = await request.form(max_files=4, max_fields=MAX_FORM_FIELDS, max_part_size=max_body)
    except MultiPartException as exc:
        raise BadInput(f"bad multipart form: {exc.message}") from None
    form: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for key, value in data.multi_items():
        if isinstance(value, UploadFile):
            files.setdefault(key, (value.filename or "", await value.read()))
        else:
            form.setdefault(key, value)
    await data.close()
    return form, files


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _csrf_token(console: Console, request: Request, session: Session | None) -> tuple[str, bool]:
    """The token forms must carry: the session's, else the signed pre-login one (new: True)."""
    if session is not None:
        return session.csrf_token, False
    pre_token = request.cookies.get(PRE_SESSION_COOKIE)
    if signed_token_valid(console.secret, pre_token):
        return str(pre_token), False
    return signed_token(console.secret), True


def _refusal(ctx: PageContext, role: Role | None, new_token: bool) -> Response | None:
    """Why this request may not reach its handler (login, role, CSRF), or None."""
    request, session = ctx.request, ctx.session
    if role is not None and session is None:
        login = "/login?next=" + quote(_here(request), safe="")
        if request.headers.get("hx-request") == "true":
            # an htmx refresh after the session ended: the whole page goes to the login
            return Response(status_code=204, headers={"HX-Redirect": login})
        if request.method == "GET":
            return ctx.redirect(login)
        return ctx.error(403, ctx.t("error.login_needed"))
    if role is not None and session is not None and not session.user.can(role):
        return ctx.error(403, ctx.t("error.forbidden", role=ctx.t(f"role.{role}")))
    if request.method == "POST":
        given = ctx.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
        if new_token or not csrf_matches(ctx.csrf_token, given):
            return ctx.error(403, ctx.t("error.csrf"))
    return None


def _handle(
    console: Console,
    request: Request,
    *,
    form: dict[str, str],
    files: dict[str, tuple[str, bytes]],
    handler: Handler,
    role: Role | None,
) -> Response:
    lang = pick_language(request.cookies.get(LANG_COOKIE))
    with console.connection() as conn:
        session = load_session(conn, console.secret, request.cookies.get(SESSION_COOKIE))
        csrf, new_token = _csrf_token(console, request, session)
        ctx = PageContext(request, console, conn, lang, session, csrf, form, files)
        refusal = _refusal(ctx, role, new_token)
        if refusal is not None:
            return refusal
        try:
            response = handler(ctx)
        except BadInput as exc:
            conn.rollback()
            response = ctx.error(400, str(exc))
    if new_token:
        response.set_cookie(
            PRE_SESSION_COOKIE,
            csrf,
            httponly=True,
            samesite="strict",
            secure=console.secure(request),
        )
    return response
