"""Fleet: every district → centre → kiosk with its state, filters, counts, one page at a time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response
from starlette.routing import Route

from city.console.filters import STATES, FleetFilter, fleet_filter
from city.console.fleet_state import filter_choices, fleet_page
from city.console.modules import ConsoleModule, NavItem, Screen
from city.console.web import PageContext, page


def page_link(flt: FleetFilter, page_number: int) -> str:
    """The fleet URL with the same filters and another page."""
    params = {
        "district": flt.district,
        "centre": flt.centre,
        "state": flt.state,
        "q": flt.text,
        "page": page_number if page_number > 1 else None,
    }
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return "/fleet" + (f"?{query}" if query else "")


def state_link(flt: FleetFilter, state: str | None) -> str:
    """The fleet URL with the same filters but one state (None: all)."""
    return page_link(FleetFilter(flt.district, flt.centre, state, flt.text), 1)


def centre_link(flt: FleetFilter, centre: str) -> str:
    """The fleet URL for one centre of the chosen district."""
    return page_link(FleetFilter(flt.district, centre, flt.state, flt.text), 1)


def district_link(flt: FleetFilter, district: str | None) -> str:
    """The fleet URL for one district (its centres, the same state and text)."""
    return page_link(FleetFilter(district, None, flt.state, flt.text), 1)


def grouped(rows: list[dict[str, Any]]) -> list[tuple[str | None, str, list[dict[str, Any]]]]:
    """Consecutive rows grouped by (district, centre), in query order."""
    groups: list[tuple[str | None, str, list[dict[str, Any]]]] = []
    for row in rows:
        if not groups or groups[-1][0] != row["district"] or groups[-1][1] != row["centre"]:
            groups.append((row["district"], row["centre"], []))
        groups[-1][2].append(row)
    return groups


@page("viewer")
def fleet(ctx: PageContext) -> Response:
    """The fleet page (htmx refreshes #fleet-live every 30 s with the same URL)."""
    flt = fleet_filter(ctx.query)
    now = datetime.now(UTC)
    rules = ctx.console.config.alerts.rules
    result = fleet_page(ctx.conn, flt, rules, now, ctx.console.config.console.page_size)
    districts, centres = filter_choices(ctx.conn, flt.district)
    return ctx.render(
        "fleet.html",
        flt=flt,
        result=result,
        groups=grouped(result.kiosks),
        districts=districts,
        centres=centres,
        states=STATES,
        page_link=lambda n: page_link(flt, n),
        state_link=lambda s: state_link(flt, s),
        district_link=lambda d: district_link(flt, d),
        centre_link=lambda c: centre_link(flt, c),
    )


MODULE = ConsoleModule(
    name="fleet",
    routes=[Route("/fleet", fleet, methods=["GET"])],
    nav=[NavItem("/fleet", "nav.fleet", "viewer", order=10)],
    screens=[
        Screen("fleet", "/fleet"),
        Screen("fleet-degraded", "/fleet?state=degraded"),
        Screen("fleet-district", "/fleet?district=%E7%A6%8F%E7%94%B0%E5%8C%BA"),
    ],
)
