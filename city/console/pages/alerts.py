"""Alerts: open / acknowledged / resolved; acknowledging (operator+) takes a note, audited."""

from __future__ import annotations

from urllib.parse import urlencode

import psycopg
from starlette.responses import Response
from starlette.routing import Route

from city.alert_store import acknowledge, alert_page
from city.console.filters import ALERT_STATES, choice_param, note_field, page_param, text_param
from city.console.modules import ConsoleModule, NavItem, Screen
from city.console.web import BadInput, PageContext, page


def open_alert_count(conn: psycopg.Connection) -> int:
    """Open alerts, for the menu (index alerts_state_opened)."""
    row = conn.execute("SELECT count(*) FROM alerts WHERE state = 'open'").fetchone()
    return int(row[0]) if row else 0


@page("viewer")
def alerts(ctx: PageContext) -> Response:
    """One list (open by default), newest first, one page at a time."""
    state = choice_param(ctx.query, "state", ALERT_STATES) or "open"
    kiosk = text_param(ctx.query, "kiosk")
    size = ctx.console.config.console.page_size
    rows, total, counts = alert_page(
        ctx.conn, state=state, kiosk=kiosk, limit=size, offset=(page_param(ctx.query) - 1) * size
    )
    pages = max(1, -(-total // size))
    return ctx.render(
        "alerts.html",
        state=state,
        states=ALERT_STATES,
        kiosk=kiosk,
        rows=rows,
        counts=counts,
        page=min(page_param(ctx.query), pages),
        pages=pages,
        done=page_param(ctx.query, "done") if ctx.query.get("done") else None,
        page_link=lambda n: (
            "/alerts?"
            + urlencode({"state": state, "page": n} | ({"kiosk": kiosk} if kiosk else {}))
        ),
    )


@page("operator")
def acknowledge_alert(ctx: PageContext) -> Response:
    """open → acknowledged by the current user, with a note; audited in the same transaction."""
    raw_id = ctx.request.path_params["alert_id"]
    note = note_field(ctx.form)
    assert ctx.user is not None
    if not acknowledge(ctx.conn, raw_id, by=ctx.user.name, note=note):
        raise BadInput(ctx.t("alerts.not_open", id=raw_id))
    return ctx.redirect(f"/alerts?state=open&done={raw_id}")


MODULE = ConsoleModule(
    name="alerts",
    routes=[
        Route("/alerts", alerts, methods=["GET"]),
        Route("/alerts/{alert_id:int}/ack", acknowledge_alert, methods=["POST"]),
    ],
    nav=[NavItem("/alerts", "nav.alerts", "viewer", order=20, badge=open_alert_count)],
    screens=[
        Screen("alerts-open", "/alerts"),
        Screen("alerts-acknowledged", "/alerts?state=acknowledged"),
        Screen("alerts-viewer", "/alerts", role="viewer"),
    ],
)
