"""The night envelope end to end (issue 19): the master grants a night, ten tasks come in,
the judge approves the seven the envelope covers and they run; three with a step outside it
(another host, a command not in the allowlist, one the policy asks about) wait with their
exact steps. Nothing notifies the master meanwhile but one urgent host alert; `!night stop`
brings one morning report listing all ten, and a ✅ on a waiting plan runs it.

Real Synapse (its own push-rule evaluation decides what notifies), the master's encrypted
client, the executor on the embedded `local` host and the real sshd (`web-1`), agents on
the real SDKs against the fake LLM server scripted by stage.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import pytest
from nio import MegolmEvent

from bots.alerts import master_alert
from bots.coordinator.tasks.service import TaskService
from bots.execution.requests import REQUEST_EVENT
from tests.fakes.llm_server import FakeLLMServer, RecordedRequest
from tests.fakes.sshd import SshdServer
from tests.support.council import ThrowawayCouncil
from tests.support.council_script import CouncilScript, plan_json, step
from tests.support.person import Person, Seen
from tests.support.push import actions_for, notifies, ruleset
from tests.support.tasks import (
    REMOTE_HOST,
    StartTaskBots,
    TaskBots,
    TaskMaster,
    TaskRef,
    answering,
    council_of,
    scripted_council,
    task_master,
)

pytestmark = pytest.mark.integration

COVERED = 7
ALLOW = "echo night *, uptime, df *"
OUTSIDE = {
    "NIGHT-HOST": (REMOTE_HOST, "df -h"),  # a host the envelope does not name
    "NIGHT-LIST": ("local", "ls /tmp"),  # read-only, but not in the allowlist
    "NIGHT-ASK": ("local", "touch /tmp/chavion-night-ask"),  # the policy asks about it
}


def quick_nights(config: dict[str, Any]) -> None:
    config["night"] = {"check_seconds": 1, "quiet_cache_seconds": 0}


@pytest.fixture(scope="module")
async def bots(start_task_bots: StartTaskBots, sshd: SshdServer) -> AsyncIterator[TaskBots]:
    tasks = {"max_active": 10, "lessons_in_prompt": 0, "routine_after": 0}
    async with start_task_bots("night", sshd=sshd, tasks=tasks, edit=quick_nights) as started:
        assert started.settings.night.check_seconds == 1
        yield started


def night_plan(request: RecordedRequest) -> str:
    """Each mission's plan, by the token its order carries."""
    text = request.system + "\n" + request.prompt
    for token, (host, command) in OUTSIDE.items():
        if token in text:
            return plan_json(step(host, command, token.lower()))
    found = re.search(r"NIGHT-IN-(\d+)", text)
    assert found is not None, "a plan asked for a mission of no night order"
    return plan_json(step("local", f"echo night {found.group(1)}", "say it"))


@pytest.fixture
def script(llm: FakeLLMServer, bots: TaskBots) -> Iterator[CouncilScript]:
    for found in scripted_council(llm, bots):
        found.plan = night_plan
        yield found


@pytest.fixture
def boss(master: Person, council: ThrowawayCouncil, bots: TaskBots) -> TaskMaster:
    return task_master(master, council)


def service_of(bots: TaskBots) -> TaskService:
    assert bots.coordinator is not None
    [service] = [b.tasks for b in bots.coordinator.runner.bots if b.tasks is not None]
    return service


async def client_api(master: Person, path: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {master.client.access_token}"}
    url = master.client.homeserver + path
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        assert response.status == 200, await response.text()
        data = await response.json()
    assert isinstance(data, dict)
    return data


async def buzzes(master: Person, room: str) -> dict[str, dict[str, Any]]:
    """Every event of `room` the homeserver pushed to the master that his phone then shows
    (decrypted, his rules run by Synapse's evaluator on it), by event id."""
    rules = ruleset((await client_api(master, "/_matrix/client/v3/pushrules/"))["global"])
    shown: dict[str, dict[str, Any]] = {}
    token = ""
    while True:
        page = await client_api(
            master, f"/_matrix/client/v3/notifications?limit=100{'&from=' + token if token else ''}"
        )
        for note in page["notifications"]:
            if note["room_id"] != room:
                continue
            event = dict(note["event"])
            if event["type"] == "m.room.encrypted":
                encrypted = MegolmEvent.from_dict({**event, "room_id": room})
                encrypted.room_id = room
                event = {**event, **master.client.decrypt_event(encrypted).source}
            if notifies(actions_for(event, rules, master.user_id)):
                shown[str(note["event"]["event_id"])] = event
        token = str(page.get("next_token") or "")
        if not token:
            return shown


async def eventually_buzzed(master: Person, room: str, event_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        shown = await buzzes(master, room)
        if event_id in shown or time.monotonic() > deadline:
            return shown
        await asyncio.sleep(0.5)


async def said_back(boss: TaskMaster, root: str, needle: str, what: str) -> Seen:
    return await boss.wait(
        answering(root),
        lambda s: s.sender == boss.coordinator and needle in s.body,
        what=what,
    )


def morning_plan_of(boss: TaskMaster, task: TaskRef) -> Callable[[Seen], bool]:
    """The plan a night held, shown again at the top of the room after the report."""
    return lambda s: (
        s.sender == boss.coordinator
        and council_of(s).get("kind") == "plan"
        and council_of(s).get("task") == task.id
        and s.body.startswith(f"🌅 #{task.id} waited")
    )


async def test_a_night_runs_what_it_covers_holds_the_rest_quietly_and_reports_in_the_morning(
    boss: TaskMaster, bots: TaskBots, script: CouncilScript, council: ThrowawayCouncil
) -> None:
    service = service_of(bots)
    room = boss.room
    bad = await boss.command("!night 8h budget lots hosts local allow readonly")
    refusal = await said_back(boss, bad, "For example: !night", "the refusal of a bad budget")
    assert "amount in USD" in refusal.body
    granted = await boss.command(f"!night 1h budget $5 hosts local allow {ALLOW}")
    shown = await said_back(boss, granted, "🌙 Night #", "the envelope granted")
    assert f"allow {ALLOW}" in shown.body
    before = set(await buzzes(boss.person, room))

    orders = [f"//chavion_task: night check NIGHT-IN-{i}" for i in range(1, COVERED + 1)]
    orders += [f"//chavion_task: night check {token}" for token in OUTSIDE]
    tasks: list[TaskRef] = await asyncio.gather(*(boss.order(o, timeout=60) for o in orders))
    covered, outside = tasks[:COVERED], tasks[COVERED:]
    for task in covered:
        await boss.state(task, "completed", timeout=240)
        await boss.report(task, timeout=60)
    for task in outside:
        await boss.state(task, "awaiting_approval", timeout=120)
    judge = bots.settings.user_id(bots.settings.agent(str(bots.settings.task_judge)).account)
    for task in covered:
        stored = await service.ctx.tasks.get(task.id)
        assert stored is not None
        assert stored.approved_by == judge
        moves = await service.ctx.tasks.moves(task.id)
        assert [m.to_state for m in moves][-2:] == ["running", "completed"]
        assert "under night envelope" in moves[-2].reason
    for task in outside:
        stored = await service.ctx.tasks.get(task.id)
        assert stored is not None
        assert stored.approved_by is None
        assert stored.deadline is not None
        assert stored.deadline > time.time() + 50 * 60  # held until the window's end
        assert boss.events(task, REQUEST_EVENT) == []  # nothing of it ran

    coordinator_bot = service.ctx.bot
    alert = await master_alert(
        coordinator_bot, "🔴 web-1 is down (injected)", key="test/night/web-1-down", urgent=True
    )
    during = await eventually_buzzed(boss.person, room, alert)
    new = {e: ev for e, ev in during.items() if e not in before}
    assert list(new) == [alert], [
        (ev.get("type"), ev.get("content", {}).get("msgtype"), ev.get("content", {}).get("body"))
        for ev in new.values()
    ]

    stop = await boss.command("!night stop")
    await said_back(boss, stop, "stopped", "the night stopped")
    report = await boss.wait(
        lambda s: s.sender == boss.coordinator,
        lambda s: s.body.startswith("🌅 Morning report"),
        what="the morning report",
    )
    for task in tasks:
        assert f"#{task.id} " in report.body, report.body
    waiting = report.body.split("⏳ Waiting for your approval")[1]
    for task, (host, command) in zip(outside, OUTSIDE.values(), strict=True):
        assert f"#{task.id} " in waiting
        assert f"    {host}: {command}" in waiting
    assert "✅ Done (7):" in report.body
    assert "Spent in the window: $" in report.body
    assert report.content["m.mentions"] == {"user_ids": [boss.person.user_id]}
    assert report.event_id in await eventually_buzzed(boss.person, room, report.event_id)

    morning: dict[int, Seen] = {}
    for task in outside:
        morning[task.id] = await boss.wait(
            lambda s: not s.relates_to,
            morning_plan_of(boss, task),
            what=f"the morning plan of #{task.id}",
        )
    host_task = outside[0]
    await boss.react(morning[host_task.id].event_id, "✅")
    await boss.state(host_task, "completed", timeout=90)
    stored = await service.ctx.tasks.get(host_task.id)
    assert stored is not None
    assert stored.approved_by == boss.person.user_id
    for task in outside[1:]:
        assert await boss.db.state(task.id) == "awaiting_approval"
        await service.cancel(task.id, bots.settings.master_user_id)
