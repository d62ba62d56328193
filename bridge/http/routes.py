"""The one route table: the app registers these, `/help` and the OpenAPI document read them."""

from __future__ import annotations

from bridge.http import api_agents, api_events, api_executor, api_tasks
from bridge.http.api_executor import KINDS
from bridge.http.api_tasks import PRIORITIES, SOP_STATUSES
from bridge.http.help import help_page
from bridge.http.openapi import openapi
from bridge.http.table import AGENT_NAME, Field, Query, Route

_ID = r"{id:\d+}"
_TASK = {
    "id": 12,
    "title": "Renew the TLS certificate",
    "description": "",
    "priority": "medium",
    "status": "pending",
    "state": "pending",
    "assigned": None,
    "created_at": 1764800000.0,
    "completed_at": None,
    "thread_url": "https://matrix.to/#/!room:example.org/$event",
    "result": None,
}
_OK = {"success": True}

ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/help",
        help_page,
        "This page: the API in plain words, with curl examples.",
        auth=False,
    ),
    Route(
        "GET",
        "/api/openapi.json",
        openapi,
        "The OpenAPI 3.1 document of every call.",
        auth=False,
    ),
    Route(
        "POST",
        "/api/agent/{name}/checkin",
        api_agents.checkin,
        "Say you are online; the council sees you as online with your last-seen time.",
        agent_in_path=True,
        errors=(401, 403, 429),
        answer=_OK,
    ),
    Route(
        "GET",
        "/api/tasks",
        api_tasks.list_tasks,
        "List tasks (newest first): id, title, description, priority, status, assigned "
        "agent, created/completed times, thread link.",
        query=(
            Query("status", "string", "only tasks with this SOP status", SOP_STATUSES),
            Query("limit", "integer", "at most this many (default 50, at most 500)"),
        ),
        errors=(400, 401, 429),
        answer={"tasks": [_TASK], "count": 1},
    ),
    Route(
        "POST",
        "/api/tasks",
        api_tasks.create_task,
        "Register a task, exactly as `//chavion_task:` from you in the council room would: "
        "it appears in the room as your message and gets its thread.",
        body=(
            Field("title", "string", required=True, doc="what should be done, one line"),
            Field("description", "string", nonempty=False, default="", doc="details"),
            Field(
                "priority",
                "string",
                choices=PRIORITIES,
                default="medium",
                doc="low, medium (default) or high",
            ),
            Field(
                "agent_name",
                "string",
                aliases=("agentname",),
                doc="optional; if sent, must be the token's agent",
            ),
        ),
        agent_field=True,
        status=201,
        errors=(400, 401, 403, 413, 429),
        example={
            "title": "Renew the TLS certificate",
            "description": "expires Friday",
            "priority": "high",
        },
        answer={**_TASK, "description": "expires Friday", "priority": "high"},
    ),
    Route(
        "GET",
        f"/api/tasks/{_ID}",
        api_tasks.get_task,
        "Read one task.",
        errors=(401, 404, 429),
        answer=_TASK,
    ),
    Route(
        "POST",
        f"/api/tasks/{_ID}/claim",
        api_tasks.claim_task,
        "Claim a task: it is assigned to you (like `!assign`). 409 if someone has it.",
        body=(AGENT_NAME,),
        agent_field=True,
        errors=(400, 401, 403, 404, 409, 429),
        example={"agent_name": "manus"},
        answer={**_TASK, "assigned": "manus"},
    ),
    Route(
        "POST",
        f"/api/tasks/{_ID}/report",
        api_tasks.report_task,
        "Report progress: your message is posted in the task's thread.",
        body=(
            AGENT_NAME,
            Field("message", "string", required=True, doc="what you did, what is next"),
            Field("progress", "integer", low=0, high=100, doc="percent done, 0..100"),
        ),
        agent_field=True,
        errors=(400, 401, 403, 404, 409, 429),
        example={"agent_name": "manus", "progress": 50, "message": "CSR sent to the CA"},
        answer=_OK,
    ),
    Route(
        "POST",
        f"/api/tasks/{_ID}/complete",
        api_tasks.complete_task,
        "Complete a task you claimed: the result is posted in the thread and the "
        "coordinator completes it.",
        body=(AGENT_NAME, Field("result", "string", required=True, doc="the outcome")),
        agent_field=True,
        errors=(400, 401, 403, 404, 409, 429),
        example={"agent_name": "manus", "result": "Renewed; valid until 2027-03-01"},
        answer={
            **_TASK,
            "status": "completed",
            "state": "completed",
            "assigned": "manus",
            "result": "Renewed; valid until 2027-03-01",
        },
    ),
    Route(
        "POST",
        "/api/messages",
        api_agents.post_message,
        "Speak in the council room, or in a task's thread with task_id; addressing rules "
        "apply as for any message (start with an agent's name to address it).",
        body=(
            Field("content", "string", required=True, doc="the message text"),
            Field("task_id", "integer", low=1, doc="post in this task's thread"),
        ),
        status=201,
        errors=(400, 401, 404, 413, 429),
        example={"content": "Claude, can you check the backup logs?"},
        answer={"success": True, "event_id": "$abc123"},
    ),
    Route(
        "POST",
        "/api/executor/command",
        api_executor.submit,
        "Ask the executor to run a command or write a file: the same policy, approval and "
        "audit as any request. Answers 202 with the request id; poll it below.",
        body=(
            AGENT_NAME,
            Field("type", "string", required=True, choices=KINDS, doc="shell or file_write"),
            Field(
                "payload",
                "object",
                required=True,
                doc='shell: {"command", "host"?}; file_write: {"host", "path", "content", "mode"?}',
            ),
        ),
        agent_field=True,
        status=202,
        errors=(400, 401, 403, 413, 429, 503),
        example={"agent_name": "manus", "type": "shell", "payload": {"command": "df -h /"}},
        answer={"success": True, "request_id": "r-7f3a"},
    ),
    Route(
        "GET",
        "/api/executor/requests/{id}",
        api_executor.get_request,
        "Poll an executor request of yours: its state, and its output once it ran.",
        errors=(401, 404, 429, 503),
        answer={"id": "r-7f3a", "state": "awaiting_approval"},
    ),
    Route(
        "GET",
        "/api/events",
        api_events.events,
        "Listen: server-sent events (text/event-stream) with messages addressed to you, "
        "task changes and executor results. Keep the connection open. Each event's id is "
        "its cursor: reconnect with the header Last-Event-ID (or ?last_event_id=) set to "
        "the last one you got, and what came meanwhile comes first (a `gap` event says when "
        "some of it is no longer kept).",
        errors=(401, 429),
        stream=True,
    ),
    Route(
        "GET",
        "/api/status",
        api_agents.status,
        "The council at a glance: agents (online/working/offline, last seen, current "
        "task), the last messages, tasks.",
        errors=(401, 429),
    ),
)
