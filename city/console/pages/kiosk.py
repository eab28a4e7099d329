"""A kiosk's page: state, presence timeline, heartbeat chart, devices, faults, versions, alerts.

The slot "kiosk_actions" is where other modules (city.publish: ping, diagnostics, restart) put
their buttons; each slot template gets `kiosk` (the row) and `kiosk_id`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from city.console.filters import choice_param, kiosk_id
from city.console.fleet_state import kiosk_state
from city.console.kiosk_detail import (
    DEFAULT_WINDOW,
    WINDOWS,
    device_rows,
    heartbeat_series,
    kiosk_alerts,
    presence_timeline,
    recent_faults,
)
from city.console.modules import ConsoleModule, Screen
from city.console.presence_band import presence_segments
from city.console.web import PageContext, page

HISTORY_WINDOW = WINDOWS["30d"]
BAND_WINDOW = WINDOWS["7d"]


def _kiosk(ctx: PageContext) -> str:
    params = ctx.request.path_params
    return kiosk_id(params["city"], params["centre"], params["name"])


@page("viewer")
def kiosk_page(ctx: PageContext) -> Response:
    """Everything the city knows about one kiosk."""
    kiosk = _kiosk(ctx)
    window = choice_param(ctx.query, "window", tuple(WINDOWS)) or DEFAULT_WINDOW
    now = datetime.now(UTC)
    row = kiosk_state(ctx.conn, kiosk, ctx.console.config.alerts.rules, now)
    if row is None:
        return ctx.error(404, ctx.t("kiosk.unknown", kiosk=kiosk))
    since = now - HISTORY_WINDOW
    timeline = presence_timeline(ctx.conn, kiosk, since)
    band = presence_segments([(e["ts"], e["type"]) for e in timeline], now - BAND_WINDOW, now)
    return ctx.render(
        "kiosk.html",
        kiosk=row,
        kiosk_id=kiosk,
        window=window,
        windows=list(WINDOWS),
        timeline=timeline,
        band=band,
        band_since=now - BAND_WINDOW,
        now=now,
        devices=device_rows(ctx.conn, kiosk),
        faults=recent_faults(ctx.conn, kiosk, since),
        alerts=kiosk_alerts(ctx.conn, kiosk),
    )


@page("viewer")
def heartbeats(ctx: PageContext) -> Response:
    """The heartbeat chart's data (JSON) for one window."""
    kiosk = _kiosk(ctx)
    window = choice_param(ctx.query, "window", tuple(WINDOWS)) or DEFAULT_WINDOW
    now = datetime.now(UTC)
    series = heartbeat_series(ctx.conn, kiosk, now - WINDOWS[window], now)
    return JSONResponse(series, headers={"Cache-Control": "no-store"})


MODULE = ConsoleModule(
    name="kiosk",
    routes=[
        Route("/kiosks/{city}/{centre}/{name}", kiosk_page, methods=["GET"]),
        Route("/kiosks/{city}/{centre}/{name}/heartbeats", heartbeats, methods=["GET"]),
    ],
    screens=[Screen("kiosk", "/kiosks/{kiosk}"), Screen("kiosk-7d", "/kiosks/{kiosk}?window=7d")],
)
