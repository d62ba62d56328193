"""The task calls of SOP v1.0: list, read, create, claim, report, complete.

Each one is a single port call after `calls.wrap` checked everything; the port does what
the Matrix command would (the same intake, the same thread).
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from aiohttp import web

from bridge.http.calls import path_int
from bridge.http.ports import ApiError, TaskView
from bridge.http.state import SETTINGS
from bridge.http.table import Call

SOP_STATUSES = ("pending", "in_progress", "completed")
PRIORITIES = ("low", "medium", "high")
_DIGITS = re.compile(r"[0-9]{1,6}")  # not str.isdigit: "²" is a digit to it, not to int()


def task_json(view: TaskView) -> dict[str, Any]:
    """A task as the API answers it (every field of TaskView)."""
    return asdict(view)


def _limit(call: Call) -> int:
    settings = call.request.app[SETTINGS]
    raw = call.request.query.get("limit")
    if raw is None:
        return settings.list_limit
    if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= settings.max_list_limit:
        raise ApiError(
            400, f"`limit` must be a whole number within 1..{settings.max_list_limit}", "limit"
        )
    return int(raw)


def _status(call: Call) -> str | None:
    raw = call.request.query.get("status")
    if raw is None or not raw.strip():
        return None
    word = raw.strip().lower()
    if word not in SOP_STATUSES:
        raise ApiError(
            400, f"`status` must be one of {', '.join(SOP_STATUSES)}, not {raw!r}", "status"
        )
    return word


async def list_tasks(call: Call) -> web.StreamResponse:
    tasks = await call.ports.tasks.list(_status(call), _limit(call))
    return web.json_response({"tasks": [task_json(t) for t in tasks], "count": len(tasks)})


async def get_task(call: Call) -> web.StreamResponse:
    task_id = path_int(call, "id")
    view = await call.ports.tasks.get(task_id)
    if view is None:
        raise ApiError(404, f"no task #{task_id}")
    return web.json_response(task_json(view))


async def create_task(call: Call) -> web.StreamResponse:
    b = call.body
    view = await call.ports.tasks.create(
        call.me, b["title"].strip(), (b["description"] or "").strip(), b["priority"], call.key
    )
    return web.json_response(
        task_json(view), status=201, headers={"Location": f"/api/tasks/{view.id}"}
    )


async def claim_task(call: Call) -> web.StreamResponse:
    view = await call.ports.tasks.claim(call.me, path_int(call, "id"))
    return web.json_response(task_json(view))


async def report_task(call: Call) -> web.StreamResponse:
    b = call.body
    await call.ports.tasks.report(call.me, path_int(call, "id"), b["message"], b["progress"])
    return web.json_response({"success": True})


async def complete_task(call: Call) -> web.StreamResponse:
    view = await call.ports.tasks.complete(call.me, path_int(call, "id"), call.body["result"])
    return web.json_response(task_json(view))
