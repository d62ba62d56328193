"""`GET /api/events`: server-sent events for one agent, so an HTTP agent can listen too.

Each event from `Council.listen` goes out as `event: <its "type">` and `data: <JSON>`; a
comment line every `heartbeat_seconds` keeps proxies from closing a quiet stream; a client
that went away is noticed within `CHECK_SECONDS`. The stream ends cleanly when the client
closes it or the server stops, and the port's iterator is always closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from bridge.http.state import SETTINGS, STOPPING
from bridge.http.table import Call

log = logging.getLogger(__name__)
_BROKEN = "the event stream broke on our side; it is logged. Reconnect in a moment."

# How often a quiet stream looks whether its client is still there (a closed connection is
# only seen by the transport, not by a pending read of the port's events).
CHECK_SECONDS = 0.5


def sse_frame(event: dict[str, Any], seq: int) -> bytes:
    """One event in the text/event-stream format (data on one line: JSON has no newlines).
    Its `id` is the event's cursor, which a reconnecting client sends back as Last-Event-ID;
    an event without one (a `gap`, an error) sets none, so the client keeps its last."""
    kind = str(event.get("type", "message")).replace("\n", " ")
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    cursor = str(event.get("cursor", "")).replace("\n", " ")
    head = f"id: {cursor}\n" if cursor else ""
    return f"{head}event: {kind}\ndata: {data}\n\n".encode()


def last_event_id(request: web.Request) -> str | None:
    """Where a listener left off: the `Last-Event-ID` header a browser's EventSource sends on
    reconnecting, or `?last_event_id=` for clients that cannot set headers."""
    found = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    return found.strip()[:100] if found and found.strip() else None


async def events(call: Call) -> web.StreamResponse:
    # Opened before the answer starts: its errors are still JSON.
    stream = call.ports.council.listen(call.me, last_event_id(call.request))
    return await stream_events(call.request, stream, sse_frame, call.me.name)


Frame = Callable[[dict[str, Any], int], bytes]


async def stream_events(
    request: web.Request, stream: AsyncIterator[dict[str, Any]], frame: Frame, who: str
) -> web.StreamResponse:
    """Sends `stream` as server-sent events, each through `frame`, until the client leaves or
    the server stops; the stream's iterator is always closed (also used by the dashboard)."""
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # a reverse proxy must not hold the events back
        }
    )
    try:
        await response.prepare(request)
        await response.write(b": connected\nretry: 3000\n\n")  # reconnect after 3 s
        await _pump(stream, response, request, frame)
    except ConnectionError:
        pass  # the client went away: nothing to answer
    except Exception:
        # The stream is already open: no JSON error can be sent, so say it as an event.
        log.exception("bridge event stream for %s failed", who)
        with contextlib.suppress(ConnectionError):
            await response.write(sse_frame({"type": "error", "message": _BROKEN}, 0))
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
    return response


async def _pump(
    stream: AsyncIterator[dict[str, Any]],
    response: web.StreamResponse,
    request: web.Request,
    frame: Frame,
) -> None:
    heartbeat = request.app[SETTINGS].heartbeat_seconds
    loop = asyncio.get_running_loop()
    beat_at = loop.time() + heartbeat
    stopping = request.app[STOPPING]
    stop: asyncio.Future[Any] = asyncio.ensure_future(stopping.wait())
    nxt: asyncio.Future[Any] | None = None
    seq = 0
    try:
        while not stopping.is_set():
            if nxt is None:
                nxt = asyncio.ensure_future(anext(stream))
            wait = min(CHECK_SECONDS, max(0.0, beat_at - loop.time()))
            done, _ = await asyncio.wait({nxt, stop}, timeout=wait, return_when="FIRST_COMPLETED")
            if nxt in done:
                try:
                    event = nxt.result()
                except StopAsyncIteration:
                    return  # the port ended the stream
                nxt = None
                seq += 1
                await response.write(frame(event, seq))
            elif request.transport is None or request.transport.is_closing():
                return  # the client left between events: free its listener now
            elif loop.time() >= beat_at:
                beat_at = loop.time() + heartbeat
                await response.write(b": heartbeat\n\n")
    finally:
        for future in (nxt, stop):
            if future is not None and not future.done():
                future.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, Exception):
                    await future
