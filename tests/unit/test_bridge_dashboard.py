"""The master's dashboard over HTTP (aiohttp test client, in-memory ports): who may see it,
how he logs in, what a POST must carry, the new-task form, the live feed and the JSON."""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.http.app import build_app
from bridge.http.dashboard_session import COOKIE, LOGIN_BURST
from bridge.http.settings import BridgeHttpSettings
from tests.support.bridge_ports import MASTER_TOKEN, Memory, agent, memory
from tests.unit.test_bridge_http_events import read_event, wait_until

Client = TestClient[Any, Any]


@pytest.fixture
async def mem() -> Memory:
    return memory()


@pytest.fixture
async def client(mem: Memory) -> AsyncIterator[Client]:
    app = build_app(mem.ports(dashboard=True), BridgeHttpSettings(port=0, heartbeat_seconds=60))
    async with TestClient(TestServer(app)) as c:
        yield c


def origin(client: Client) -> dict[str, str]:
    return {"Origin": str(client.make_url("")).rstrip("/")}


async def log_in(client: Client) -> None:
    r = await client.post(
        "/dashboard/login",
        data={"token": MASTER_TOKEN},
        headers=origin(client),
        allow_redirects=False,
    )
    assert r.status == 303, await r.text()
    assert r.headers["Location"] == "/dashboard"


@pytest.mark.parametrize(
    ("path", "status", "location"),
    [
        ("/", 303, "/dashboard"),
        ("/dashboard", 303, "/dashboard/login"),
        ("/dashboard/login", 200, None),
        ("/dashboard/overview.json", 401, None),
        ("/dashboard/events", 401, None),
    ],
)
async def test_a_browser_without_a_session_is_sent_to_the_login(
    client: Client, path: str, status: int, location: str | None
) -> None:
    r = await client.get(path, allow_redirects=False)
    assert r.status == status
    assert r.headers.get("Location") == location
    if status == 401:
        assert "log in" in (await r.json())["error"]["message"]


async def test_the_token_logs_in_with_a_strict_http_only_cookie(client: Client) -> None:
    r = await client.post(
        "/dashboard/login",
        data={"token": f"  {MASTER_TOKEN} "},
        headers=origin(client),
        allow_redirects=False,
    )
    assert r.status == 303
    cookie = r.cookies[COOKIE]
    assert len(cookie.value) >= 43
    assert cookie["httponly"]
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/dashboard"
    assert not cookie["secure"]
    assert int(cookie["max-age"]) == 12 * 3600
    page = await client.get("/dashboard")
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Chavion council" in await page.text()


async def test_behind_https_the_cookie_is_secure(client: Client) -> None:
    url = client.make_url("")
    headers = {"X-Forwarded-Proto": "https", "Origin": f"https://{url.host}:{url.port}"}
    r = await client.post(
        "/dashboard/login", data={"token": MASTER_TOKEN}, headers=headers, allow_redirects=False
    )
    assert r.status == 303
    assert r.cookies[COOKIE]["secure"]


@pytest.mark.parametrize("token", ["", "wrong", "t-manus"])  # an agent's token is not his
async def test_a_wrong_token_shows_the_login_again_with_a_message(
    client: Client, mem: Memory, token: str
) -> None:
    r = await client.post(
        "/dashboard/login", data={"token": token}, headers=origin(client), allow_redirects=False
    )
    assert r.status == 401
    assert "not the dashboard token" in await r.text()
    assert COOKIE not in r.cookies
    assert mem.dashboard.logins == 0


async def test_a_one_time_link_logs_in_once(client: Client, mem: Memory) -> None:
    secret = mem.dashboard.link()
    first = await client.get(f"/dashboard/login?once={secret}", allow_redirects=False)
    # Not a 303: the link is clicked on another site, and a browser would not send the
    # SameSite=Strict cookie along that site's redirect chain (tests/browser shows it).
    assert first.status == 200
    assert '<meta http-equiv="refresh" content="0;url=/dashboard">' in await first.text()
    assert COOKIE in first.cookies
    assert (await client.get("/dashboard", allow_redirects=False)).status == 200
    client.session.cookie_jar.clear()
    again = await client.get(f"/dashboard/login?once={secret}", allow_redirects=False)
    assert again.status == 401
    assert "send !dashboard again" in await again.text()
    assert COOKIE not in again.cookies
    assert (await client.get("/dashboard", allow_redirects=False)).status == 303


async def test_failed_logins_from_one_address_are_held_back(client: Client) -> None:
    for _ in range(LOGIN_BURST):
        r = await client.post("/dashboard/login", data={"token": "x"}, headers=origin(client))
        assert r.status == 401
    r = await client.post("/dashboard/login", data={"token": "x"}, headers=origin(client))
    assert r.status == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert "too many failed logins" in await r.text()
    # Now even the right token waits, and a one-time link too.
    r = await client.post("/dashboard/login", data={"token": MASTER_TOKEN}, headers=origin(client))
    assert r.status == 429
    r = await client.get("/dashboard/login?once=anything")
    assert r.status == 429


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/dashboard/login", {"token": MASTER_TOKEN}),
        ("/dashboard/tasks", {"title": "forged"}),
        ("/dashboard/logout", {}),
    ],
)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": "http://evil.example"},
        {"Referer": "http://evil.example/x"},
        {"Origin": "null"},
    ],
)
async def test_a_post_from_another_site_is_refused(
    client: Client, mem: Memory, path: str, data: dict[str, str], headers: dict[str, str]
) -> None:
    await log_in(client)
    before = (mem.effects.count, mem.dashboard.logins)
    r = await client.post(path, data=data, headers=headers, allow_redirects=False)
    assert r.status == 403
    assert "dashboard's own page" in (await r.json())["error"]["message"]
    assert (mem.effects.count, mem.dashboard.logins) == before
    assert (await client.get("/dashboard", allow_redirects=False)).status == 200  # still in


async def test_logout_ends_the_session(client: Client) -> None:
    await log_in(client)
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/dashboard"))[COOKIE].value
    r = await client.post("/dashboard/logout", headers=origin(client), allow_redirects=False)
    assert r.status == 303
    assert r.headers["Location"] == "/dashboard/login"
    # The old cookie, kept by someone, opens nothing any more.
    client.session.cookie_jar.update_cookies({COOKIE: cookie}, client.make_url("/dashboard"))
    assert (await client.get("/dashboard", allow_redirects=False)).status == 303


async def test_the_form_creates_a_task_through_the_desk_and_says_so_once(
    client: Client, mem: Memory
) -> None:
    await log_in(client)
    form = {"title": "Rotate keys", "description": "all hosts", "priority": "high", "key": "k1"}
    r = await client.post(
        "/dashboard/tasks", data=form, headers=origin(client), allow_redirects=False
    )
    assert r.status == 303
    assert r.headers["Location"] == "/dashboard"
    (task,) = mem.tasks.tasks.values()
    assert (task.title, task.description, task.priority) == ("Rotate keys", "all hosts", "high")
    assert mem.effects.log == [("create", "master", task.id)]
    page = await (await client.get("/dashboard")).text()
    assert f"Task #{task.id} created: Rotate keys" in page
    assert 'id="task-1"' in page
    assert "created: Rotate keys" not in await (await client.get("/dashboard")).text()
    # The same form sent twice (a double tap, a retry) is one task.
    await client.post("/dashboard/tasks", data=form, headers=origin(client))
    assert len(mem.tasks.tasks) == 1


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"title": "  "}, 400, "needs a title"),
        ({"title": "x" * 301}, 400, "at most 300"),
        ({"title": "t", "description": "d" * 8001}, 400, "at most 8000"),
        ({"title": "t", "priority": "urgent"}, 400, "Priority must be one of low, medium, high"),
        ({"title": "refused"}, 400, "the intake refused this title"),  # the desk's ApiError
    ],
)
async def test_a_bad_form_shows_why_and_keeps_what_was_typed(
    client: Client, mem: Memory, form: dict[str, str], status: int, message: str
) -> None:
    await log_in(client)
    sent = {"description": "keep me <3", "key": "k9", **form}
    r = await client.post("/dashboard/tasks", data=sent, headers=origin(client))
    assert r.status == status
    page = await r.text()
    assert message in page
    for typed in (sent["title"].strip(), sent["description"]):
        assert html.escape(typed) in page  # nothing he typed is lost
    assert 'name="key" value="k9"' in page
    assert mem.effects.count == 0


async def test_the_form_without_a_session_goes_to_the_login(client: Client, mem: Memory) -> None:
    r = await client.post(
        "/dashboard/tasks", data={"title": "t"}, headers=origin(client), allow_redirects=False
    )
    assert r.status == 303
    assert r.headers["Location"] == "/dashboard/login"
    assert mem.effects.count == 0


async def test_overview_json_has_what_the_page_shows(client: Client, mem: Memory) -> None:
    mem.tasks.add("first")
    await log_in(client)
    r = await client.get("/dashboard/overview.json")
    assert r.status == 200
    body = await r.json()
    assert body["zone"] == "Asia/Seoul"
    assert [t["title"] for t in body["tasks"]] == ["first"]
    assert {a["name"] for a in body["agents"]} == {"claude", "manus"}
    assert [r["days"] for r in body["rates"]] == [7, 30]
    assert {"hosts", "activity", "room_url"} <= body.keys()


async def test_the_page_is_gzipped_for_a_browser_that_accepts_it(
    client: Client, mem: Memory
) -> None:
    for n in range(50):
        mem.tasks.add(f"task {n}")
    await log_in(client)
    r = await client.get("/dashboard", headers={"Accept-Encoding": "gzip"})
    assert r.headers.get("Content-Encoding") == "gzip"
    assert r.headers["Cache-Control"] == "no-store"


async def test_the_page_runs_only_its_own_script_and_cannot_be_framed(client: Client) -> None:
    await log_in(client)
    r = await client.get("/dashboard")
    csp = r.headers["Content-Security-Policy"]
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in await r.text()
    for rule in ("default-src 'none'", "frame-ancestors 'none'", "form-action 'self'"):
        assert rule in csp
    again = await client.get("/dashboard")
    assert nonce not in again.headers["Content-Security-Policy"]  # a new one each answer
    login = await client.get("/dashboard/login?once=nope")
    assert "script-src 'none'" in login.headers["Content-Security-Policy"]


async def test_the_dashboard_is_not_in_the_api_documentation(client: Client) -> None:
    help_text = await (await client.get("/help")).text()
    spec = await (await client.get("/api/openapi.json")).json()
    assert "/dashboard" not in help_text
    assert not [p for p in spec["paths"] if p == "/" or p.startswith("/dashboard")]


async def test_without_a_dashboard_desk_there_are_no_pages() -> None:
    app = build_app(memory().ports(), BridgeHttpSettings(port=0))
    async with TestClient(TestServer(app)) as c:
        assert (await c.get("/dashboard", allow_redirects=False)).status == 404
        assert (await c.get("/", allow_redirects=False)).status == 404


@pytest.mark.parametrize(
    ("cause", "kind", "contains"),
    [
        ("say", "message", ["manus", "hello council"]),
        ("create", "task", ['id="task-1"', "from the API"]),
    ],
)
async def test_the_event_stream_carries_each_change_with_its_row(
    client: Client, mem: Memory, cause: str, kind: str, contains: list[str]
) -> None:
    await log_in(client)
    r = await client.get("/dashboard/events")
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/event-stream")
    await wait_until(lambda: mem.dashboard.listening == 1)
    if cause == "say":
        await mem.council.say(agent("manus"), "hello council", None, "k")
    else:
        await mem.tasks.create(agent("manus"), "from the API", "", "medium", "k")
    event = await asyncio.wait_for(read_event(r.content), 5)
    assert event["event"] == kind
    data = json.loads(event["data"])
    assert data["kind"] == kind
    for part in contains:
        assert part in data["html"]
    if kind == "task":
        assert data["section"] == "open"
    r.close()
    await wait_until(lambda: mem.dashboard.listening == 0)
    assert mem.dashboard.closed == 1
