"""Tasks on a bad day, end to end: an agent that answers garbage, malformed events, every
agent silent, an executor that never answers, a homeserver restart mid-task, and a wait that
ran out while the coordinator was down. Each gets a clear message in the thread and a stored
state, never a stuck task; a task that waits says what for in `!task N`.

Real Synapse (restarted for real in one test), the master's encrypted client, the executor
on the embedded SSH server, agents on the real SDKs against the fake LLM server. The
coordinator runs in its own process (to SIGKILL it, or run it on other timings); the
executor and the agents each run in a group of their own, so a test can silence one.
Timings are short (`ROBUST`): every wait here is meant to run out.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bots.events import COUNCIL_KEY, POLL_END, POLL_RESPONSE
from bots.execution.requests import CANCEL_EVENT, REQUEST_EVENT, RESULT_EVENT
from bots.tasks.render import no_answer_reason
from tests.fakes.llm_server import FakeLLMServer
from tests.support.council import InProcessBots, ThrowawayCouncil
from tests.support.council_script import CouncilScript, plan_json, proposal_token, step
from tests.support.person import Person, Seen
from tests.support.room_events import ServerEvent, owners, room_events_since
from tests.support.tasks import (
    AGENTS,
    BotsApart,
    TaskMaster,
    TaskRef,
    bot_log,
    command_started,
    council_of,
    models_of,
    restart_homeserver,
    running_bots_apart,
    task_config,
    task_master,
    task_status,
)

pytestmark = pytest.mark.integration

ROBUST: dict[str, Any] = {
    "proposal_seconds": 8,
    "vote_seconds": 10,
    "plan_seconds": 10,
    "review_seconds": 10,
    "tie_seconds": 5,
    "approval_seconds": 8,
    "step_seconds": 6,
    "max_attempts": 1,
}
"""Every wait short enough to run out in a test; one attempt, so a lost step fails the task."""
PATIENT: dict[str, Any] = {
    **ROBUST,
    "proposal_seconds": 120,
    "vote_seconds": 60,
    "plan_seconds": 60,
    "review_seconds": 60,
    "approval_seconds": 120,
    "step_seconds": 120,
}
"""Waits longer than a homeserver restart: the restart must not be what ends them."""


@pytest.fixture(scope="module")
def configs(
    council: ThrowawayCouncil, llm: FakeLLMServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tasks-robust")
    return {
        "robust": task_config(council, llm, root / "robust.yaml", tasks=ROBUST),
        "patient": task_config(council, llm, root / "patient.yaml", tasks=PATIENT),
    }


@pytest.fixture(scope="module")
async def bots(
    council: ThrowawayCouncil,
    coordinator: InProcessBots,
    master: Person,
    configs: dict[str, Path],
) -> AsyncIterator[BotsApart]:
    async with running_bots_apart(council, coordinator, master, configs["robust"]) as started:
        yield started


@pytest.fixture
def script(llm: FakeLLMServer, bots: BotsApart) -> Iterator[CouncilScript]:
    llm.reset()
    found = CouncilScript(models_of(bots.config_path))
    llm.respond(found)
    yield found
    assert llm.responder_errors == []


@pytest.fixture
def boss(master: Person, council: ThrowawayCouncil, bots: BotsApart) -> TaskMaster:
    return task_master(master, council)


# ---- helpers ---------------------------------------------------------------------------------


def from_coordinator(boss: TaskMaster, *words: str) -> Callable[[Seen], bool]:
    """A coordinator's message saying all of `words`."""
    return lambda s: s.sender == boss.coordinator and all(w in s.body for w in words)


async def moves_to(boss: TaskMaster, task: TaskRef) -> list[str]:
    return [to for _, to in await boss.db.moves(task.id)]


async def last_move(boss: TaskMaster, task: TaskRef) -> dict[str, Any]:
    rows = await boss.db.rows(
        "SELECT * FROM task_moves WHERE task_id = ? ORDER BY seq DESC LIMIT 1", task.id
    )
    return rows[0]


def log_since(path: Path, offset: int) -> str:
    with path.open("rb") as log:
        log.seek(offset)
        return log.read().decode("utf-8", "replace")


# ---- 1. an agent that answers garbage --------------------------------------------------------


async def test_a_vote_that_names_no_option_is_not_counted_and_the_agent_says_so(
    boss: TaskMaster, script: CouncilScript, bots: BotsApart
) -> None:
    script.set("vote", "claude", "I cannot decide; every proposal here is fine by me.")
    task = await boss.order("//chavion_task: report disk usage of local")
    poll = await boss.poll(task)
    claude = boss.council.user_id("claude")
    said = await boss.in_thread(
        task,
        lambda s: s.sender == claude and council_of(s).get("stage") == "vote",
        what="Claude's failed vote",
    )
    assert said.body.startswith(f"#{task.id} ")
    assert "no valid vote" in said.body
    assert council_of(said)["status"] == "failed"
    ended = await boss.person.wait_for_event(
        POLL_END, lambda s: s.relates_to.get("event_id") == poll.event_id, timeout=30
    )
    plan = await boss.plan(task)
    await boss.react(plan.event_id, "✅")
    report = await boss.report(task)
    assert report.body.startswith(f"#{task.id} ✅ Done")

    responders = {
        s.sender
        for kind, s in boss.person.events
        if kind == POLL_RESPONSE and s.relates_to.get("event_id") == poll.event_id
    }
    assert claude not in responders  # no poll response: nothing to count
    assert len(responders) == len(AGENTS) - 1
    tally = ended.content.get("org.matrix.msc1767.text") or str(ended.content)
    counts = [int(n) for n in re.findall(r"\b[A-D] (\d+)", str(tally))]
    assert sum(counts) == len(AGENTS) - 1, tally  # three votes counted, not four
    votes = {
        a["agent"]: a["status"] for a in await boss.db.answers(task.id) if a["stage"] == "vote"
    }
    assert votes["claude"] == "failed"
    assert [v for k, v in votes.items() if k != "claude"] == ["ok"] * (len(AGENTS) - 1)
    shown = await task_status(boss, task)
    assert shown.body.startswith(f"#{task.id} 📋 Task #{task.id}: completed")
    assert "voting → planning" in shown.body


async def test_a_plan_that_is_garbage_twice_fails_the_task_naming_the_error(
    boss: TaskMaster, script: CouncilScript, llm: FakeLLMServer
) -> None:
    script.set("plan", "gpt", "I would run df and have a look.", "Still no JSON here, sorry.")
    task = await boss.order("//chavion_task: report disk usage of local")
    invalid = await boss.in_thread(
        task,
        from_coordinator(boss, "GPT's plan could not be read", "Asking again, once."),
        what="the first plan refused with its error",
    )
    error = invalid.body.split("could not be read: ", 1)[1].removesuffix(" Asking again, once.")
    assert error
    report = await boss.report(task)
    assert report.body.startswith(f"#{task.id} ❌ Failed")
    assert "invalid twice" in report.body
    what = error.split(". ")[0]  # 'No plan found: the answer holds no JSON object with …'
    assert f"the plan from GPT was invalid twice: {what}" in report.body
    assert await boss.state(task, "failed") == "failed"
    assert (await moves_to(boss, task))[-2:] == ["planning", "failed"]
    assert script.count("plan", "gpt") == 2  # asked once again, then no more
    again = [r for r in llm.requests if script.agent_of(r) and what in r.text]
    assert again, "the planner was not told what was wrong with its plan"
    assert await boss.db.steps(task.id) == []
    shown = await task_status(boss, task)
    assert f"Task #{task.id}: failed" in shown.body
    assert "invalid twice" in shown.body


async def test_malformed_council_events_are_ignored_and_the_task_goes_on(
    council: ThrowawayCouncil, boss: TaskMaster, script: CouncilScript, bots: BotsApart
) -> None:
    log = bot_log(council, "coordinator")
    offset = log.stat().st_size
    script.delays["propose"] = 3.0  # the garbage arrives while the task waits for proposals
    task = await boss.order("//chavion_task: report disk usage of local")
    root = {"rel_type": "m.thread", "event_id": task.root}
    ask = f"t{task.id}-propose-1"

    def answer(**fields: Any) -> dict[str, Any]:
        base = {"v": 1, "kind": "answer", "task": task.id, "ask": ask, "stage": "propose"}
        return {**base, "status": "ok", **fields}

    garbage: list[tuple[str, dict[str, Any]]] = [
        (COUNCIL_KEY, {COUNCIL_KEY: "not an object"}),
        (COUNCIL_KEY, {COUNCIL_KEY: answer(task=str(task.id))}),
        (COUNCIL_KEY, {COUNCIL_KEY: answer(ask=f"t{task.id + 1000}-propose-1")}),
        (COUNCIL_KEY, {COUNCIL_KEY: answer(task=task.id + 1000, ask=f"t{task.id + 1000}-x")}),
        (COUNCIL_KEY, {COUNCIL_KEY: answer(ask=["not", "a", "string"])}),
        (COUNCIL_KEY, {COUNCIL_KEY: {"kind": "ask", "task": task.id, "ask": ask}}),
        (POLL_RESPONSE, {POLL_RESPONSE: {"answers": "B"}}),
        (POLL_RESPONSE, {POLL_RESPONSE: {"answers": ["Z"]}}),
        (RESULT_EVENT, {"request_id": 5, "status": "succeeded"}),
        (RESULT_EVENT, {"request_id": f"t{task.id}-a1-s1", "status": "succeeded"}),
    ]
    claude, executor = bots.agent_bot("claude"), bots.executor_bot()
    for kind, content in garbage:
        if kind == COUNCIL_KEY:
            body = f"#{task.id} 💡 {proposal_token('claude')} a malformed answer"
            sent = {"msgtype": "m.text", "body": body, "m.relates_to": root, **content}
            await claude.matrix.send_event(boss.room, "m.room.message", sent, str(uuid.uuid4()))
        elif kind == POLL_RESPONSE:
            target = {"rel_type": "m.reference", "event_id": task.root}
            sent = {"m.relates_to": target, **content}
            await claude.matrix.send_event(boss.room, POLL_RESPONSE, sent, str(uuid.uuid4()))
        else:
            await executor.matrix.send_event(boss.room, kind, content, str(uuid.uuid4()))

    plan = await boss.plan(task)
    await boss.react(plan.event_id, "✅")
    report = await boss.report(task)
    assert report.body.startswith(f"#{task.id} ✅ Done")
    proposals = [a for a in await boss.db.answers(task.id) if a["ask"] == ask]
    assert sorted(a["agent"] for a in proposals) == sorted(AGENTS)
    assert all("malformed" not in a["text"] for a in proposals)
    assert await boss.db.rows("SELECT id FROM tasks WHERE id = ?", task.id + 1000) == []
    assert bots.process.running is not None
    assert bots.process.running.process.poll() is None  # still running
    logged = log_since(log, offset)
    assert "Traceback" not in logged, logged[-3000:]

    after = await boss.order("//chavion_task: report disk usage of local, once more")
    plan = await boss.plan(after)
    await boss.react(plan.event_id, "✅")
    assert (await boss.report(after)).body.startswith(f"#{after.id} ✅ Done")


# ---- 2. every agent silent -------------------------------------------------------------------


async def test_when_no_agent_proposes_the_task_fails_naming_each_agent_and_why(
    boss: TaskMaster, script: CouncilScript, bots: BotsApart
) -> None:
    await bots.stop_agents()
    try:
        task = await boss.order("//chavion_task: report disk usage of local")
        shown = await task_status(boss, task)
        assert f"Task #{task.id}: discussing" in shown.body
        names = [a.display_name for a in models_of(bots.config_path)]
        assert f"Waiting for: proposals from {', '.join(names)} (for " in shown.body
        missing = await boss.in_thread(
            task,
            from_coordinator(boss, "no answer within"),
            what="the agents named as silent",
            timeout=40,
        )
        silent = no_answer_reason(ROBUST["proposal_seconds"])  # "no answer within …"
        for name in names:
            assert f"⚠️ {name}: {silent} — skipped." in missing.body
        report = await boss.report(task, timeout=30)
        assert report.body.startswith(f"#{task.id} ❌ Failed")
        assert "no proposal came" in report.body
        assert await boss.state(task, "failed") == "failed"
        assert await moves_to(boss, task) == ["pending", "discussing", "failed"]
        shown = await task_status(boss, task)
        assert f"Task #{task.id}: failed" in shown.body
        assert "no proposal came" in shown.body
        assert "Waiting for" not in shown.body
    finally:
        await bots.start_agents()
    assert script.count("propose") == 0  # the agents back later skip the expired ask


# ---- 3. an executor that never answers -------------------------------------------------------


async def test_a_step_the_executor_never_answers_counts_as_lost_and_the_task_ends(
    boss: TaskMaster, script: CouncilScript, bots: BotsApart
) -> None:
    await bots.stop_executor()
    try:
        task = await boss.order("//chavion_task: report disk usage of local")
        plan = await boss.plan(task)
        await boss.react(plan.event_id, "✅")
        rid = f"t{task.id}-a1-s1"
        await boss.person.wait_for_event(
            REQUEST_EVENT, lambda s: s.content.get("request_id") == rid, timeout=30
        )
        shown = await task_status(boss, task)
        assert f"Task #{task.id}: running" in shown.body
        assert "Waiting for: the executor: step 1 (df -h on local)" in shown.body
        lost = await boss.in_thread(
            task,
            from_coordinator(boss, "Step 1 on local", "no result from the executor in time"),
            what="the step named as lost",
            timeout=30,
        )
        assert lost.body.startswith(f"#{task.id} ")
        report = await boss.report(task, timeout=30)
        assert report.body.startswith(f"#{task.id} ❌ Failed")
        assert "step 1 on local lost" in report.body
        assert await boss.state(task, "failed") == "failed"
        assert await moves_to(boss, task) == [
            "pending",
            "discussing",
            "voting",
            "planning",
            "reviewing",
            "awaiting_approval",
            "running",
            "fixing",
            "failed",
        ]
        [run] = await boss.db.steps(task.id)
        assert (run["request_id"], run["status"]) == (rid, "lost")
        # The executor is told to drop the request, should it ever come back to it.
        cancel = await boss.person.wait_for_event(
            CANCEL_EVENT, lambda s: s.content.get("request_id") == rid, timeout=10
        )
        assert cancel.sender == boss.coordinator
    finally:
        await bots.start_executor()


async def test_a_step_counted_as_lost_never_runs_when_the_executor_comes_back(
    boss: TaskMaster, script: CouncilScript, bots: BotsApart
) -> None:
    await bots.stop_executor()
    try:
        task = await boss.order("//chavion_task: report disk usage of local")
        plan = await boss.plan(task)
        await boss.react(plan.event_id, "✅")
        rid = f"t{task.id}-a1-s1"
        await boss.person.wait_for_event(
            CANCEL_EVENT, lambda s: s.content.get("request_id") == rid, timeout=30
        )
        await boss.state(task, "failed")
    finally:
        await bots.start_executor()
    await boss.person.settle(4)  # the executor catches up with the request and the cancel
    assert "start" not in (await boss.db.audit(task.id)).get(rid, [])


# ---- 4. a homeserver restart mid-task --------------------------------------------------------


def nothing_twice(events: list[ServerEvent], task: TaskRef, coordinator: str) -> dict[str, int]:
    """The coordinator's events of one task, counted by what they are (from the homeserver)."""
    owner = owners(events, [task.root])
    counted: dict[str, int] = {}
    for event in events:
        if event.sender != coordinator or owner.get(event.event_id) != task.root:
            continue
        council = event.council
        what = str(council.get("kind") or event.type)
        if what == "ask":
            what = f"ask {council.get('stage')}"
        counted[what] = counted.get(what, 0) + 1
    return counted


@pytest.mark.backend
async def test_a_homeserver_restart_mid_task_sends_nothing_twice_and_the_task_finishes(
    council: ThrowawayCouncil,
    boss: TaskMaster,
    script: CouncilScript,
    bots: BotsApart,
    configs: dict[str, Path],
) -> None:
    if council.workers is not None:
        pytest.skip("in worker mode a restart is of several processes; the bots' side is the same")
    script.delays["propose"] = 3.0  # the agents answer while the homeserver is away
    script.plan = plan_json(step("local", "sleep 3; df -h", "disk usage, slowly"))
    async with bots.coordinator_on(configs["patient"]):
        since = str(boss.person.client.next_batch)
        task = await boss.order("//chavion_task: report disk usage of local")
        away = [await restart_homeserver(council)]  # while it waits for proposals
        await boss.state(task, "awaiting_approval", timeout=90)
        await boss.command(f"!approve {task.id}")
        await command_started(boss, f"t{task.id}-a1-s1", task)
        away.append(await restart_homeserver(council))  # while the step runs
        report = await boss.report(task, timeout=90)
        assert report.body.startswith(f"#{task.id} ✅ Done")
        assert "Filesystem" in report.body
        await boss.state(task, "completed")
        await asyncio.sleep(2)  # the main-timeline line goes after the report
        events = await room_events_since(boss.person, boss.room, since)

    counted = nothing_twice(events, task, boss.coordinator)
    once = ("ask propose", "ask vote", POLL_END, "ask plan", "ask review", "plan", "report")
    expected = {**dict.fromkeys(once, 1), "m.reaction": 2, REQUEST_EVENT: 1}
    assert {k: counted.get(k, 0) for k in expected} == expected, f"{away} s away: {counted}"
    bodies = [
        e.content.get("body")
        for e in events
        if e.sender == boss.coordinator and e.type == "m.room.message"
    ]
    assert len(bodies) == len(set(bodies)), bodies  # no line said twice
    lines = [
        e
        for e in events
        if e.sender == boss.coordinator
        and not e.relates_to
        and str(e.content.get("body")).startswith(f"#{task.id} ✅ ")
    ]
    assert len(lines) == 1  # the main-timeline line, once
    assert {a: script.count("propose", a) for a in AGENTS} == dict.fromkeys(AGENTS, 1)
    assert script.count("plan") == 1
    audit = await boss.db.audit(task.id)
    assert audit[f"t{task.id}-a1-s1"].count("start") == 1
    results = [e for e in events if e.type == RESULT_EVENT and e.content.get("request_id")]
    assert [e.content["request_id"] for e in results] == [f"t{task.id}-a1-s1"]


# ---- 5. a wait that ran out while the coordinator was down -------------------------------------


async def test_an_approval_that_expired_while_the_coordinator_was_down_ends_the_task(
    boss: TaskMaster, script: CouncilScript, bots: BotsApart
) -> None:
    task = await boss.order("//chavion_task: report disk usage of local")
    plan = await boss.plan(task)
    shown = await task_status(boss, task)
    assert "Waiting for: the master's approval of the plan" in shown.body
    row = await boss.db.task(task.id)
    assert row is not None
    assert row["deadline"] is not None
    await bots.process.kill()
    await asyncio.sleep(max(0.0, row["deadline"] - time.time()) + 1)
    await bots.process.start()

    report = await boss.report(task, timeout=30)
    assert report.body.startswith(f"#{task.id} ❌ Failed")
    assert "approval expired" in report.body
    assert f"!retry {task.id}" in report.body
    assert await boss.state(task, "failed") == "failed"
    move = await last_move(boss, task)
    assert (move["from_state"], move["to_state"], move["actor"]) == (
        "awaiting_approval",
        "failed",
        "coordinator",
    )
    # A ✅ on the expired plan runs nothing.
    await boss.react(plan.event_id, "✅")
    await boss.person.settle(2)
    assert await boss.db.steps(task.id) == []
    assert await boss.db.audit(task.id) == {}
    assert [s for s in boss.thread(task) if council_of(s).get("kind") == "plan"] == [plan]
    shown = await task_status(boss, task)
    assert f"Task #{task.id}: failed" in shown.body
    assert "approval expired" in shown.body
