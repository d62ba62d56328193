"""The SOP v1.0 calls over HTTP, against in-memory ports: one table row per behaviour.

Each row: the call, whose token, the body; the status, the field a 400 names, and whether a
port changed anything (an error never leaves anything half-done).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.http.app import build_app
from bridge.http.routes import ROUTES
from bridge.http.settings import BridgeHttpSettings
from bridge.http.table import Route
from tests.support.bridge_ports import Memory, memory

MANUS = {"Authorization": "Bearer t-manus"}


@asynccontextmanager
async def client_for(
    mem: Memory, settings: BridgeHttpSettings | None = None, **build: Any
) -> AsyncIterator[TestClient[Any, Any]]:
    app = build_app(mem.ports(**build), settings or BridgeHttpSettings(port=0))
    async with TestClient(TestServer(app)) as client:
        yield client


def seeded() -> Memory:
    """Task 1 free, task 2 claimed by wrtn, task 3 claimed by manus; request r1 is manus's."""
    mem = memory()
    mem.tasks.add("free")
    mem.tasks.add("taken", assigned="wrtn", status="in_progress")
    mem.tasks.add("mine", assigned="manus", status="in_progress")
    mem.executor.requests["r1"] = {"id": "r1", "agent": "manus", "state": "done", "output": "ok"}
    mem.executor.requests["r2"] = {"id": "r2", "agent": "wrtn", "state": "done"}
    return mem


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str
    status: int
    body: Any = None
    token: str | None = "t-manus"
    raw: bytes | None = None
    field: str | None = None
    changes: bool = False  # the ports changed something
    answer: dict[str, Any] = dc_field(default_factory=dict)  # keys the answer must hold


CASES = [
    # check-in
    Case(
        "checkin", "POST", "/api/agent/manus/checkin", 200, changes=True, answer={"success": True}
    ),
    Case("checkin any case", "POST", "/api/agent/Manus/checkin", 200, changes=True),
    Case("checkin as another", "POST", "/api/agent/wrtn/checkin", 403, field="name"),
    # tokens
    Case("no token", "GET", "/api/tasks", 401, token=None),
    Case("unknown token", "GET", "/api/tasks", 401, token="t-nobody"),
    # listing
    Case("list", "GET", "/api/tasks", 200, answer={"count": 3}),
    Case("list pending", "GET", "/api/tasks?status=pending", 200, answer={"count": 1}),
    Case("list limit", "GET", "/api/tasks?limit=2", 200, answer={"count": 2}),
    Case("list bad status", "GET", "/api/tasks?status=done", 400, field="status"),
    Case("list limit 0", "GET", "/api/tasks?limit=0", 400, field="limit"),
    Case("list limit word", "GET", "/api/tasks?limit=ten", 400, field="limit"),
    Case("list limit superscript", "GET", "/api/tasks?limit=%C2%B2", 400, field="limit"),
    Case("list limit 501", "GET", "/api/tasks?limit=501", 400, field="limit"),
    Case("get", "GET", "/api/tasks/1", 200, answer={"id": 1, "title": "free"}),
    Case("get unknown", "GET", "/api/tasks/99", 404),
    Case("get not a number", "GET", "/api/tasks/abc", 404),
    # creating
    Case(
        "create",
        "POST",
        "/api/tasks",
        201,
        {"title": "Renew TLS", "priority": "HIGH"},
        changes=True,
        answer={"title": "Renew TLS", "priority": "high", "status": "pending"},
    ),
    Case(
        "create default priority",
        "POST",
        "/api/tasks",
        201,
        {"title": "x"},
        changes=True,
        answer={"priority": "medium", "description": ""},
    ),
    Case(
        "create own name",
        "POST",
        "/api/tasks",
        201,
        {"title": "x", "agentname": "manus"},
        changes=True,
    ),
    Case("create no title", "POST", "/api/tasks", 400, {"description": "d"}, field="title"),
    Case("create blank title", "POST", "/api/tasks", 400, {"title": "  "}, field="title"),
    Case("create title a number", "POST", "/api/tasks", 400, {"title": 5}, field="title"),
    Case(
        "create bad priority",
        "POST",
        "/api/tasks",
        400,
        {"title": "x", "priority": "urgent"},
        field="priority",
    ),
    Case(
        "create description a list",
        "POST",
        "/api/tasks",
        400,
        {"title": "x", "description": ["a"]},
        field="description",
    ),
    Case(
        "create as another",
        "POST",
        "/api/tasks",
        403,
        {"title": "x", "agent_name": "wrtn"},
        field="agent_name",
    ),
    Case("create not JSON", "POST", "/api/tasks", 400, raw=b"title=x"),
    Case("create a JSON list", "POST", "/api/tasks", 400, [{"title": "x"}]),
    Case("create empty body", "POST", "/api/tasks", 400, raw=b"", field="title"),
    Case("create without token", "POST", "/api/tasks", 401, {"title": "x"}, token=None),
    # claiming
    Case(
        "claim",
        "POST",
        "/api/tasks/1/claim",
        200,
        {"agent_name": "manus"},
        changes=True,
        answer={"assigned": "manus", "status": "in_progress"},
    ),
    Case(
        "claim, SOP spelling",
        "POST",
        "/api/tasks/1/claim",
        200,
        {"agentname": "manus"},
        changes=True,
    ),
    Case("claim claimed", "POST", "/api/tasks/2/claim", 409, {"agent_name": "manus"}),
    Case("claim unknown", "POST", "/api/tasks/99/claim", 404, {"agent_name": "manus"}),
    Case("claim without name", "POST", "/api/tasks/1/claim", 400, {}, field="agent_name"),
    Case(
        "claim name a number",
        "POST",
        "/api/tasks/1/claim",
        400,
        {"agent_name": 7},
        field="agent_name",
    ),
    Case(
        "claim for another",
        "POST",
        "/api/tasks/1/claim",
        403,
        {"agent_name": "wrtn"},
        field="agent_name",
    ),
    Case(
        "claim with another's token",
        "POST",
        "/api/tasks/1/claim",
        403,
        {"agent_name": "manus"},
        token="t-wrtn",
        field="agent_name",
    ),
    # reporting
    Case(
        "report",
        "POST",
        "/api/tasks/3/report",
        200,
        {"agent_name": "manus", "progress": 50, "message": "half"},
        changes=True,
        answer={"success": True},
    ),
    Case(
        "report without progress",
        "POST",
        "/api/tasks/3/report",
        200,
        {"agent_name": "manus", "message": "half"},
        changes=True,
    ),
    Case(
        "report no message",
        "POST",
        "/api/tasks/3/report",
        400,
        {"agent_name": "manus"},
        field="message",
    ),
    Case(
        "report progress 150",
        "POST",
        "/api/tasks/3/report",
        400,
        {"agent_name": "manus", "progress": 150, "message": "m"},
        field="progress",
    ),
    Case(
        "report progress text",
        "POST",
        "/api/tasks/3/report",
        400,
        {"agent_name": "manus", "progress": "50", "message": "m"},
        field="progress",
    ),
    Case(
        "report progress true",
        "POST",
        "/api/tasks/3/report",
        400,
        {"agent_name": "manus", "progress": True, "message": "m"},
        field="progress",
    ),
    Case(
        "report on another's task",
        "POST",
        "/api/tasks/2/report",
        409,
        {"agent_name": "manus", "message": "m"},
    ),
    Case(
        "report unknown task",
        "POST",
        "/api/tasks/99/report",
        404,
        {"agent_name": "manus", "message": "m"},
    ),
    # completing
    Case(
        "complete",
        "POST",
        "/api/tasks/3/complete",
        200,
        {"agent_name": "manus", "result": "ok"},
        changes=True,
        answer={"status": "completed", "result": "ok"},
    ),
    Case(
        "complete no result",
        "POST",
        "/api/tasks/3/complete",
        400,
        {"agent_name": "manus"},
        field="result",
    ),
    Case(
        "complete another's",
        "POST",
        "/api/tasks/2/complete",
        409,
        {"agent_name": "manus", "result": "ok"},
    ),
    # messages
    Case(
        "say",
        "POST",
        "/api/messages",
        201,
        {"content": "Claude, look"},
        changes=True,
        answer={"success": True, "event_id": "$m1"},
    ),
    Case(
        "say in a thread",
        "POST",
        "/api/messages",
        201,
        {"content": "hi", "task_id": 3},
        changes=True,
    ),
    Case("say nothing", "POST", "/api/messages", 400, {"content": ""}, field="content"),
    Case(
        "say task_id text",
        "POST",
        "/api/messages",
        400,
        {"content": "x", "task_id": "3"},
        field="task_id",
    ),
    Case(
        "say to an unknown thread", "POST", "/api/messages", 404, {"content": "x", "task_id": 5000}
    ),
    # executor
    Case(
        "shell",
        "POST",
        "/api/executor/command",
        202,
        {"agent_name": "manus", "type": "shell", "payload": {"command": "df -h /"}},
        changes=True,
        answer={"request_id": "r3"},
    ),
    Case(
        "file_write",
        "POST",
        "/api/executor/command",
        202,
        {
            "agentname": "manus",
            "type": "file_write",
            "payload": {"host": "web", "path": "/etc/motd", "content": "", "mode": "0644"},
        },
        changes=True,
    ),
    Case(
        "bad type",
        "POST",
        "/api/executor/command",
        400,
        {"agent_name": "manus", "type": "reboot", "payload": {}},
        field="type",
    ),
    Case(
        "no payload",
        "POST",
        "/api/executor/command",
        400,
        {"agent_name": "manus", "type": "shell"},
        field="payload",
    ),
    Case(
        "payload a string",
        "POST",
        "/api/executor/command",
        400,
        {"agent_name": "manus", "type": "shell", "payload": "ls"},
        field="payload",
    ),
    Case(
        "shell without command",
        "POST",
        "/api/executor/command",
        400,
        {"agent_name": "manus", "type": "shell", "payload": {"cmd": "ls"}},
        field="payload.command",
    ),
    Case(
        "file_write without path",
        "POST",
        "/api/executor/command",
        400,
        {"agent_name": "manus", "type": "file_write", "payload": {"host": "web", "content": ""}},
        field="payload.path",
    ),
    Case(
        "file_write bad mode",
        "POST",
        "/api/executor/command",
        400,
        {
            "agent_name": "manus",
            "type": "file_write",
            "payload": {"host": "web", "path": "/x", "content": "", "mode": "rwx"},
        },
        field="payload.mode",
    ),
    Case(
        "command for another",
        "POST",
        "/api/executor/command",
        403,
        {"agent_name": "wrtn", "type": "shell", "payload": {"command": "ls"}},
        field="agent_name",
    ),
    Case("poll request", "GET", "/api/executor/requests/r1", 200, answer={"output": "ok"}),
    Case("poll another's request", "GET", "/api/executor/requests/r2", 404),
    Case("poll unknown request", "GET", "/api/executor/requests/zz", 404),
    # the rest
    Case("status", "GET", "/api/status", 200),
    Case("unknown path", "GET", "/api/nothing", 404, token=None),
    Case("wrong method", "DELETE", "/api/tasks", 405),
    Case(
        "help without token",
        "GET",
        "/api/openapi.json",
        200,
        token=None,
        answer={"openapi": "3.1.0"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_a_call_answers_as_the_sop_says(case: Case) -> None:
    mem = seeded()
    headers = {"Authorization": f"Bearer {case.token}"} if case.token else {}
    data = (
        case.raw
        if case.raw is not None
        else (json.dumps(case.body).encode() if case.body is not None else None)
    )
    async with client_for(mem) as client:
        response = await client.request(case.method, case.path, data=data, headers=headers)
        assert response.status == case.status, await response.text()
        assert response.content_type == "application/json"
        answer = await response.json()
    if case.status >= 400:
        error = answer["error"]
        assert error["status"] == case.status
        assert error["message"]
        assert error.get("field") == case.field
    for key, value in case.answer.items():
        assert answer[key] == value, (key, answer)
    assert (mem.effects.count > 0) is case.changes, mem.effects.log
    if case.status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_created_task_says_where_it_lives() -> None:
    mem = memory()
    async with client_for(mem) as client:
        response = await client.post("/api/tasks", json={"title": "x"}, headers=MANUS)
        task = await response.json()
        assert response.headers["Location"] == f"/api/tasks/{task['id']}"
        again = await client.get(response.headers["Location"], headers=MANUS)
        assert await again.json() == task


async def test_the_ports_get_what_was_sent() -> None:
    mem = seeded()
    async with client_for(mem) as client:
        await client.post(
            "/api/tasks/3/report", json={"agentname": "manus", "message": "m"}, headers=MANUS
        )
        await client.post(
            "/api/executor/command",
            headers=MANUS,
            json={
                "agent_name": "manus",
                "type": "file_write",
                "payload": {"host": "web", "path": "/x", "content": "", "junk": 1},
            },
        )
    assert mem.tasks.reports == [("manus", 3, "m", None)]
    assert mem.executor.requests["r3"]["payload"] == {"host": "web", "path": "/x", "content": ""}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/tasks", {"title": "once"}),
        ("/api/messages", {"content": "once"}),
        (
            "/api/executor/command",
            {"agent_name": "manus", "type": "shell", "payload": {"command": "ls"}},
        ),
    ],
)
async def test_a_retried_post_with_its_idempotency_key_is_one_effect(
    path: str, body: dict[str, Any]
) -> None:
    mem = memory()
    async with client_for(mem) as client:
        keyed = {**MANUS, "Idempotency-Key": "k-1"}
        first = await (await client.post(path, json=body, headers=keyed)).json()
        again = await (await client.post(path, json=body, headers=keyed)).json()
        assert first == again
        assert mem.effects.count == 1
        await client.post(path, json=body, headers=MANUS)  # no key: a new one each time
        await client.post(path, json=body, headers=MANUS)
        assert mem.effects.count == 3


@pytest.mark.parametrize("key", ["", " ", "x" * 201, "a\tb"])
async def test_a_bad_idempotency_key_is_named(key: str) -> None:
    mem = memory()
    async with client_for(mem) as client:
        response = await client.post(
            "/api/tasks", json={"title": "x"}, headers={**MANUS, "Idempotency-Key": key}
        )
        assert response.status == 400
        assert (await response.json())["error"]["field"] == "Idempotency-Key"
    assert mem.effects.count == 0


async def test_without_an_executor_its_calls_say_so() -> None:
    mem = memory()
    async with client_for(mem, executor=False) as client:
        response = await client.post(
            "/api/executor/command",
            headers=MANUS,
            json={"agent_name": "manus", "type": "shell", "payload": {"command": "ls"}},
        )
        assert response.status == 503
        assert "executor" in (await response.json())["error"]["message"]


async def test_a_broken_port_is_a_polite_500_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    mem = memory()
    mem.tasks.fail_with = RuntimeError("database is locked: /secret/path")
    async with client_for(mem) as client:
        response = await client.get("/api/tasks", headers=MANUS)
        assert response.status == 500
        text = await response.text()
    assert "secret" not in text
    assert json.loads(text)["error"]["message"]
    assert any(r.exc_info and "database is locked" in str(r.exc_info[1]) for r in caplog.records)


def _concrete(path: str) -> str:
    """The path with seeded ids: task 1 is free to claim, task 3 is manus's."""
    task = "1" if path.endswith("/claim") else "3"
    return path.replace(r"{id:\d+}", task).replace("{id}", "r1").replace("{name}", "manus")


@pytest.mark.parametrize("route", ROUTES, ids=[f"{r.method} {r.plain_path}" for r in ROUTES])
@pytest.mark.parametrize("token", [None, "t-nobody"])
async def test_every_call_but_the_public_ones_needs_a_known_token(
    route: Route, token: str | None
) -> None:
    mem = seeded()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with client_for(mem) as client:
        response = await client.request(
            route.method, _concrete(route.path), json=route.example, headers=headers
        )
        assert response.status == (401 if route.auth else 200)
    assert mem.effects.count == 0
    assert mem.council.listening == 0


POSTS = [r for r in ROUTES if r.method == "POST"]


@pytest.mark.parametrize("route", POSTS, ids=[r.plain_path for r in POSTS])
async def test_every_post_refuses_a_body_over_the_limit(route: Route) -> None:
    mem = seeded()
    settings = BridgeHttpSettings(port=0, max_body_bytes=1024)
    body = {**(route.example or {}), "padding": "x" * 2000}
    async with client_for(mem, settings) as client:
        response = await client.post(_concrete(route.path), json=body, headers=MANUS)
        assert response.status == 413
        assert (await response.json())["error"]["status"] == 413
    assert mem.effects.count == 0


@pytest.mark.parametrize("route", POSTS, ids=[r.plain_path for r in POSTS])
async def test_every_post_works_with_its_documented_example(route: Route) -> None:
    mem = seeded()
    async with client_for(mem) as client:
        response = await client.post(_concrete(route.path), json=route.example, headers=MANUS)
        assert response.status == route.status, await response.text()
    assert mem.effects.count == 1
