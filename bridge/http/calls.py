"""One call of the API, ready for its handler: who, what, with which idempotency key.

`wrap(route)` does what every route needs, in order: the token (401), the rate (429), the
body (413, 400 naming the field), the named agent (403), the key; the handler then only
calls its port. Nothing reaches a port before all checks passed: nothing is half-done.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bridge.http.auth import authenticate, same_agent
from bridge.http.bodies import parse_fields, read_json
from bridge.http.ports import ApiError
from bridge.http.state import LIMITER, PORTS, SETTINGS
from bridge.http.table import Call, Route

MAX_KEY_CHARS = 200


def idempotency_key(request: web.Request) -> str:
    """The `Idempotency-Key` header (so a retried POST is one task), else a fresh uuid4."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return str(uuid.uuid4())
    key = key.strip()
    if not key or len(key) > MAX_KEY_CHARS or not key.isprintable():
        raise ApiError(
            400,
            f"Idempotency-Key must be 1..{MAX_KEY_CHARS} printable characters",
            "Idempotency-Key",
        )
    return key


def wrap(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler of `route`: every check, then the route's own handler."""

    async def handle(request: web.Request) -> web.StreamResponse:
        ports = request.app[PORTS]
        agent = None
        if route.auth:
            token, agent = await authenticate(request, ports.tokens)
            request.app[LIMITER].check(token)
        body: dict[str, Any] = {}
        if route.body or request.method == "POST":
            data = await read_json(request, request.app[SETTINGS].max_body_bytes)
            body = parse_fields(data, route.body)
        if agent is not None:
            if route.agent_in_path:
                same_agent(agent, request.match_info["name"], "name")
            if route.agent_field and body.get("agent_name") is not None:
                same_agent(agent, body["agent_name"], "agent_name")
        key = idempotency_key(request) if request.method == "POST" else ""
        return await route.handler(Call(request, ports, agent, body, key))

    handle.__doc__ = route.summary
    return handle


def path_int(call: Call, name: str) -> int:
    """A numeric path parameter (the route's pattern already checked it is digits)."""
    return int(call.request.match_info[name])
