"""The council's memory end to end: a failure and its fix in one task reach the planner's
(and the reviewer's) prompt of a similar later task, and not of an unrelated one; the later
task's report says which lessons it used; `!lessons` and `!forget` answer in the room.

Real Synapse, the master's encrypted client, the executor on the embedded SSH server
(`local`), agents on their real SDKs against the fake LLM server (`CouncilScript`).
Assertions are on the fake server's request log (what each model was asked), what the
master's client receives and the store's tables.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from tests.fakes.llm_server import FakeLLMServer, RecordedRequest
from tests.support.council_script import CouncilScript, plan_json, step
from tests.support.person import Seen
from tests.support.tasks import (
    StartTaskBots,
    TaskBots,
    TaskMaster,
    TaskRef,
    council_of,
)

pytestmark = pytest.mark.integration

MISSING = "/nonexistent-cvx-lesson"
FIX_WORDS = "The directory is missing; list the root instead."


@pytest.fixture(scope="module")
async def bots(start_task_bots: StartTaskBots) -> AsyncIterator[TaskBots]:
    async with start_task_bots(
        "task-lessons", tasks={"max_attempts": 2, "lessons_in_prompt": 3}
    ) as started:
        yield started


@contextlib.asynccontextmanager
async def approving_every_plan(boss: TaskMaster, task: TaskRef) -> AsyncIterator[None]:
    """Taps ✅ on each plan the coordinator shows for `task` while the block runs."""
    approved: set[str] = set()

    async def keep_approving() -> None:
        while True:
            for seen in boss.thread(task):
                if council_of(seen).get("kind") == "plan" and seen.event_id not in approved:
                    approved.add(seen.event_id)
                    await boss.react(seen.event_id, "✅")
            await asyncio.sleep(0.2)

    runner = asyncio.create_task(keep_approving())
    try:
        yield
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner


def asked(llm: FakeLLMServer, task: TaskRef, heading: str) -> list[RecordedRequest]:
    """The requests whose stage prompt is the task's `heading` ("the plan", "review the plan")."""
    return [r for r in llm.requests if f"# Task #{task.id}: {heading}" in r.system]


async def lesson_of(boss: TaskMaster, task: TaskRef, timeout: float = 30) -> int:
    """The id of the task's lesson, once the coordinator saved it (after the report)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        rows = await boss.db.rows("SELECT id FROM lessons WHERE task_id = ?", task.id)
        if rows:
            return int(rows[0]["id"])
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"task {task.tag} left no lesson in {timeout:.0f} s")
        await asyncio.sleep(0.2)


async def answer_to(boss: TaskMaster, command: str, what: str) -> Seen:
    sent = await boss.command(command)
    return await boss.wait(
        lambda s: s.sender == boss.coordinator,
        lambda s: s.in_reply_to == sent or s.relates_to.get("event_id") == sent,
        what=what,
    )


async def test_a_failure_and_its_fix_teach_a_similar_task_and_not_an_unrelated_one(
    boss: TaskMaster, script: CouncilScript, llm: FakeLLMServer
) -> None:
    # Task 1: the plan fails, the author's fix works.
    script.plan = plan_json(step("local", f"ls {MISSING}"))
    script.set("fix", "*", f"{FIX_WORDS}\n\n" + plan_json(step("local", "ls /")))
    first = await boss.order("//chavion_task: cvxlesson 디렉터리 목록 on local")
    async with approving_every_plan(boss, first):
        report = await boss.report(first, timeout=120)
    assert report.body.startswith(f"#{first.id} ✅ Done")
    lesson = await lesson_of(boss, first)

    # Task 2, alike (Korean particles glued on): the planner and the reviewer are taught.
    script.plan = plan_json(step("local", "ls /"))
    similar = await boss.order("//chavion_task: cvxlesson의 디렉터리 목록을 다시")
    await boss.plan(similar)
    [plan_prompt] = asked(llm, similar, "the plan")
    for taught in ("Lessons from earlier tasks", f"Lesson #{lesson}", MISSING, FIX_WORDS):
        assert taught in plan_prompt.system, f"{taught!r} not in the planner's prompt"
    assert "No such file or directory" in plan_prompt.system  # the failure's real output
    assert any(f"Lesson #{lesson}" in r.system for r in asked(llm, similar, "review the plan"))
    await boss.command(f"!cancel {similar.id}")
    cancelled = await boss.report(similar)
    assert f"Lessons used: #{lesson}" in cancelled.body

    # Task 3, unrelated: nothing of task 1 in its prompts.
    unrelated = await boss.order("//chavion_task: zqvx 인증서 만료일 확인")
    await boss.plan(unrelated)
    [other_prompt] = asked(llm, unrelated, "the plan")
    assert MISSING not in other_prompt.system
    assert f"Lesson #{lesson}\n" not in other_prompt.system
    await boss.command(f"!cancel {unrelated.id}")
    assert f"Lessons used: #{lesson}" not in (await boss.report(unrelated)).body

    # The room can read the lessons; the master can forget one.
    listed = await answer_to(boss, "!lessons cvxlesson", "the !lessons answer")
    assert f"#{lesson} · task #{first.id} · ✅ completed · cvxlesson" in listed.body
    forgot = await answer_to(boss, f"!forget {lesson}", "the !forget answer")
    assert forgot.body.startswith(f"🗑️ Lesson #{lesson} (task #{first.id}) forgotten")
    assert await boss.db.rows("SELECT id FROM lessons WHERE id = ?", lesson) == []
