"""Login, logout, the language switch, the front page; the console's shared messages."""

from __future__ import annotations

from datetime import UTC
from urllib.parse import quote

from starlette.responses import Response
from starlette.routing import Route

from city.console import login_limits
from city.console.accounts import check_login
from city.console.filters import text_param
from city.console.i18n import LANGUAGES
from city.console.messages import MESSAGES
from city.console.modules import ConsoleModule, Screen
from city.console.sessions import create_session, end_session
from city.console.web import LANG_COOKIE, SESSION_COOKIE, BadInput, PageContext, page

MAX_NAME = 64
MAX_PASSWORD = 256


def safe_next(value: str | None) -> str:
    """A local path to go to after login (never another site: no '//' or scheme)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/fleet"
    if any(ord(c) < 0x20 for c in value) or len(value) > 2000:
        return "/fleet"
    return value


@page(None)
def login_form(ctx: PageContext) -> Response:
    """The login form (already logged in: straight on)."""
    if ctx.user is not None:
        return ctx.redirect(safe_next(ctx.query.get("next")))
    return ctx.render("login.html", next=safe_next(ctx.query.get("next")), failed=None)


@page(None)
def login(ctx: PageContext) -> Response:
    """Check the name and password, rate limited per account and per address."""
    name = text_param(ctx.form, "name", MAX_NAME) or ""
    password = ctx.form.get("password", "")
    if len(password) > MAX_PASSWORD or "\x00" in password:
        raise BadInput(ctx.t("login.failed"))
    target = safe_next(ctx.form.get("next"))
    address = ctx.request.client.host if ctx.request.client else "unknown"
    limits = ctx.console.config.console.login_limits
    if login_limits.blocked(
        ctx.conn,
        account=name,
        address=address,
        window_s=limits.window_s,
        per_account=limits.per_account,
        per_address=limits.per_address,
    ):
        minutes = max(1, round(limits.window_s / 60))
        return ctx.render(
            "login.html", status=429, next=target, failed=ctx.t("login.blocked", minutes=minutes)
        )
    user = check_login(ctx.conn, name, password)
    if user is None:
        login_limits.record_failure(
            ctx.conn, account=name, address=address, window_s=limits.window_s
        )
        return ctx.render("login.html", status=401, next=target, failed=ctx.t("login.failed"))
    login_limits.clear_account(ctx.conn, name)
    token, session = create_session(
        ctx.conn, ctx.console.secret, user, ctx.console.config.console.session_ttl_s
    )
    ctx.audit_as(user.name, "login", user.name, {"address": address})
    response = ctx.redirect(target)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(ctx.console.config.console.session_ttl_s),
        expires=session.expires_at.astimezone(UTC),
        httponly=True,
        samesite="lax",
        secure=ctx.console.secure(ctx.request),
    )
    return response


@page("viewer")
def logout(ctx: PageContext) -> Response:
    """End the session (its row goes) and forget the cookie."""
    end_session(ctx.conn, ctx.console.secret, ctx.request.cookies.get(SESSION_COOKIE))
    ctx.audit("logout")
    response = ctx.redirect("/login")
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
    return response


@page(None)
def language(ctx: PageContext) -> Response:
    """Switch the language (a cookie; nothing else changes) and go back."""
    code = ctx.request.path_params["code"]
    response = ctx.redirect(safe_next(ctx.query.get("next")))
    if code in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE,
            code,
            max_age=365 * 86_400,
            samesite="lax",
            secure=ctx.console.secure(ctx.request),
        )
    return response


@page(None)
def home(ctx: PageContext) -> Response:
    """The front page is the fleet."""
    return ctx.redirect("/fleet" if ctx.user else "/login?next=" + quote("/fleet", safe=""))


MODULE = ConsoleModule(
    name="common",
    routes=[
        Route("/", home),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/lang/{code}", language, methods=["GET"]),
    ],
    messages=MESSAGES,
    screens=[Screen("login", "/login", role="viewer")],
)
