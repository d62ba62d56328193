"""The master's dashboard end to end (issue 18): the real server the coordinator serves, its
pages through aiohttp's client on loopback, against the suite's real Synapse.

`!dashboard` from the master's own client answers with a one-time link that logs in once;
the overview shows a task an external agent created through the API and every agent; the
new-task form is the master's own order, posted by the coordinator and taken in by the
one intake; the live feed delivers what is said in the room. Assertions are on HTTP
answers, what the master's client receives and the store's task table.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import yaml

from bots.settings.loading import load_settings
from bots.store import Store
from tests.browser.chromium import ARTIFACTS, CHROMIUM, MISSING, chromium
from tests.integration.test_bridge_api import (
    MANUS,
    WRTN,
    Bridge,
    bridge_config,
    call,
    seen_from,
)
from tests.support.council import InProcessBots, ThrowawayCouncil
from tests.support.person import Person
from tests.support.task_db import TaskDb
from tests.support.tasks import (
    cancel_open_tasks,
    give_back_coordinator,
    in_thread,
    take_over_coordinator,
)

pytestmark = pytest.mark.integration

LINK = re.compile(r"(http://\S+/dashboard/login\?once=[\w-]+)")


@pytest.fixture(scope="module")
async def bridge(
    council: ThrowawayCouncil,
    coordinator: InProcessBots,
    master: Person,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Bridge]:
    """The suite's council with the bridge on (and so the dashboard), Manus as an external
    agent with a token, the master with a dashboard token of his own."""
    path = bridge_config(council, tmp_path_factory.mktemp("dashboard") / "chavion.yaml")
    config: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["bridge"]["agents"] = config["bridge"]["agents"][:1]  # Manus only
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    settings = load_settings(path)
    await ThrowawayCouncil.provision_with(settings, council.secret)
    async with await Store.open(council.data.store) as store:
        tokens = {
            MANUS: await store.bridge_tokens.issue(MANUS, time.time()),
            ":master": await store.dashboard_links.issue_master_token(time.time()),
        }
    await take_over_coordinator(coordinator)
    try:
        bots = await InProcessBots.start(settings, ["coordinator", "executor"])
        try:
            [server] = [b.bridge for b in bots.runner.bots if b.bridge is not None]
            await asyncio.wait_for(server.ready.wait(), 60)
            assert server.listening is not None
            manus_id = settings.user_id(settings.bridge.agents[0].account)
            await master.sees_devices_of(manus_id, council.user_id("coordinator"))
            yield Bridge(
                server.listening.url,
                settings,
                bots,
                server,
                tokens,
                manus_id,
                TaskDb(council.data.store),
            )
        finally:
            await cancel_open_tasks(bots, settings)  # none goes on in later modules
            await bots.stop()
    finally:
        await give_back_coordinator(coordinator, council.settings)


def browser() -> aiohttp.ClientSession:
    """A client that keeps cookies as a browser does, also from 127.0.0.1."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def logged_in(bridge: Bridge) -> aiohttp.ClientSession:
    """A browser logged in with the master's dashboard token (through the login form)."""
    session = browser()
    async with session.post(
        bridge.url + "/dashboard/login",
        data={"token": bridge.tokens[":master"]},
        headers={"Origin": bridge.url},
        allow_redirects=False,
    ) as response:
        assert response.status == 303, await response.text()
    return session


async def overview(session: aiohttp.ClientSession, bridge: Bridge) -> dict[str, Any]:
    async with session.get(bridge.url + "/dashboard/overview.json") as response:
        assert response.status == 200, await response.text()
        found: dict[str, Any] = await response.json()
        return found


async def test_dashboard_link_logs_in_once_and_not_twice(
    bridge: Bridge, master: Person, council: ThrowawayCouncil
) -> None:
    await master.say(council.council_room, "!dashboard")
    coordinator = bridge.settings.user_id(bridge.settings.coordinator)
    said = await seen_from(master, coordinator, lambda s: "once=" in s.body, "the link")
    assert said.content["msgtype"] == "m.notice"
    found = LINK.search(said.body)
    assert found is not None, said.body
    link = found[1]
    assert link.startswith(bridge.url + "/dashboard/login?once=")
    async with browser() as first:
        async with first.get(link, allow_redirects=False) as response:
            # A page that moves on to /dashboard itself (see bridge.http.dashboard._log_in).
            assert response.status == 200, await response.text()
            assert "chavion_dash" in response.headers["Set-Cookie"]
        async with first.get(bridge.url + "/dashboard") as page:
            assert page.status == 200
            assert "<html" in (await page.text()).lower()
    async with browser() as second:
        async with second.get(link, allow_redirects=False) as response:
            assert response.status == 401
            assert "already used or has expired" in await response.text()
        async with second.get(bridge.url + "/dashboard/overview.json") as refused:
            assert refused.status == 401


async def test_overview_shows_a_task_created_through_the_api_and_the_agents(
    bridge: Bridge,
) -> None:
    async with aiohttp.ClientSession() as http:
        code, task = await call(
            http,
            bridge,
            "POST",
            "/api/tasks",
            {"title": "Count the backups", "priority": "low"},
        )
        assert code == 201, task
        code, _ = await call(http, bridge, "POST", f"/api/agent/{MANUS}/checkin")
        assert code == 200
        # /api/status's last messages hold what Manus said itself (its own voice hears it).
        deadline = time.monotonic() + 30
        while True:
            code, status = await call(http, bridge, "GET", "/api/status")
            assert code == 200
            if any("Count the backups" in m["body"] for m in status["messages"]):
                break
            assert time.monotonic() < deadline, status["messages"]
            await asyncio.sleep(0.2)
    session = await logged_in(bridge)
    async with session:
        seen = await overview(session, bridge)
    shown = {t["id"]: t for t in seen["tasks"]}
    assert shown[task["id"]]["title"] == "Count the backups"
    assert shown[task["id"]]["thread_url"].startswith("https://matrix.to/#/")
    agents = {a["name"]: a for a in seen["agents"]}
    assert set(agents) == {MANUS} | {a.name for a in bridge.settings.agents}
    assert (agents[MANUS]["external"], agents[MANUS]["status"]) == (True, "online")
    assert WRTN not in agents
    assert all(isinstance(a["spent_today"], float) for a in agents.values())
    assert [r["days"] for r in seen["rates"]] == [7, 30]
    assert seen["zone"] == bridge.settings.timezone
    assert [h["name"] for h in seen["hosts"]] == list(bridge.settings.execution.hosts)
    # The executor runs in this process: `local` is probed over its own connection.
    local = {h["name"]: h for h in seen["hosts"]}["local"]
    assert (local["reachable"], local["error"]) == (True, None), local
    assert local["cpus"] >= 1
    assert local["load"] >= 0
    assert 0 < local["memory_pct"] <= 100
    assert 0 < local["disk_pct"] <= 100


async def test_the_forms_task_is_the_masters_order_in_the_room(
    bridge: Bridge, master: Person
) -> None:
    session = await logged_in(bridge)
    form = {
        "title": "Check the certificates",
        "description": "Which expire this month?",
        "priority": "high",
        "key": "form-1",
    }
    async with session:
        for _ in range(2):  # sent twice (a double tap): one task
            async with session.post(
                bridge.url + "/dashboard/tasks",
                data=form,
                headers={"Origin": bridge.url},
                allow_redirects=False,
            ) as response:
                assert response.status == 303, await response.text()
        async with session.post(
            bridge.url + "/dashboard/tasks", data=form, allow_redirects=False
        ) as forged:
            assert forged.status == 403  # no Origin: not from the dashboard's page
        seen = await overview(session, bridge)
    made = [t for t in seen["tasks"] if t["title"] == "Check the certificates"]
    assert len(made) == 1
    n = made[0]["id"]
    coordinator = bridge.settings.user_id(bridge.settings.coordinator)
    root = await seen_from(
        master,
        coordinator,
        lambda s: "order from the dashboard" in s.body and "Check the certificates" in s.body,
        "the order's thread root",
    )
    await seen_from(
        master,
        coordinator,
        lambda s: in_thread(root.event_id)(s) and f"#{n}" in s.body,
        "the coordinator's acknowledgement in the order's thread",
    )
    row = await bridge.db.task(n)
    assert row is not None
    assert (row["source"], row["requester"], row["priority"]) == (
        "dashboard",
        master.user_id,
        "high",
    )
    assert row["thread_root"] == root.event_id


async def test_the_live_feed_delivers_a_room_message(
    bridge: Bridge, master: Person, council: ThrowawayCouncil
) -> None:
    session = await logged_in(bridge)
    async with session, session.get(bridge.url + "/dashboard/events") as stream:
        assert stream.status == 200
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        await master.say(council.council_room, "A word for the dashboard's feed")
        event = await asyncio.wait_for(next_message(stream), 30)
    assert event["body"] == "A word for the dashboard's feed"
    assert event["html"]


async def next_message(stream: aiohttp.ClientResponse) -> dict[str, Any]:
    """The next `message` event whose body is the master's word (others may come first)."""
    kind = ""
    while True:
        line = (await stream.content.readline()).decode().strip()
        if line.startswith("event:"):
            kind = line.removeprefix("event:").strip()
        elif line.startswith("data:") and kind == "message":
            found: dict[str, Any] = json.loads(line.removeprefix("data:"))
            if "dashboard's feed" in found["body"]:
                return found


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason=MISSING)
async def test_the_master_runs_the_real_dashboard_in_chromium(
    bridge: Bridge, master: Person, council: ThrowawayCouncil
) -> None:
    """What the master sees on his phone, on the real stack: the link `!dashboard` gave him,
    a task an external agent creates over HTTP arriving without a reload, what is said in
    the room in the activity, and his form's order reaching the room through the intake."""
    asked = await master.say(council.council_room, "!dashboard")
    coordinator = bridge.settings.user_id(bridge.settings.coordinator)
    said = await seen_from(
        master, coordinator, lambda s: s.in_reply_to == asked and "once=" in s.body, "the link"
    )
    found = LINK.search(said.body)
    assert found is not None, said.body
    async with chromium() as browser_:
        page = await browser_.new_page(viewport={"width": 390, "height": 844})
        await page.goto(found[1])
        await page.wait_for_url(bridge.url + "/dashboard")
        await page.locator("#live").filter(has_text="live").wait_for(timeout=15_000)
        await page.evaluate("window.sameDocument = true")  # gone if the page reloads

        async with aiohttp.ClientSession() as http:
            code, task = await call(
                http, bridge, "POST", "/api/tasks", {"title": "Rotate the logs (cvxlive)"}
            )
        assert code == 201, task
        await page.locator("#tasks-open li", has_text="Rotate the logs (cvxlive)").wait_for(
            timeout=30_000
        )
        await master.say(council.council_room, "Seen from the phone (cvxactivity)")
        await page.locator("#activity li", has_text="cvxactivity").wait_for(timeout=30_000)
        assert await page.evaluate("window.sameDocument === true")

        await page.fill("#new-task input[name=title]", "Renew the certificate (cvxform)")
        await page.select_option("#new-task select[name=priority]", "high")
        await page.click("#new-task button[type=submit]")
        await page.locator(".flash", has_text="cvxform").wait_for(timeout=30_000)
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "dashboard-real.png"), full_page=True)
    await seen_from(
        master,
        coordinator,
        lambda s: "order from the dashboard" in s.body and "cvxform" in s.body,
        "the form's order in the room",
    )
