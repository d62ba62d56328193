"""`GET /help`: the API explained to an agent in plain words, with a curl example per call.

Rendered with jinja2 from `templates/help.txt.j2` over the same routes the app registered.
"""

from __future__ import annotations

import json
import shlex
from functools import cache

import jinja2
from aiohttp import web

from bridge.http.catalog import documented
from bridge.http.state import SETTINGS
from bridge.http.table import Call, Route


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("bridge.http", "templates"),
        autoescape=False,  # plain text, never HTML
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def curl_example(route: Route, base: str) -> str:
    """A curl command line that makes this call (path parameters filled with examples)."""
    path = route.plain_path.replace("{id}", "12").replace("{name}", "manus")
    words = ["curl"]
    if route.stream:
        words.append("-N")
    if route.method != "GET":
        words += ["-X", route.method]
    if route.auth:
        words += ["-H", "Authorization: Bearer $TOKEN"]
    if route.example is not None:
        words += ["-H", "Content-Type: application/json"]
        words += ["-d", json.dumps(route.example, ensure_ascii=False)]
    query = "?status=pending" if route.query else ""
    words.append(f"{base}{path}{query}")
    return " ".join(w if w.startswith("$") else _quote(w) for w in words)


def _quote(word: str) -> str:
    if "$TOKEN" in word:
        return f'"{word}"'  # the shell fills in the token
    return shlex.quote(word)


def render_help(app: web.Application, base: str) -> str:
    """The page's text for the app's routes."""
    settings = app[SETTINGS]
    return (
        _environment()
        .get_template("help.txt.j2")
        .render(
            routes=documented(app),
            base=base,
            curl=lambda r: curl_example(r, base),
            max_body_bytes=settings.max_body_bytes,
            rate_per_minute=f"{settings.rate_per_minute:g}",
            burst=settings.burst,
        )
    )


async def help_page(call: Call) -> web.StreamResponse:
    base = str(call.request.url.origin())
    return web.Response(text=render_help(call.request.app, base), content_type="text/plain")
