"""The council's memory in the task engine (real store, real service, recording outbox):

- a task that failed a step and was fixed leaves one lesson (the failure's output, the fix),
  saved once however often it is driven, also after a restart;
- a later task with a similar mission carries it in its plan and review asks, an unrelated
  one does not, and its report says "Lessons used: #1";
- `tasks.lessons_in_prompt: 0` puts none in;
- `!lessons` and `!forget` through the coordinator's registry, with the access rules.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bots.coordinator.commands import coordinator_commands
from bots.coordinator.lesson_commands import read_lesson_id
from bots.errors import CommandError
from bots.execution.requests import (
    RESULT_EVENT,
    ExecOutput,
    ExecResult,
    ResultStatus,
    command_digest,
    result_content,
)
from bots.ids import Digest, EventID, RequestID, UserID
from bots.message import Message, RoomEvent
from bots.routing.dispatch import Dispatcher
from tests.support.task_engine import MASTER, ROOM, Bench, open_bench, use

NO_SPACE = "E: You don't have enough free space in /var/cache/apt/archives/."
FIX = json.dumps({"steps": [{"host": "local", "command": "df -h /", "purpose": "only root"}]})


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    opened = await open_bench(tmp_path)
    yield opened
    await opened.store.close()


async def result(bench: Bench, rid: str, status: ResultStatus, out: str = "") -> None:
    run = await bench.store.tasks.step(RequestID(rid))
    assert run is not None, rid
    content: dict[str, Any] = result_content(
        ExecResult(
            RequestID(rid),
            Digest(command_digest(run.host, run.command)),
            status,
            f"Execution {rid} {status}",
            exit_status=0 if status == "succeeded" else 100,
            duration_ms=100,
            output=ExecOutput.tails("", out),
        )
    )
    executor = bench.settings.user_id(bench.settings.executor)
    event = RoomEvent(ROOM, EventID(f"$res-{rid}"), executor, RESULT_EVENT, content)
    await bench.service.on_event(event, bench.bot)


def council(bench: Bench, task: int, key: str) -> dict[str, Any]:
    """The council object of the ask sent under the task's action `key`."""
    sent = bench.matrix.by_key(f"{task}/{key}")
    return sent.content


async def failed_then_fixed(bench: Bench) -> None:
    """Task 1: its plan fails with a full disk, Claude's fix works, the task completes."""
    plan = await bench.to_approval()
    await bench.react(plan.event_id, "✅")
    await result(bench, "t1-a1-s1", "failed", NO_SPACE)
    await bench.answer(
        "claude", "t1-fix-1", f"The disk was full; only the root filesystem.\n```json\n{FIX}\n```"
    )
    await bench.answer("gpt", "t1-review-2", "APPROVE — read-only.")
    await bench.react(bench.matrix.by_key("1/plan-msg-2").event_id, "✅")
    await result(bench, "t1-a2-s1", "succeeded", "/dev/sda1 41% /")
    assert (await bench.task(1)).state == "completed"


async def to_planning(bench: Bench, n: int, mission: str) -> None:
    """Task `n` with one proposal (Claude's), so it goes straight to planning."""
    await bench.order(mission, key=f"$intake{n}")
    await bench.answer("claude", f"t{n}-propose-1", "Run df -h.", task=n)
    for agent in ("gpt", "gemini"):
        await bench.answer(agent, f"t{n}-propose-1", "", status="failed", reason="quota", task=n)
    assert (await bench.task(n)).state == "planning"


async def test_a_fixed_failure_is_one_lesson_saved_once(bench: Bench) -> None:
    await failed_then_fixed(bench)
    [lesson] = await bench.store.lessons.recent(10)
    assert (lesson.task_id, lesson.outcome) == (1, "completed")
    assert lesson.mission == "report disk usage of local"
    for part in (
        "Failed (attempt 1): step 1 on local, failed, exit 100: df -h",
        NO_SPACE,
        "Fix that worked (attempt 2): The disk was full; only the root filesystem.",
        "local$ df -h /",
        "Outcome: completed.",
    ):
        assert part in lesson.text
    assert len(lesson.text) <= bench.settings.tasks.lesson_chars
    assert (await bench.store.tasks.action_done(1, "lesson")) == "lesson:1"

    bench.restart()
    await bench.service.resume()
    await bench.service.drive(1)
    assert len(await bench.store.lessons.recent(10)) == 1
    assert "Lessons used" not in bench.matrix.by_key("1/report").body  # it had none


async def test_a_similar_task_is_taught_and_an_unrelated_one_is_not(bench: Bench) -> None:
    await failed_then_fixed(bench)
    await to_planning(bench, 2, "report disk usage of local again")
    await to_planning(bench, 3, "rotate nginx logs")

    [taught] = council(bench, 2, "plan-ask-1")["context"]["lessons"]
    assert taught["id"] == 1
    assert NO_SPACE in taught["text"]
    assert council(bench, 3, "plan-ask-1")["context"]["lessons"] == []

    await bench.answer("claude", "t2-plan-1", f"```json\n{FIX}\n```", task=2)
    assert [x["id"] for x in council(bench, 2, "review-ask-1")["context"]["lessons"]] == [1]
    await bench.service.cancel(2, MASTER)
    report = bench.matrix.by_key("2/report")
    assert report.body.endswith("Lessons used: #1")
    assert report.reply is not None
    assert "Lessons used: #1" in (report.reply.html or "")
    assert await bench.store.lessons.used(3) == []


async def test_no_lessons_in_prompts_when_switched_off(bench: Bench) -> None:
    await failed_then_fixed(bench)
    use(bench, lessons_in_prompt=0)
    await to_planning(bench, 2, "report disk usage of local again")
    assert council(bench, 2, "plan-ask-1")["context"]["lessons"] == []


async def test_a_task_that_ran_nothing_leaves_no_lesson(bench: Bench) -> None:
    await to_planning(bench, 1, "report disk usage of local")
    await bench.service.cancel(1, MASTER)
    assert await bench.store.lessons.recent(10) == []
    assert (await bench.store.tasks.action_done(1, "lesson")) == "lesson:none"


# --- the commands -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "found"),
    [
        ("3", 3),
        ("#12", 12),
        ("", CommandError("Which lesson? Send its number, e.g. !forget 3 (!lessons lists them).")),
        (
            "three",
            CommandError(
                '"three" is not a lesson number. Send it like this: !forget 3 '
                "(!lessons lists them)."
            ),
        ),
        ("3 4", CommandError("!forget takes only a lesson number, e.g. !forget 3.")),
    ],
)
def test_reading_forget(args: str, found: int | CommandError) -> None:
    if isinstance(found, int):
        assert read_lesson_id(args) == found
        return
    with pytest.raises(CommandError) as raised:
        read_lesson_id(args)
    assert str(raised.value) == str(found)


async def say(bench: Bench, body: str, sender: UserID = MASTER, power: int = 100) -> str:
    """What the coordinator answers `body` from `sender` (each message its own event)."""
    dispatcher = Dispatcher(bench.bot, coordinator_commands(bench.service, clock=bench.clock))
    message = Message(ROOM, EventID(f"$m{next(bench.events)}"), sender, body, sender_power=power)
    replies = await dispatcher.handle(message)
    return "\n".join(reply.body for reply in replies)


async def test_lessons_lists_searches_and_forget_removes(bench: Bench) -> None:
    lessons = bench.store.lessons
    await lessons.add(1, mission="web-1의 디스크 정리", outcome="completed", text="", now=0)
    await lessons.add(2, mission="nginx 재시작", outcome="failed", text="", now=1)
    guest = UserID("@guest:localhost")

    listed = await say(bench, "!lessons", guest, power=0)  # anyone in the room may read
    assert listed.splitlines()[1:3] == [
        "• #2 · task #2 · ❌ failed · nginx 재시작",
        "• #1 · task #1 · ✅ completed · web-1의 디스크 정리",
    ]
    found = await say(bench, "!lessons web-1 디스크를", guest, power=0)
    assert "#1 · task #1" in found
    assert "#2 ·" not in found

    refused = await say(bench, "!forget 1", guest, power=0)
    assert "forget" in refused.lower()
    assert await lessons.get(1) is not None
    assert (await say(bench, "!forget 1")).startswith("🗑️ Lesson #1 (task #1) forgotten")
    assert await lessons.get(1) is None
    assert await say(bench, "!forget 1") == "There is no lesson #1. !lessons lists them."
    assert "No lesson matches “디스크”" in await say(bench, "!lessons 디스크")
