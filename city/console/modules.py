"""How a part of the city adds pages to the console (docs/console.md).

A route module exposes `MODULE = ConsoleModule(...)`: its routes, its menu entries, its message
catalogue (zh-CN and en), its templates folder and the templates it puts into named slots of
other pages (e.g. `kiosk_actions` on the kiosk page). The app factory imports every module of
ROUTE_MODULES, and every module of OPTIONAL_ROUTE_MODULES that exists, so the reports and
publishing parts plug in without editing this file.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import psycopg
from starlette.routing import BaseRoute

Role = Literal["viewer", "operator", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "admin")

ROUTE_MODULES: tuple[str, ...] = (
    "city.console.pages.common",
    "city.console.pages.fleet",
    "city.console.pages.kiosk",
    "city.console.pages.alerts",
    "city.console.pages.audit",
    "city.console.pages.users",
)
# Mounted when present: the 好差评/usage/health reports and the signed commands (issue 13);
# the red points ledger, the residents' requests inbox and activities (issue 14).
OPTIONAL_ROUTE_MODULES: tuple[str, ...] = (
    "city.reports.web",
    "city.publish.web",
    "city.points.web",
    "city.requests.web",
    "city.activities.web",
)


@dataclass(frozen=True)
class NavItem:
    """One entry of the top menu: shown to users with at least `role`, in `order`.

    `badge(conn)` (optional, one cheap indexed query) gives a count shown beside the label
    when it is not zero: open alerts, open follow-ups.
    """

    path: str
    label_key: str
    role: Role = "viewer"
    order: int = 100
    badge: Callable[[psycopg.Connection], int] | None = None


@dataclass(frozen=True)
class Screen:
    """A page `make screenshots` and the accessibility test visit (as a user with `role`).

    `path` may use {kiosk} (a demo kiosk id) and {alert} (a demo open alert id).
    """

    name: str
    path: str
    role: Role = "operator"


@dataclass(frozen=True)
class ConsoleModule:
    """What one route module contributes to the console.

    `demo` writes demonstration rows for its screens (screenshots, accessibility test) into a
    database that already holds the console's demo fleet (testbed/console_tour.py).
    """

    name: str
    routes: Sequence[BaseRoute] = ()
    nav: Sequence[NavItem] = ()
    messages: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    templates: Path | None = None
    slots: Mapping[str, Sequence[str]] = field(default_factory=dict)
    screens: Sequence[Screen] = ()
    demo: Callable[[psycopg.Connection], Mapping[str, str] | None] | None = None
    # Run when the app starts (after the pool opened) with the Console; returns what to call
    # at shutdown. city.publish starts its command dispatcher here.
    startup: Callable[[Any], Callable[[], None]] | None = None


def load_modules(
    names: Sequence[str] = ROUTE_MODULES, optional: Sequence[str] = OPTIONAL_ROUTE_MODULES
) -> list[ConsoleModule]:
    """Import the route modules (optional ones only when they exist) and collect `MODULE`s."""
    present = [n for n in optional if _exists(n)]
    modules = []
    for name in [*names, *present]:
        module = importlib.import_module(name).MODULE
        if not isinstance(module, ConsoleModule):
            raise TypeError(f"{name}.MODULE is not a ConsoleModule")
        modules.append(module)
    return modules


def _exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False
