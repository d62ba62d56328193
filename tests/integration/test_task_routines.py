"""Routines and model switching end to end (issue 17): a mission that succeeded three times
is offered as a routine, saved, and replayed from its stored plan through review and the
master's ✅ without proposals or a vote; `!model` switches an agent's model, refuses an
unknown agent naming the known ones, and the switch survives restarting the agents.

Real Synapse, the master's encrypted nio client, the executor on the embedded SSH server
(`local`), agents on the real SDKs against the fake LLM server scripted by stage. Assertions
are on what the master's client receives, the store's task tables and the fake server's
request log.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator

import pytest

from bots.events import POLL_START
from tests.fakes.llm_server import FakeLLMServer
from tests.support.council import InProcessBots
from tests.support.council_script import CouncilScript, Stage
from tests.support.person import Seen
from tests.support.tasks import (
    AGENTS,
    StartTaskBots,
    TaskBots,
    TaskMaster,
    TaskRef,
    answering,
    council_of,
    models_of,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def bots(start_task_bots: StartTaskBots) -> AsyncIterator[TaskBots]:
    async with start_task_bots("routines", tasks={"routine_after": 3}) as started:
        yield started


async def said_back(boss: TaskMaster, root: str, needle: str, what: str) -> Seen:
    """The coordinator's answer to the master's message `root` holding `needle`."""
    return await boss.wait(
        answering(root),
        lambda s: s.sender == boss.coordinator and needle in s.body,
        what=what,
    )


async def approved_run(boss: TaskMaster, text: str) -> TaskRef:
    task = await boss.order(text)
    plan = await boss.plan(task)
    await boss.react(plan.event_id, "✅")
    report = await boss.report(task)
    assert report.body.startswith(f"#{task.id} ✅ Done"), report.body
    return task


async def test_a_routine_is_offered_after_three_successes_and_replays_through_approval(
    boss: TaskMaster, script: CouncilScript
) -> None:
    token = secrets.token_hex(3)  # the session's store holds other modules' missions
    mission = f"report disk usage of local ({token})"
    done = [
        await approved_run(boss, f"//chavion_task: {mission}"),
        await approved_run(boss, f"//chavion_task: high: Report disk usage of local ({token})!"),
        await approved_run(boss, f"!task report  disk usage of local {token}."),
    ]
    third = done[-1]
    offer = await boss.in_thread(
        third,
        lambda s: s.sender == boss.coordinator and "🔁" in s.body,
        what="the routine offer",
    )
    assert offer.body.startswith(f"#{third.id} 🔁 This succeeded 3 times")
    assert f"!routine save {third.id} <name>" in offer.body
    assert [s.body for t in done[:2] for s in boss.thread(t) if "🔁" in s.body] == []

    name = f"disks-{token}"
    saved = await boss.command(f"!routine save {third.id} {name}")
    await said_back(boss, saved, f"Saved routine {name}", "the routine saved")
    stages: tuple[Stage, ...] = ("propose", "vote", "plan", "review")
    before = {stage: script.count(stage) for stage in stages}

    ordered = await boss.command(f"!routine run {name}")
    ack = await said_back(boss, ordered, f"🔁 Routine {name}", "the run's acknowledgement")
    found = re.match(r"#(\d+) ", ack.body)
    assert found is not None, ack.body
    run = TaskRef(int(found.group(1)), ordered)
    plan = await boss.plan(run)
    assert [s["command"] for s in council_of(plan)["steps"]] == ["df -h"]
    await boss.react(plan.event_id, "✅")
    report = await boss.report(run)
    assert report.body.startswith(f"#{run.id} ✅ Done")
    assert "Filesystem" in report.body  # df -h really ran, after the ✅
    await boss.state(run, "completed")

    assert [to for _, to in await boss.db.moves(run.id)] == [
        "pending",
        "reviewing",
        "awaiting_approval",
        "running",
        "completed",
    ]
    after = {stage: script.count(stage) for stage in stages}
    assert after == {**before, "review": before["review"] + 1}  # only the judge was asked
    assert boss.events(run, POLL_START) == []
    assert [s.body for s in boss.thread(run) if "💡" in s.body or "🗳️" in s.body] == []
    listed = await boss.command("!routine list")
    shown = await said_back(boss, listed, name, "the routine list")
    as_saved = f"report  disk usage of local {token}."  # the third order's own words
    assert f"• {name} — {as_saved} (from #{third.id}, run 1 time(s))" in shown.body
    removed = await boss.command(f"!routine rm {name}")
    await said_back(boss, removed, f"Removed routine {name}", "the routine removed")


async def test_model_refuses_an_unknown_agent_and_a_switch_survives_restarting_the_agents(
    boss: TaskMaster, bots: TaskBots, llm: FakeLLMServer, script: CouncilScript
) -> None:
    configured = {m.name: m.model for m in models_of(bots.config_path)}["gpt"]
    switched = "gpt-5-chavion-test"
    asked = await boss.command("!model bard gpt-5")
    refusal = await said_back(boss, asked, "Unknown agent", "the refusal")
    assert "Unknown agent 'bard'" in refusal.body
    assert all(name in refusal.body for name in ("Claude (claude)", "GPT (gpt)"))
    empty = await boss.command("!model gpt")
    await said_back(boss, empty, "Name the model for GPT", "the refusal of no model")

    switch = await boss.command(f"!model gpt {switched}")
    try:
        await said_back(boss, switch, f"GPT now uses {switched}", "the switch")
        await bots.others.stop()  # the agents (and executor) go down and come back
        bots.others = await InProcessBots.start(bots.settings, ["executor", *AGENTS])
        question = await boss.command("GPT: say hello")
        await boss.wait(
            lambda s: s.in_reply_to == question or s.relates_to.get("event_id") == question,
            lambda s: s.sender == boss.council.user_id("gpt"),
            what="GPT's answer after the restart",
        )
        openai = [r for r in llm.requests if r.model in (switched, configured)]
        assert openai[-1].model == switched
        overview = await boss.command("!agents")
        shown = await said_back(boss, overview, "Agents:", "the agents overview")
        assert f"{switched} (config: {configured})" in shown.body
    finally:
        reset = await boss.command("!model gpt reset")
        await said_back(boss, reset, "back on its configured model", "the reset")
