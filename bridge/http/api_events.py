"""`GET /api/events`: server-sent events for one agent, so an HTTP agent can listen too.

Each event from `Council.listen` goes out as `event: <its "type">` and `data: <JSON>`; a
comment line every `heartbeat_seconds` keeps proxies from closing a quiet stream and finds a
client that went away. The stream ends cleanly when the client closes it or the server stops,
and the port's iterator is always closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from bridge.http.state import SETTINGS, STOPPING
from bridge.http.table import Call


def sse_frame(event: dict[str, Any], seq: int) -> bytes:
    """One event in the text/event-stream format (data on one line: JSON has no newlines)."""
    kind = str(event.get("type", "message")).replace("\n", " ")
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return f"id: {seq}\nevent: {kind}\ndata: {data}\n\n".encode()


async def events(call: Call) -> web.StreamResponse:
    request = call.request
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # a reverse proxy must not hold the events back
        }
    )
    await response.prepare(request)
    stream = call.ports.council.listen(call.me)
    try:
        await response.write(b": connected\n\n")
        await _pump(stream, response, request)
    except (ConnectionResetError, ConnectionError, asyncio.CancelledError):
        pass  # the client went away: nothing to answer
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
    return response


async def _pump(
    stream: AsyncIterator[dict[str, Any]], response: web.StreamResponse, request: web.Request
) -> None:
    heartbeat = request.app[SETTINGS].heartbeat_seconds
    stopping = request.app[STOPPING]
    stop: asyncio.Future[Any] = asyncio.ensure_future(stopping.wait())
    nxt: asyncio.Future[Any] | None = None
    seq = 0
    try:
        while not stopping.is_set():
            if nxt is None:
                nxt = asyncio.ensure_future(anext(stream))
            done, _ = await asyncio.wait(
                {nxt, stop}, timeout=heartbeat, return_when="FIRST_COMPLETED"
            )
            if nxt in done:
                try:
                    event = nxt.result()
                except StopAsyncIteration:
                    return  # the port ended the stream
                nxt = None
                seq += 1
                await response.write(sse_frame(event, seq))
            elif not done:
                if request.transport is None or request.transport.is_closing():
                    return
                await response.write(b": heartbeat\n\n")
    finally:
        for future in (nxt, stop):
            if future is not None and not future.done():
                future.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, Exception):
                    await future
