"""Every console page, found in the route registry: what `make screenshots`, the accessibility
test and `make bench` (section console) visit (docs/console.md, "Adding pages" 8).

Nobody keeps a list of pages: every GET route of every mounted module is a page, plus the
modules' `Screen`s (views with a query string, or as a given role). A route's path parameters
come, per route, from a `Screen` of the route's module whose path the route matches, else
from the tour's values by name (the console's demo data gives `city`, `centre`, `name`,
`kiosk`, `alert_id`, `alert`, `code`; a module's `demo(conn)` may return more). A GET route
left without values is an error the tour reports, so a new page cannot slip past the checks.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from starlette.routing import BaseRoute, Mount, Route

from city.console.modules import ConsoleModule, Role

NAME_UNSAFE = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class ConsolePage:
    """One page to visit: `path` is concrete (query included); `role` None means "find out":
    public when it answers without a session, else as an admin (who may see every page)."""

    name: str
    path: str
    route: str
    role: Role | None = None


@dataclass(frozen=True)
class Unreachable:
    """A GET route the tour cannot visit: which parameters had no value."""

    module: str
    route: str
    missing: tuple[str, ...]

    def __str__(self) -> str:
        return (
            f"{self.module}: GET {self.route} needs {', '.join(self.missing)}: add a Screen"
            " with a concrete path to MODULE.screens, or return the values from MODULE.demo"
        )


def get_routes(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[Route]:
    """The GET routes, Mounts with routes of their own included (static folders are not)."""
    for route in routes:
        if isinstance(route, Route) and (route.methods is None or "GET" in route.methods):
            if prefix:
                yield Route(prefix + route.path, route.endpoint, methods=["GET"], name=route.name)
            else:
                yield route
        elif isinstance(route, Mount) and route.routes:
            yield from get_routes(route.routes, prefix + route.path)


def _parameters(path_format: str) -> list[str]:
    return [field for _, field, _, _ in string.Formatter().parse(path_format) if field]


def _name(module: str, text: str) -> str:
    return NAME_UNSAFE.sub("-", f"{module}-{text}".lower()).strip("-")


def _route_of(module: ConsoleModule, path: str) -> Route | None:
    bare = path.split("?", 1)[0]
    return next((r for r in get_routes(module.routes) if r.path_regex.match(bare)), None)


def console_pages(
    modules: Sequence[ConsoleModule], values: Mapping[str, str]
) -> tuple[list[ConsolePage], list[Unreachable]]:
    """Every page: each GET route once (role found out by the tour), named after the first
    Screen with its very path if there is one; then every other Screen, as its role."""
    screens = [(m, s, s.path.format(**values)) for m in modules for s in m.screens]
    absorbed: set[int] = set()
    pages: list[ConsolePage] = []
    unreachable: list[Unreachable] = []
    for module in modules:
        for route in get_routes(module.routes):
            names = _parameters(route.path_format)
            # a route with parameters: a Screen of its own module gives them (one without a
            # query string first), else the values by name
            given = sorted(
                (
                    ("?" in path, i, path)
                    for i, (m, _, path) in enumerate(screens)
                    if names and m is module and route.path_regex.match(path.split("?", 1)[0])
                ),
                key=lambda item: item[:2],
            )
            if given:
                _, index, concrete = given[0]
            else:
                missing = tuple(n for n in names if n not in values)
                if missing:
                    unreachable.append(Unreachable(module.name, route.path, missing))
                    continue
                concrete = route.path_format.format(**{n: values[n] for n in names})
                index = next((i for i, (_, _, p) in enumerate(screens) if p == concrete), -1)
            if index >= 0:
                absorbed.add(index)
                name = screens[index][1].name
            else:
                name = _name(module.name, route.name)
            pages.append(ConsolePage(name, concrete, route.path))
    for index, (module, screen, path) in enumerate(screens):
        if index not in absorbed:
            owner = _route_of(module, path)
            pages.append(ConsolePage(screen.name, path, owner.path if owner else "", screen.role))
    return _unique_names(pages), unreachable


def _unique_names(pages: list[ConsolePage]) -> list[ConsolePage]:
    """A route's name may be a Screen's too: the later one gets -2, -3 (PNG and bench keys)."""
    taken: dict[str, int] = {}
    unique = []
    for page in pages:
        count = taken.get(page.name, 0) + 1
        taken[page.name] = count
        name = page.name if count == 1 else f"{page.name}-{count}"
        unique.append(ConsolePage(name, page.path, page.route, page.role))
    return unique
