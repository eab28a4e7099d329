"""The console's Starlette app: `create_app(config, secret)` (served by city.console.server)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from city.config import CityConfig
from city.console.modules import ConsoleModule, load_modules
from city.console.site import Console

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "assets" / "node_modules"
ASSETS = {
    "htmx": NODE_MODULES / "htmx.org" / "dist",
    "echarts": NODE_MODULES / "echarts" / "dist",
}
# style-src allows inline styles: ECharts' tooltips carry style attributes; scripts stay 'self'.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


def create_app(
    config: CityConfig, secret: bytes, modules: Sequence[ConsoleModule] | None = None
) -> Starlette:
    """The console app; its lifespan opens and closes the database pool."""
    console = Console(config, secret, load_modules() if modules is None else modules)
    missing = [str(p) for p in ASSETS.values() if not p.is_dir()]
    if missing:
        raise RuntimeError(f"console assets missing ({', '.join(missing)}): run `make setup`")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        console.open()
        try:
            yield
        finally:
            console.close()

    routes: list[BaseRoute] = [
        Route("/healthz", _healthz),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        *(Mount(f"/assets/{name}", StaticFiles(directory=path)) for name, path in ASSETS.items()),
    ]
    for module in console.modules:
        routes.extend(module.routes)
    app = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(SecurityHeaders)])
    app.state.console = console
    return app
