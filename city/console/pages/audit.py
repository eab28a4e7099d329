"""The audit log (operator and admin): who did what, newest first."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from city.audit import entries
from city.console.filters import page_param, text_param
from city.console.modules import ConsoleModule, NavItem, Screen
from city.console.web import PageContext, page


@page("operator")
def audit_log(ctx: PageContext) -> Response:
    """Entries, optionally one action prefix or one actor."""
    action = text_param(ctx.query, "action", 64)
    actor = text_param(ctx.query, "actor", 64)
    size = ctx.console.config.console.page_size
    number = page_param(ctx.query)
    rows, total = entries(
        ctx.conn, action=action, actor=actor, limit=size, offset=(number - 1) * size
    )
    pages = max(1, -(-total // size))
    return ctx.render(
        "audit.html", rows=rows, total=total, action=action, actor=actor, page=number, pages=pages
    )


MODULE = ConsoleModule(
    name="audit",
    routes=[Route("/audit", audit_log, methods=["GET"])],
    nav=[NavItem("/audit", "nav.audit", "operator", order=90)],
    screens=[Screen("audit", "/audit")],
)
