"""Every error as JSON `{"error": {"status", "message", "field"?}}`, whatever raised it.

ApiError (ours and the ports') answers its own status; aiohttp's HTTP errors (404 unknown
path, 405, 413 over `client_max_size`) keep theirs with a JSON body; anything else is a 500
logged with its traceback, answered politely without internals.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from bridge.http.bodies import too_large
from bridge.http.ports import ApiError
from bridge.http.problems import HeaderedError
from bridge.http.state import SETTINGS

log = logging.getLogger(__name__)

_REASONS = {
    401: "no or bad token: send `Authorization: Bearer <your token>`",
    404: "no such call or object; GET /help lists the calls",
    405: "this path does not take that method; GET /help lists the calls",
}


def error_response(
    status: int,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """The one shape of an error answer."""
    error: dict[str, Any] = {"status": status, "message": message}
    if field is not None:
        error["field"] = field
    return web.json_response({"error": error}, status=status, headers=headers)


@web.middleware
async def json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Turns whatever the handler raised into a JSON error answer."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except ApiError as exc:
        headers = exc.headers if isinstance(exc, HeaderedError) else None
        return error_response(exc.status, exc.message, exc.field, headers)
    except web.HTTPRequestEntityTooLarge:
        limit = request.app[SETTINGS].max_body_bytes
        return error_response(413, too_large(request.content_length, limit))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k.lower() in {"allow", "retry-after"}}
        return error_response(exc.status, _REASONS.get(exc.status, exc.reason), None, headers)
    except Exception:
        log.exception("bridge HTTP %s %s failed", request.method, request.path)
        return error_response(
            500, "something went wrong on our side; it is logged. Try again in a minute."
        )
