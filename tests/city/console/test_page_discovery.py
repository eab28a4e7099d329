"""testbed/console_pages.py finds every console page in the route registry: each GET route
once, path parameters from the tour's values or from a Screen of the route's module, the
unreachable ones named (so a new page cannot slip past the screenshots, axe and the bench)."""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from city.console.modules import ConsoleModule, Screen, load_modules
from testbed.console_pages import console_pages, get_routes

VALUES = {
    "kiosk": "440300/centre-0000/kiosk-00",
    "city": "440300",
    "centre": "centre-0000",
    "name": "kiosk-00",
    "alert": "7",
    "alert_id": "7",
    "code": "en",
}


def _ok(request: object) -> PlainTextResponse:
    return PlainTextResponse("ok")


def test_every_get_route_of_the_console_is_a_page() -> None:
    """The console's own modules: nothing unreachable, no POST route, screens named."""
    modules = load_modules(optional=())
    pages, unreachable = console_pages(modules, VALUES)
    assert unreachable == []
    by_path = {p.path: p for p in pages if p.role is None}
    assert by_path["/fleet"].name == "fleet"
    assert by_path["/kiosks/440300/centre-0000/kiosk-00"].name == "kiosk"
    assert by_path["/kiosks/440300/centre-0000/kiosk-00/heartbeats"].name == "kiosk-heartbeats"
    assert {"/login", "/audit", "/users", "/alerts"} <= set(by_path)
    # extra views (query strings, another role) come after, each once
    extras = [(p.name, p.role) for p in pages if p.role is not None]
    assert ("alerts-viewer", "viewer") in extras
    assert ("fleet-degraded", "operator") in extras
    names = [p.name for p in pages]
    assert len(names) == len(set(names))


def test_a_new_module_is_covered_without_a_list() -> None:
    """A module's GET routes (in a Mount too) are pages; its POSTs and static files are not;
    a parameter without a value is reported; a Screen of the module gives one."""
    module = ConsoleModule(
        name="reports",
        routes=[
            Route("/reports/ratings", _ok, methods=["GET"]),
            Route("/reports/followups/{event_id}/close", _ok, methods=["POST"]),
            Route("/reports/export/{report}.{fmt}", _ok, methods=["GET"]),
            Route("/reports/centres/{id:int}", _ok, methods=["GET"]),
            Route("/reports/file/{name}.{fmt}", _ok, methods=["GET"]),
            Mount("/reports/more", routes=[Route("/daily", _ok, name="daily")]),
            Mount("/reports/static", StaticFiles(directory=".", check_dir=False)),
        ],
        screens=[
            Screen("reports-centre", "/reports/centres/12?period=month"),
            Screen("reports-ok", "/reports/ratings?period=year"),
            # `name` has a value by convention (a kiosk's): the module's Screen wins
            Screen("reports-file", "/reports/file/ratings.csv"),
        ],
    )
    pages, unreachable = console_pages([module], VALUES)
    assert [(p.name, p.path) for p in pages] == [
        ("reports-ok", "/reports/ratings"),
        ("reports-centre", "/reports/centres/12?period=month"),
        ("reports-file", "/reports/file/ratings.csv"),
        ("reports-daily", "/reports/more/daily"),
        ("reports-ok-2", "/reports/ratings?period=year"),
    ]
    assert [(u.route, u.missing) for u in unreachable] == [
        ("/reports/export/{report}.{fmt}", ("report", "fmt"))
    ]
    assert "MODULE.screens" in str(unreachable[0])
    assert [r.path for r in get_routes(module.routes)] == [
        "/reports/ratings",
        "/reports/export/{report}.{fmt}",
        "/reports/centres/{id:int}",
        "/reports/file/{name}.{fmt}",
        "/reports/more/daily",
    ]
