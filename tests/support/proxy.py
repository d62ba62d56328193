"""A small reverse proxy on loopback: `/sync` and friends to the sync worker, the rest to main.

It plays the part Caddy plays in production in front of Synapse workers, so clients (nio,
the Element-stack client) talk to one URL, as they would to a real deployment.
"""

from __future__ import annotations

import re

import aiohttp
from aiohttp import web

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


class PathProxy:
    """Forwards every request to `default_url`, or to `routed_url` when its path matches."""

    def __init__(self, default_url: str, routed_url: str, routed: re.Pattern[str]) -> None:
        self._default = default_url
        self._routed = routed_url
        self._pattern = routed
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.routed_requests = 0
        self.default_requests = 0

    async def start(self, host: str, port: int) -> None:
        # No total timeout: a /sync long-poll lasts as long as the client asked.
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None), auto_decompress=False
        )
        app = web.Application(client_max_size=200 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        if self._pattern.match(request.path):
            self.routed_requests += 1
            upstream = self._routed
        else:
            self.default_requests += 1
            upstream = self._default
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["X-Forwarded-For"] = request.remote or "127.0.0.1"
        headers["X-Forwarded-Proto"] = "http"
        body = await request.read()
        async with self._session.request(
            request.method,
            upstream + request.rel_url.raw_path_qs,
            headers=headers,
            data=body if body else None,
            allow_redirects=False,
        ) as response:
            payload = await response.read()
            out = web.Response(status=response.status, body=payload)
            for key, value in response.headers.items():
                if key.lower() not in HOP_BY_HOP:
                    out.headers.add(key, value)
            return out
