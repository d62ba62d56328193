"""The API documents itself from the routes it registered: `/api/openapi.json` and `/help`
list every call (also those an `extra_routes` adder put in), so they cannot drift; and
`serve` runs the app on loopback, on any free port when asked for port 0."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bridge.http.app import build_app, serve
from bridge.http.routes import ROUTES
from bridge.http.settings import BridgeHttpSettings
from tests.support.bridge_ports import memory

SOP_CALLS = [
    ("POST", "/api/agent/{name}/checkin"),
    ("GET", "/api/tasks"),
    ("POST", "/api/tasks"),
    ("POST", "/api/tasks/{id}/claim"),
    ("POST", "/api/tasks/{id}/report"),
    ("POST", "/api/tasks/{id}/complete"),
    ("POST", "/api/messages"),
    ("POST", "/api/executor/command"),
    ("GET", "/api/executor/requests/{id}"),
    ("GET", "/api/events"),
    ("GET", "/api/status"),
    ("GET", "/help"),
    ("GET", "/api/openapi.json"),
]


def add_health(app: web.Application) -> None:
    async def health(_request: web.Request) -> web.Response:
        """Whether the homeserver, bots, store and hosts are well."""
        return web.json_response({"ok": True})

    app.router.add_get("/health", health)


def app_with_extra() -> web.Application:
    return build_app(memory().ports(), BridgeHttpSettings(port=0), extra_routes=[add_health])


def registered(app: web.Application) -> set[tuple[str, str]]:
    plain = re.compile(r"{(\w+):[^}]+}")
    return {
        (r.method, plain.sub(r"{\1}", r.resource.canonical))
        for r in app.router.routes()
        if r.method != "HEAD" and r.resource is not None
    }


async def fetch(app: web.Application, path: str) -> Any:
    async with TestClient(TestServer(app)) as client:
        response = await client.get(path)
        assert response.status == 200
        return await (response.json() if path.endswith(".json") else response.text())


def test_every_sop_call_is_registered() -> None:
    assert set(SOP_CALLS) <= registered(app_with_extra())


async def test_openapi_lists_every_registered_route() -> None:
    app = app_with_extra()
    doc = await fetch(app, "/api/openapi.json")
    listed = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert listed == registered(app)
    assert doc["openapi"] == "3.1.0"
    assert doc["paths"]["/health"]["get"]["summary"].startswith("Whether the homeserver")


@pytest.mark.parametrize("route", ROUTES, ids=[f"{r.method} {r.plain_path}" for r in ROUTES])
async def test_openapi_describes_each_call(route: Any) -> None:
    doc = await fetch(app_with_extra(), "/api/openapi.json")
    op = doc["paths"][route.plain_path][route.method.lower()]
    assert op["summary"] == route.summary
    assert str(route.status) in op["responses"]
    assert bool(op["security"]) is route.auth
    if route.auth:
        assert "401" in op["responses"]
    props = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    props = props.get("schema", {}).get("properties", {})
    for f in route.body:
        assert f.name in props
        for alias in f.aliases:
            assert alias in props


async def test_help_mentions_every_route_with_a_curl_example() -> None:
    app = app_with_extra()
    text = await fetch(app, "/help")
    for method, path in registered(app):
        assert f"{method} {path}" in text, (method, path)
    for route in ROUTES:
        assert f"{route.method} {route.plain_path}" in text
    curls = [line.strip() for line in text.splitlines() if line.strip().startswith("curl ")]
    assert len(curls) == len(ROUTES) + 1  # and /health's
    assert 'curl -X POST -H "Authorization: Bearer $TOKEN"' in text
    for word in ("agentname", "Retry-After", "Idempotency-Key"):
        assert word in text, word


async def test_serve_listens_on_loopback_on_a_free_port() -> None:
    settings = BridgeHttpSettings(port=0)
    async with serve(app_with_extra(), settings) as where:
        assert where.host == "127.0.0.1"
        assert where.port > 0
        assert where.url == f"http://127.0.0.1:{where.port}"
        async with aiohttp.ClientSession() as session, session.get(f"{where.url}/health") as r:
            assert r.status == 200
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"{where.url}/health")
