"""Executor requests over HTTP: submitted (202 with the request id), then polled.

The port sends them through the same policy, approval and audit as any request; the server
only checks the payload's shape for its `type`, so a bad one is a 400 naming the field.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from bridge.http.bodies import parse_fields
from bridge.http.ports import ApiError, ExecutorDesk
from bridge.http.table import Call, Field

KINDS = ("shell", "file_write")
_MODE = re.compile(r"0?[0-7]{3}")

PAYLOADS: dict[str, tuple[Field, ...]] = {
    "shell": (
        Field("command", "string", required=True, doc="the command line, as typed in a shell"),
        Field("host", "string", doc="the configured host to run on (default: the executor's)"),
    ),
    "file_write": (
        Field("host", "string", required=True, doc="the configured host to write on"),
        Field("path", "string", required=True, doc="absolute path of the file"),
        Field("content", "string", required=True, nonempty=False, doc="the file's new content"),
        Field("mode", "string", doc='octal permissions as a string, e.g. "0644"'),
    ),
}


def _desk(call: Call) -> ExecutorDesk:
    if call.ports.executor is None:
        raise ApiError(503, "the executor is not connected to this bridge")
    return call.ports.executor


def payload_of(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload checked for its kind, only its known fields, None ones left out."""
    fields = parse_fields(payload, PAYLOADS[kind], prefix="payload.")
    mode = fields.get("mode")
    if mode is not None and not _MODE.fullmatch(mode.strip()):
        raise ApiError(
            400, f'`payload.mode` must be octal like "0644", not {mode!r}', "payload.mode"
        )
    return {k: v for k, v in fields.items() if v is not None}


async def submit(call: Call) -> web.StreamResponse:
    desk = _desk(call)
    kind = call.body["type"]
    payload = payload_of(kind, call.body["payload"])
    request_id = await desk.submit(call.me, kind, payload, call.key)
    return web.json_response({"success": True, "request_id": request_id}, status=202)


async def get_request(call: Call) -> web.StreamResponse:
    request_id = call.request.match_info["id"]
    found = await _desk(call).get(call.me, request_id)
    if found is None:
        raise ApiError(404, f"no executor request {request_id!r} of yours")
    return web.json_response(found)
