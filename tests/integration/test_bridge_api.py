"""The HTTP bridge end to end (issue 18): an external agent, Manus, on the real server the
coordinator serves, through aiohttp's client on loopback, against the suite's real Synapse.

Manus's Matrix account is provisioned like the agents'; the bridge speaks as it, so what it
says reaches the master's encrypted client from Manus's own account. Tasks go through the
coordinator's one intake and operations; executor requests through the executor's policy,
the master's approval and the audit. Assertions are on HTTP answers, what the master's
client receives and the store's task table.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bots.bridge.server import BridgeServer
from bots.homeserver.process import free_port
from bots.settings.loading import load_settings
from bots.settings.model import Settings
from bots.store import Store
from tests.support.council import InProcessBots, ThrowawayCouncil
from tests.support.person import Person, Seen
from tests.support.task_db import TaskDb
from tests.support.tasks import (
    cancel_open_tasks,
    council_of,
    give_back_coordinator,
    in_thread,
    take_over_coordinator,
    task_master,
)

pytestmark = pytest.mark.integration

MANUS = "manus"
WRTN = "wrtn"


@dataclass
class Bridge:
    url: str
    settings: Settings
    bots: InProcessBots
    server: BridgeServer
    tokens: dict[str, str]
    manus_id: str
    db: TaskDb

    def headers(self, agent: str = MANUS, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[agent]}", **extra}


def bridge_config(council: ThrowawayCouncil, path: Path) -> Path:
    """The suite's config with Manus and Wrtn as external agents, the bridge on a free
    loopback port, and Manus allowed to ask the executor (as an operator)."""
    config: dict[str, Any] = yaml.safe_load(council.config_path.read_text(encoding="utf-8"))
    config["bridge"] = {
        "enabled": True,
        "listen": {"host": "127.0.0.1", "port": free_port()},
        "agents": [
            {"name": MANUS, "account": {"localpart": MANUS, "display_name": "Manus"}},
            {"name": WRTN, "account": {"localpart": WRTN, "display_name": "Wrtn"}},
        ],
    }
    server = council.settings.homeserver.server_name
    execution = config.setdefault("execution", {})
    execution["allowed_senders"] = [
        council.settings.master_user_id,
        council.user_id("coordinator"),
        f"@{MANUS}:{server}",
    ]
    execution["requesters"] = {f"@{MANUS}:{server}": "operator"}
    # Long waits: nothing here must time out under the test's feet.
    config["tasks"] = {"proposal_seconds": 300, "approval_seconds": 300}
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
async def bridge(
    council: ThrowawayCouncil,
    coordinator: InProcessBots,
    master: Person,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Bridge]:
    config = bridge_config(council, tmp_path_factory.mktemp("bridge") / "chavion.yaml")
    settings = load_settings(config)
    await ThrowawayCouncil.provision_with(settings, council.secret)  # Manus's account
    async with await Store.open(council.data.store) as store:
        tokens = {
            name: await store.bridge_tokens.issue(name, time.time()) for name in (MANUS, WRTN)
        }
    await take_over_coordinator(coordinator)
    try:
        bots = await InProcessBots.start(settings, ["coordinator", "executor"])
        running: Bridge | None = None
        try:
            [server] = [b.bridge for b in bots.runner.bots if b.bridge is not None]
            await asyncio.wait_for(server.ready.wait(), 60)
            assert server.listening is not None
            manus_id = settings.user_id(settings.bridge.agents[0].account)
            await master.sees_devices_of(
                manus_id, council.user_id("coordinator"), council.user_id("executor")
            )
            running = Bridge(
                server.listening.url,
                settings,
                bots,
                server,
                tokens,
                manus_id,
                TaskDb(council.data.store),
            )
            yield running
        finally:
            # A test may have restarted them: stop the ones running now, their tasks
            # cancelled first (none goes on in later modules).
            now = running.bots if running is not None else bots
            await cancel_open_tasks(now, settings)
            await now.stop()
    finally:
        await give_back_coordinator(coordinator, council.settings)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession,
    bridge: Bridge,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    agent: str = MANUS,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    async with http.request(
        method,
        bridge.url + path,
        json=body,
        headers=headers if headers is not None else bridge.headers(agent),
    ) as response:
        return response.status, await response.json()


async def seen_from(
    master: Person, sender: str, matches: Callable[[Seen], bool], what: str
) -> Seen:
    try:
        [found, *_] = await master.wait_for(lambda s: s.sender == sender and matches(s), timeout=60)
    except TimeoutError:
        said = [(s.sender, s.body[:100]) for s in master.seen[-15:]]
        raise AssertionError(f"never saw {what}; the room held {said}") from None
    return found


async def state_of(bridge: Bridge, task_id: int, wanted: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        row = await bridge.db.task(task_id)
        state = str(row["state"]) if row else "none"
        if state == wanted or time.monotonic() > deadline:
            return state
        await asyncio.sleep(0.2)


# ---- operations: the running bridge serves /health and /metrics --------------------------


async def test_the_running_bridge_serves_health_and_metrics_of_its_process(
    bridge: Bridge, http: aiohttp.ClientSession
) -> None:
    async with http.get(bridge.url + "/health") as response:
        health = await response.json()
    assert response.status == 200, health
    assert set(health["checks"]) >= {"homeserver", "store", "sync:coordinator", "sync:executor"}
    async with http.get(bridge.url + "/metrics") as response:
        text = await response.text()
    assert response.status == 200
    families = {family.name for family in text_string_to_metric_families(text)}
    assert "chavion_tasks" in families  # counted from the store at scrape time


# ---- who may call ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer not-a-token"}, 401),
        ({"Authorization": "Basic bWFudXM6eA=="}, 401),
    ],
    ids=["no token", "bad token", "not a bearer token"],
)
async def test_a_call_without_a_good_token_is_401(
    bridge: Bridge, http: aiohttp.ClientSession, headers: dict[str, str], status: int
) -> None:
    code, body = await call(http, bridge, "POST", f"/api/agent/{MANUS}/checkin", headers=headers)
    assert code == status
    assert body["error"]["status"] == status


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", f"/api/agent/{WRTN}/checkin", None),
        ("POST", "/api/tasks/1/claim", {"agent_name": WRTN}),
        (
            "POST",
            "/api/executor/command",
            {"agent_name": WRTN, "type": "shell", "payload": {"command": "true"}},
        ),
    ],
    ids=["checkin", "claim", "executor"],
)
async def test_a_token_used_for_another_agents_name_is_403(
    bridge: Bridge, http: aiohttp.ClientSession, method: str, path: str, body: Any
) -> None:
    code, answer = await call(http, bridge, method, path, body)
    assert code == 403, answer
    assert "manus" in answer["error"]["message"]


# ---- a task from outside Matrix -------------------------------------------------------------


async def test_an_external_agent_takes_a_task_from_creation_to_completion(
    bridge: Bridge, http: aiohttp.ClientSession, master: Person
) -> None:
    code, answer = await call(http, bridge, "POST", f"/api/agent/{MANUS}/checkin")
    assert (code, answer) == (200, {"success": True})

    # Created: Manus's own account posts the order, the coordinator acknowledges in its thread.
    code, task = await call(
        http,
        bridge,
        "POST",
        "/api/tasks",
        {"title": "Rotate the nginx logs", "description": "Keep 7 days.", "priority": "high"},
        headers=bridge.headers(**{"Idempotency-Key": "rotate-1"}),
    )
    assert code == 201, task
    n = task["id"]
    assert (task["title"], task["description"], task["priority"]) == (
        "Rotate the nginx logs",
        "Keep 7 days.",
        "high",
    )
    order = await seen_from(
        master,
        bridge.manus_id,
        lambda s: s.body.startswith("//chavion_task:") and "Rotate the nginx logs" in s.body,
        "the order",
    )
    assert order.body == "//chavion_task: high: Rotate the nginx logs\nKeep 7 days."
    assert task["thread_url"].endswith(order.event_id.replace("$", "$"))
    coordinator = bridge.settings.user_id(bridge.settings.coordinator)
    await seen_from(
        master,
        coordinator,
        lambda s: in_thread(order.event_id)(s) and council_of(s).get("task") == n,
        "the coordinator's acknowledgement in the order's thread",
    )
    # The coordinator took no order of its own from Manus: the bridge did (no refusal).
    answers = master.matching(lambda s: s.sender == coordinator and s.in_reply_to == order.event_id)
    assert [s.body for s in answers if council_of(s).get("task") != n] == []
    # The same call again (its Idempotency-Key) is the same task, not a second one.
    code, again = await call(
        http,
        bridge,
        "POST",
        "/api/tasks",
        {"title": "Rotate the nginx logs", "description": "Keep 7 days.", "priority": "high"},
        headers=bridge.headers(**{"Idempotency-Key": "rotate-1"}),
    )
    assert (code, again["id"]) == (201, n)
    code, listed = await call(http, bridge, "GET", "/api/tasks?status=in_progress")
    assert code == 200
    assert n in [t["id"] for t in listed["tasks"]]

    # Claimed: assigned to Manus, said in the thread; a second claim is 409.
    code, claimed = await call(http, bridge, "POST", f"/api/tasks/{n}/claim", {"agent_name": MANUS})
    assert code == 200, claimed
    assert (claimed["assigned"], claimed["state"]) == (MANUS, "planning")
    await seen_from(
        master,
        coordinator,
        lambda s: in_thread(order.event_id)(s) and "Claimed by Manus" in s.body,
        "the claim in the thread",
    )
    code, twice = await call(http, bridge, "POST", f"/api/tasks/{n}/claim", {"agent_name": MANUS})
    assert code == 409
    assert "already claimed by Manus" in twice["error"]["message"]
    code, _ = await call(http, bridge, "POST", "/api/tasks/999999/claim", {"agent_name": MANUS})
    assert code == 404

    # Progress, in the thread from Manus's account.
    code, _ = await call(
        http,
        bridge,
        "POST",
        f"/api/tasks/{n}/report",
        {"agent_name": MANUS, "progress": 50, "message": "rotated web-1, web-2 next"},
    )
    assert code == 200
    await seen_from(
        master,
        bridge.manus_id,
        lambda s: in_thread(order.event_id)(s) and "50%: rotated web-1" in s.body,
        "the progress report in the thread",
    )
    code, status = await call(http, bridge, "GET", "/api/status")
    assert code == 200
    [manus] = [a for a in status["agents"] if a["name"] == MANUS]
    assert (manus["status"], manus["current_task"], manus["kind"]) == ("working", n, "bridge")
    council_agents = {a["name"]: a for a in status["agents"] if a["kind"] == "matrix"}
    assert set(council_agents) == {a.name for a in bridge.settings.agents}
    assert n in [t["id"] for t in status["tasks"]]
    assert any("Rotate the nginx logs" in m["body"] for m in status["messages"])

    # Completed: the result in the thread, the task completed by the coordinator, reported.
    code, done = await call(
        http,
        bridge,
        "POST",
        f"/api/tasks/{n}/complete",
        {"agent_name": MANUS, "result": "Both rotated; 7 days kept."},
    )
    assert code == 200, done
    assert (done["status"], done["state"], done["result"]) == (
        "completed",
        "completed",
        "Both rotated; 7 days kept.",
    )
    assert await state_of(bridge, n, "completed") == "completed"
    await seen_from(
        master,
        bridge.manus_id,
        lambda s: in_thread(order.event_id)(s) and "Both rotated" in s.body,
        "the result in the thread",
    )
    report = await seen_from(
        master,
        coordinator,
        lambda s: council_of(s).get("kind") == "report" and council_of(s).get("task") == n,
        "the coordinator's report",
    )
    assert "Both rotated; 7 days kept." in report.body
    code, _ = await call(
        http, bridge, "POST", f"/api/tasks/{n}/report", {"agent_name": MANUS, "message": "x"}
    )
    assert code == 409


async def test_another_agents_task_cannot_be_reported_or_completed(
    bridge: Bridge, http: aiohttp.ClientSession
) -> None:
    code, task = await call(http, bridge, "POST", "/api/tasks", {"title": "Wrtn's job"}, agent=WRTN)
    assert code == 201
    n = task["id"]
    code, _ = await call(
        http, bridge, "POST", f"/api/tasks/{n}/claim", {"agent_name": WRTN}, agent=WRTN
    )
    assert code == 200
    for path, body in (
        (f"/api/tasks/{n}/claim", {"agent_name": MANUS}),
        (f"/api/tasks/{n}/report", {"agent_name": MANUS, "message": "mine now"}),
        (f"/api/tasks/{n}/complete", {"agent_name": MANUS, "result": "taken"}),
    ):
        code, answer = await call(http, bridge, "POST", path, body)
        assert code == 409, (path, answer)
    assert await state_of(bridge, n, "planning") == "planning"


async def test_an_oversized_body_is_413_and_nothing_is_posted(
    bridge: Bridge, http: aiohttp.ClientSession, master: Person
) -> None:
    too_long = "x" * (bridge.settings.bridge.max_body_bytes + 10)
    code, answer = await call(http, bridge, "POST", "/api/messages", {"content": too_long})
    assert code == 413, answer
    await master.settle(1.0)
    assert not master.matching(lambda s: s.sender == bridge.manus_id and too_long[:100] in s.body)


async def test_the_master_assigns_a_task_to_an_external_agent_with_assign(
    bridge: Bridge, http: aiohttp.ClientSession, master: Person, council: ThrowawayCouncil
) -> None:
    boss = task_master(master, council)
    task = await boss.order("//chavion_task: Summarise the week's tickets")
    command = await boss.command(f"!assign {task.id} Wrtn")
    answer = await seen_from(
        master,
        boss.coordinator,
        lambda s: s.in_reply_to == command,
        "the answer to !assign",
    )
    assert "Assigned to Wrtn" in answer.body
    assert await state_of(bridge, task.id, "planning") == "planning"
    code, listed = await call(http, bridge, "GET", f"/api/tasks/{task.id}", agent=WRTN)
    assert (code, listed["assigned"]) == (200, WRTN)
    code, done = await call(
        http,
        bridge,
        "POST",
        f"/api/tasks/{task.id}/complete",
        {"agent_name": WRTN, "result": "12 tickets, 2 open"},
        agent=WRTN,
    )
    assert (code, done["state"]) == (200, "completed")
    report = await boss.report(task)
    assert "12 tickets, 2 open" in report.body


async def test_a_claimed_task_waits_for_its_agent_across_a_restart(
    bridge: Bridge, http: aiohttp.ClientSession, master: Person
) -> None:
    code, task = await call(http, bridge, "POST", "/api/tasks", {"title": "Renew the cert"})
    n = task["id"]
    code, _ = await call(http, bridge, "POST", f"/api/tasks/{n}/claim", {"agent_name": MANUS})
    assert code == 200
    await restart(bridge)
    assert await state_of(bridge, n, "planning") == "planning"
    row = await bridge.db.task(n)
    assert row is not None
    assert (row["assigned"], row["waiting_for"]) == (MANUS, "Manus's result")
    code, done = await call(
        http, bridge, "POST", f"/api/tasks/{n}/complete", {"agent_name": MANUS, "result": "ok"}
    )
    assert (code, done["state"]) == (200, "completed")


async def restart(bridge: Bridge) -> None:
    """The coordinator and executor stopped cleanly and started again on the same config."""
    await bridge.bots.stop()
    bridge.bots = await InProcessBots.start(bridge.settings, ["coordinator", "executor"])
    [server] = [b.bridge for b in bridge.bots.runner.bots if b.bridge is not None]
    await asyncio.wait_for(server.ready.wait(), 60)
    assert server.listening is not None
    bridge.server, bridge.url = server, server.listening.url


# ---- talking and listening ------------------------------------------------------------------


async def test_an_agent_speaks_as_itself_and_hears_what_is_addressed_to_it(
    bridge: Bridge, http: aiohttp.ClientSession, master: Person, council: ThrowawayCouncil
) -> None:
    async with http.get(bridge.url + "/api/events", headers=bridge.headers()) as stream:
        assert stream.status == 200
        await stream.content.readline()  # ": connected"
        await master.say(council.council_room, "Manus, how full is the backup disk?")
        event = await asyncio.wait_for(_next_message(stream), 30)
    assert event["type"] == "message"
    assert event["sender"] == master.user_id
    assert "how full is the backup disk" in event["content"]

    code, said = await call(
        http, bridge, "POST", "/api/messages", {"content": "The backup disk is 41% full."}
    )
    assert code == 201, said
    heard = await seen_from(
        master, bridge.manus_id, lambda s: "41% full" in s.body, "Manus's answer"
    )
    assert heard.event_id == said["event_id"]
    assert heard.content["msgtype"] == "m.text"
    code, refused = await call(
        http, bridge, "POST", "/api/messages", {"content": "//chavion_task: sneak one in"}
    )
    assert code == 400
    assert refused["error"]["field"] == "content"


@pytest.mark.backend
async def test_an_agent_that_reconnects_gets_what_was_said_to_it_meanwhile(
    bridge: Bridge, http: aiohttp.ClientSession, master: Person, council: ThrowawayCouncil
) -> None:
    async with http.get(bridge.url + "/api/events", headers=bridge.headers()) as stream:
        await stream.content.readline()  # ": connected"
        await master.say(council.council_room, "Manus, first question (cvxresume-1)?")
        first = await asyncio.wait_for(_next_message(stream), 30)
    assert "cvxresume-1" in first["content"]
    # Away (the stream is closed) while the master asks again.
    await master.say(council.council_room, "Manus, second question (cvxresume-2)?")
    events = bridge.server.voices[MANUS].events
    for _ in range(300):  # until Manus's own client has heard it, with no listener open
        if any("cvxresume-2" in str(e.get("content")) for e in events.kept):
            break
        await asyncio.sleep(0.1)
    assert events.listening == 0
    resume = bridge.headers(**{"Last-Event-ID": first["cursor"]})
    async with http.get(bridge.url + "/api/events", headers=resume) as stream:
        missed = await asyncio.wait_for(_next_message(stream), 30)
    assert "cvxresume-2" in missed["content"], "what came while it was away, not lost"
    assert missed["cursor"] != first["cursor"]


async def _next_message(stream: aiohttp.ClientResponse) -> dict[str, Any]:
    """The next message event of the server-sent events (task changes of earlier tests may
    come first; comments are skipped)."""
    while True:
        line = (await stream.content.readline()).decode().strip()
        if line.startswith("data:"):
            found: dict[str, Any] = json.loads(line.removeprefix("data:"))
            if found["type"] == "message":
                return found


# ---- the executor ---------------------------------------------------------------------------


async def test_an_executor_command_waits_for_the_masters_approval(
    bridge: Bridge,
    http: aiohttp.ClientSession,
    master: Person,
    council: ThrowawayCouncil,
    tmp_path: Path,
) -> None:
    done = Path("/tmp") / f"cvx-bridge-{time.monotonic_ns()}"
    code, sent = await call(
        http,
        bridge,
        "POST",
        "/api/executor/command",
        {"agent_name": MANUS, "type": "shell", "payload": {"command": f"touch {done}"}},
    )
    assert code == 202, sent
    rid = sent["request_id"]
    executor = council.user_id("executor")
    await seen_from(
        master, executor, lambda s: "Approval needed" in s.body and rid in s.body, "the prompt"
    )
    code, waiting = await call(http, bridge, "GET", f"/api/executor/requests/{rid}")
    assert code == 200, waiting
    assert (waiting["state"], waiting["result"]) == ("pending", None)
    assert not done.exists()

    await master.say(council.council_room, f"!approve {rid}")
    deadline = time.monotonic() + 60
    while True:
        code, polled = await call(http, bridge, "GET", f"/api/executor/requests/{rid}")
        if polled.get("result") is not None or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.3)
    assert polled["result"]["status"] == "succeeded", polled
    assert polled["result"]["exit_status"] == 0
    assert done.exists()
    done.unlink()
    # Another agent's token does not read Manus's request.
    code, _ = await call(http, bridge, "GET", f"/api/executor/requests/{rid}", agent=WRTN)
    assert code == 404


async def test_an_agent_the_executor_does_not_take_requests_from_is_told_so(
    bridge: Bridge, http: aiohttp.ClientSession
) -> None:
    code, answer = await call(
        http,
        bridge,
        "POST",
        "/api/executor/command",
        {"agent_name": WRTN, "type": "shell", "payload": {"command": "true"}},
        agent=WRTN,
    )
    assert code == 403
    assert "execution.allowed_senders" in answer["error"]["message"]
