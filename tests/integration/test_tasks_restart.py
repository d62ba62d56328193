"""A task survives SIGKILL of the coordinator: it continues from its stored state, and
nothing is done twice — no proposal or vote asked twice (the fake LLM server's request log),
no poll posted twice (what the master's client received), no step run twice (the executor's
audit log).

The coordinator runs in its own process (`chavion bot coordinator`) so it can be killed
without a clean stop; the executor and the agents run in this process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bots.events import POLL_END, POLL_START
from bots.execution.requests import REQUEST_EVENT, RESULT_EVENT
from tests.support.council_script import CouncilScript, Stage, plan_json, step
from tests.support.tasks import (
    AGENTS,
    CoordinatorProcess,
    StartTaskBots,
    TaskBots,
    TaskMaster,
    TaskRef,
    in_thread,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def bots(start_task_bots: StartTaskBots) -> AsyncIterator[TaskBots]:
    async with start_task_bots("tasks-restart", own_process=True) as started:
        yield started


@pytest.fixture
def process(bots: TaskBots) -> CoordinatorProcess:
    assert bots.process is not None
    return bots.process


def each_agent_asked_once(script: CouncilScript, stage: Stage) -> dict[str, int]:
    return {a: script.count(stage, a) for a in AGENTS}


def in_task(boss: TaskMaster, task: TaskRef, event_type: str) -> list[str]:
    thread = in_thread(task.root)
    return [s.event_id for kind, s in boss.person.events if kind == event_type and thread(s)]


async def test_killed_while_the_agents_vote_it_tallies_once_after_the_restart(
    boss: TaskMaster, script: CouncilScript, process: CoordinatorProcess
) -> None:
    script.delays["vote"] = 3.0  # the votes arrive while the coordinator is down
    task = await boss.order("//chavion_task: report disk usage of local")
    poll = await boss.poll(task)
    await process.kill()
    await boss.answers(task, "vote", count=len(AGENTS), timeout=60)
    await process.start()
    plan = await boss.plan(task)
    await boss.react(plan.event_id, "✅")
    report = await boss.report(task)
    assert report.body.startswith(f"#{task.id} ✅ Done")

    assert in_task(boss, task, POLL_START) == [poll.event_id]
    ended = [
        s
        for kind, s in boss.person.events
        if kind == POLL_END and s.relates_to.get("event_id") == poll.event_id
    ]
    assert len(ended) == 1
    assert each_agent_asked_once(script, "propose") == dict.fromkeys(AGENTS, 1)
    assert each_agent_asked_once(script, "vote") == dict.fromkeys(AGENTS, 1)
    assert script.count("plan") == 1
    acks = [s for s in boss.thread(task) if s.body.startswith(f"#{task.id} 📋")]
    assert len(acks) == 1
    audit = await boss.db.audit(task.id)
    assert audit[f"t{task.id}-a1-s1"].count("start") == 1


async def test_killed_while_a_step_runs_it_never_runs_the_step_again(
    boss: TaskMaster, script: CouncilScript, process: CoordinatorProcess
) -> None:
    script.plan = plan_json(step("local", "sleep 3; df -h"))
    task = await boss.order("//chavion_task: report disk usage of local, slowly")
    plan = await boss.plan(task)
    await boss.react(plan.event_id, "✅")
    request_id = f"t{task.id}-a1-s1"
    await boss.person.wait_for_event(
        REQUEST_EVENT, lambda s: s.content.get("request_id") == request_id, timeout=60
    )
    await process.kill()
    # The executor finishes the step while the coordinator is down.
    await boss.person.wait_for_event(
        RESULT_EVENT, lambda s: s.content.get("request_id") == request_id, timeout=60
    )
    await process.start()
    report = await boss.report(task)
    assert report.body.startswith(f"#{task.id} ✅ Done")
    assert "Filesystem" in report.body

    sent = [
        s
        for kind, s in boss.person.events
        if kind == REQUEST_EVENT and s.content.get("task_id") == str(task.id)
    ]
    assert [s.content["request_id"] for s in sent] == [request_id]
    audit = await boss.db.audit(task.id)
    assert list(audit) == [request_id]
    assert audit[request_id].count("start") == 1
    assert audit[request_id].count("end") == 1
    reports = [s for s in boss.thread(task) if s.body.startswith(f"#{task.id} ✅ Done")]
    assert len(reports) == 1
    assert script.count("plan") == 1
    assert each_agent_asked_once(script, "propose") == dict.fromkeys(AGENTS, 1)
