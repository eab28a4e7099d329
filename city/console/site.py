"""The console as a whole: configuration, secret, pool, catalogue, templates and modules."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import psycopg
from psycopg_pool import ConnectionPool
from starlette.requests import Request

from city.config import CityConfig
from city.console.accounts import User
from city.console.i18n import LANGUAGE_NAMES, LANGUAGES, Catalogue
from city.console.modules import ConsoleModule, NavItem

TEMPLATES = Path(__file__).resolve().parent / "templates"


class Console:
    """Shared by every request (app.state.console); the pool opens in the app's lifespan."""

    def __init__(self, config: CityConfig, secret: bytes, modules: Sequence[ConsoleModule]) -> None:
        self.config = config
        self.secret = secret
        self.modules = list(modules)
        self.catalogue = Catalogue(m.messages for m in self.modules)
        self.zone = ZoneInfo(config.timezone)
        self.pool: ConnectionPool | None = None
        folders = [TEMPLATES] + [m.templates for m in self.modules if m.templates is not None]
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(f) for f in folders]),
            autoescape=jinja2.select_autoescape(["html"]),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(languages=LANGUAGES, language_names=LANGUAGE_NAMES, slot=self.slot)
        self.env.filters.update(when=self.when, number=_number)

    def open(self) -> None:
        """Open the connection pool (the app's lifespan calls it)."""
        self.pool = ConnectionPool(
            self.config.database.url,
            min_size=1,
            max_size=8,
            open=True,
            kwargs={"connect_timeout": max(1, round(self.config.database.connect_timeout_s))},
        )

    def close(self) -> None:
        """Close the pool."""
        if self.pool is not None:
            self.pool.close()
            self.pool = None

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection; its transaction commits at the end, or rolls back on error."""
        if self.pool is None:
            raise RuntimeError("the console's connection pool is not open")
        with self.pool.connection() as conn:
            yield conn

    def render(self, template: str, values: dict[str, Any]) -> str:
        """Render one template."""
        return self.env.get_template(template).render(values)

    def nav_for(self, user: User | None) -> list[NavItem]:
        """The menu entries this user may see, in order."""
        if user is None:
            return []
        items = [i for m in self.modules for i in m.nav if user.can(i.role)]
        return sorted(items, key=lambda i: (i.order, i.path))

    def slot(self, name: str) -> list[str]:
        """The templates the modules put into slot `name` (e.g. "kiosk_actions")."""
        return [t for m in self.modules for t in m.slots.get(name, ())]

    def secure(self, request: Request) -> bool:
        """Whether cookies get the Secure flag for this request (console.cookie_secure)."""
        mode = self.config.console.cookie_secure
        return mode == "always" or (mode == "auto" and request.url.scheme == "https")

    def when(self, value: datetime | None) -> str:
        """A timestamp in the city's time zone, to the second ("—" for none)."""
        if value is None:
            return "—"
        return value.astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S")


def _number(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"
