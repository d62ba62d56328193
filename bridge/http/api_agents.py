"""The agent's own calls: check in, speak, read the council's status."""

from __future__ import annotations

from aiohttp import web

from bridge.http.table import Call


async def checkin(call: Call) -> web.StreamResponse:
    await call.ports.council.checkin(call.me)
    return web.json_response({"success": True})


async def post_message(call: Call) -> web.StreamResponse:
    b = call.body
    event_id = await call.ports.council.say(call.me, b["content"], b["task_id"], call.key)
    return web.json_response({"success": True, "event_id": event_id}, status=201)


async def status(call: Call) -> web.StreamResponse:
    return web.json_response(await call.ports.council.status())
