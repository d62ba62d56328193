"""The bridge's aiohttp application and the server that runs it.

`build_app` registers every route of the one table (`routes.ROUTES`) behind the same checks
(`calls.wrap`), the JSON error middleware, and whatever public routes the `extra_routes`
adders register (`/health`, `/metrics`: the bridge never imports their modules). `serve`
runs it on loopback by default, port 0 taking any free port.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from bridge.http import dashboard
from bridge.http.calls import wrap
from bridge.http.errors import json_errors
from bridge.http.limits import RateLimiter
from bridge.http.ports import Ports
from bridge.http.routes import ROUTES
from bridge.http.settings import BridgeHttpSettings
from bridge.http.state import LIMITER, PORTS, SETTINGS, STOPPING
from bridge.http.state import ROUTES as ROUTES_KEY

log = logging.getLogger(__name__)


def build_app(
    ports: Ports,
    settings: BridgeHttpSettings,
    *,
    extra_routes: Sequence[Callable[[web.Application], None]] = (),
) -> web.Application:
    """The application: the SOP routes, /help, /api/openapi.json, the master's dashboard
    when the ports have one, then the extra adders."""
    app = web.Application(middlewares=[json_errors], client_max_size=settings.max_body_bytes)
    app[PORTS] = ports
    app[SETTINGS] = settings
    app[ROUTES_KEY] = ROUTES
    app[LIMITER] = RateLimiter(settings.rate_per_minute, settings.burst)
    app[STOPPING] = asyncio.Event()
    for route in ROUTES:
        app.router.add_route(route.method, route.path, wrap(route))
    if ports.dashboard is not None:
        dashboard.add_routes(app)
    for add in extra_routes:
        add(app)
    app.on_shutdown.append(_stop_streams)
    return app


async def _stop_streams(app: web.Application) -> None:
    app[STOPPING].set()


@dataclass(frozen=True)
class Listening:
    """Where a served app listens (the bound port when the settings said 0)."""

    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


@asynccontextmanager
async def serve(app: web.Application, settings: BridgeHttpSettings) -> AsyncIterator[Listening]:
    """Runs `app` on `settings.host`/`settings.port` until the block ends."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        port = settings.port
        server = site._server  # the bound sockets are only here
        if isinstance(server, asyncio.Server) and server.sockets:
            port = server.sockets[0].getsockname()[1]
        where = Listening(settings.host, port)
        log.info("bridge HTTP listening on %s", where.url)
        yield where
    finally:
        await runner.cleanup()
