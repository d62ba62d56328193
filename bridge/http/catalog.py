"""Every call the app answers, for `/help` and the OpenAPI document: the route table, plus
any route an `extra_routes` adder registered (`/health`, `/metrics`), described by its
handler's docstring. Read from the running app's router, so nothing registered goes unlisted,
except handlers marked `undocumented` (the master's dashboard: its own login, not the API's).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from bridge.http.state import ROUTES
from bridge.http.table import Route

_UNDOCUMENTED = "__chavion_undocumented__"
H = TypeVar("H", bound=Callable[..., Any])


def undocumented(handler: H) -> H:
    """Keeps a handler out of `/help` and the OpenAPI document (the dashboard's pages)."""
    setattr(handler, _UNDOCUMENTED, True)
    return handler


async def _never(_call: object) -> web.StreamResponse:  # pragma: no cover - never called
    raise NotImplementedError


def documented(app: web.Application) -> list[Route]:
    """The table's routes, then the others the router holds (public, summary from the doc)."""
    registered: tuple[Route, ...] = app[ROUTES]
    table = list(registered)
    known = {(r.method, r.plain_path) for r in table}
    extra: list[Route] = []
    for route in app.router.routes():
        if route.method in {"HEAD", "OPTIONS", "*"}:
            continue
        if getattr(route.handler, _UNDOCUMENTED, False):
            continue
        path = route.resource.canonical if route.resource is not None else ""
        if not path or (route.method, path) in known:
            continue
        known.add((route.method, path))
        doc = (getattr(route.handler, "__doc__", None) or "").strip().splitlines()
        summary = doc[0] if doc else f"{route.method} {path}"
        extra.append(Route(route.method, path, _never, summary, auth=False))
    return table + sorted(extra, key=lambda r: (r.path, r.method))
