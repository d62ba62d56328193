"""`GET /api/events`: server-sent events reach the agent, heartbeats keep a quiet stream
alive, and the stream ends cleanly (the port's listener closed) when the client leaves or
the server stops."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.http.api_events import sse_frame
from bridge.http.app import build_app, serve
from bridge.http.settings import BridgeHttpSettings
from tests.support.bridge_ports import Memory, memory

MANUS = {"Authorization": "Bearer t-manus"}


async def wait_until(check: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def read_event(content: aiohttp.StreamReader) -> dict[str, str]:
    """The next block with `data:`, skipping comments and the opening `retry:`."""
    fields: dict[str, str] = {}
    while True:
        line = (await content.readline()).decode().rstrip("\n")
        if not line:
            if "data" in fields:
                return fields
            fields = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(": ")
        fields[name] = value


def app_of(mem: Memory, heartbeat: float = 15.0) -> Any:
    return build_app(mem.ports(), BridgeHttpSettings(port=0, heartbeat_seconds=heartbeat))


@pytest.mark.parametrize(
    ("published", "frame"),
    [
        ({"type": "message", "sender": "claude", "body": "manus, 안녕"}, "message"),
        ({"type": "task", "id": 3, "state": "completed"}, "task"),
        ({"type": "executor", "request_id": "r1", "exit_status": 0}, "executor"),
        ({"body": "no type"}, "message"),
    ],
)
async def test_an_event_for_the_agent_arrives_as_sse(published: dict[str, Any], frame: str) -> None:
    mem = memory()
    async with TestClient(TestServer(app_of(mem))) as client:
        response = await client.get("/api/events", headers=MANUS)
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        await wait_until(lambda: mem.council.listening == 1)
        mem.council.publish("wrtn", {"type": "message", "body": "not for manus"})
        mem.council.publish("manus", published)
        event = await read_event(response.content)
        assert event["event"] == frame
        assert json.loads(event["data"]) == {**published, "cursor": "mem-2"}
        assert event["id"] == "mem-2", "the id is the event's cursor, for Last-Event-ID"
        response.close()
    await wait_until(lambda: mem.council.closed == 1)


@pytest.mark.parametrize(
    ("path", "headers", "after"),
    [
        ("/api/events", {}, None),
        ("/api/events", {"Last-Event-ID": "ab12-7"}, "ab12-7"),
        ("/api/events", {"Last-Event-ID": "  ab12-7 "}, "ab12-7"),
        ("/api/events", {"Last-Event-ID": ""}, None),
        ("/api/events?last_event_id=ab12-9", {}, "ab12-9"),
        ("/api/events?last_event_id=ab12-9", {"Last-Event-ID": "ab12-7"}, "ab12-7"),
        ("/api/events", {"Last-Event-ID": "x" * 500}, "x" * 100),
    ],
    ids=["fresh", "header", "trimmed", "empty", "query", "header first", "capped"],
)
async def test_a_reconnecting_listener_says_where_it_left_off(
    path: str, headers: dict[str, str], after: str | None
) -> None:
    mem = memory()
    async with TestClient(TestServer(app_of(mem))) as client:
        response = await client.get(path, headers={**MANUS, **headers})
        assert response.status == 200
        await wait_until(lambda: mem.council.listening == 1)
        response.close()
    assert mem.council.afters == [after]


@pytest.mark.parametrize(
    ("event", "frame"),
    [
        (
            {"type": "task", "cursor": "ab12-3"},
            b'id: ab12-3\nevent: task\ndata: {"type":"task","cursor":"ab12-3"}\n\n',
        ),
        (
            {"type": "gap", "message": "m"},
            b'event: gap\ndata: {"type":"gap","message":"m"}\n\n',
        ),
    ],
    ids=["with a cursor", "a gap keeps the client's last id"],
)
def test_an_events_id_is_its_cursor(event: dict[str, Any], frame: bytes) -> None:
    assert sse_frame(event, 5) == frame


async def test_a_quiet_stream_gets_heartbeats() -> None:
    mem = memory()
    async with TestClient(TestServer(app_of(mem, heartbeat=0.05))) as client:
        response = await client.get("/api/events", headers=MANUS)
        lines = [await response.content.readline() for _ in range(7)]
        assert lines[:3] == [b": connected\n", b"retry: 3000\n", b"\n"]  # reconnect in 3 s
        assert lines.count(b": heartbeat\n") >= 2
        response.close()


@pytest.mark.parametrize("heartbeat", [0.05, 60.0])
async def test_a_client_that_leaves_ends_the_stream_and_its_listener_soon(
    heartbeat: float,
) -> None:
    mem = memory()
    async with TestClient(TestServer(app_of(mem, heartbeat=heartbeat))) as client:
        for _ in range(3):
            response = await client.get("/api/events", headers=MANUS)
            await wait_until(lambda: mem.council.listening == 1)
            response.close()
            await wait_until(lambda: mem.council.listening == 0, seconds=2.0)
        assert mem.council.closed == 3


async def test_stopping_the_server_ends_open_streams_at_once() -> None:
    mem = memory()
    settings = BridgeHttpSettings(port=0)
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as session:
        async with serve(app_of(mem), settings) as where:
            response = await session.get(f"{where.url}/api/events", headers=MANUS)
            await wait_until(lambda: mem.council.listening == 1)
            started = loop.time()
        assert loop.time() - started < 2.0  # not the 60 s of aiohttp's default shutdown
        assert mem.council.closed == 1
        response.close()


async def test_a_broken_feed_ends_the_stream_with_an_error_event(
    caplog: pytest.LogCaptureFixture,
) -> None:
    mem = memory()
    mem.council.break_after = 1
    async with TestClient(TestServer(app_of(mem))) as client:
        response = await client.get("/api/events", headers=MANUS)
        await wait_until(lambda: mem.council.listening == 1)
        mem.council.publish("manus", {"type": "message", "body": "one"})
        assert json.loads((await read_event(response.content))["data"])["body"] == "one"
        error = await read_event(response.content)
        assert error["event"] == "error"
        assert "Reconnect" in json.loads(error["data"])["message"]
        assert await response.content.read() == b""  # and the stream ends
    assert mem.council.closed == 1
    assert any("feed broke" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


async def test_events_need_a_token() -> None:
    mem = memory()
    async with TestClient(TestServer(app_of(mem))) as client:
        response = await client.get("/api/events")
        assert response.status == 401
    assert mem.council.listening == 0
