"""A plan approval lives as long as the plan runs, and a task's commands stay in its thread.

A real Synapse, the embedded `local` host, the executor bot with a 4 s approval window, the
master's encrypted client and the coordinator's account played by a plain client (as in
test_plan_approval.py, whose executor has a long window: this module has its own). The
plan's first stage runs longer than the window; its second stage still runs on the one ✅,
without a prompt; every message the executor says about both requests is in the thread the
requests were sent in.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.execution.requests import (
    REQUEST_EVENT,
    RESULT_EVENT,
    ExecRequest,
    PlanApprovalRef,
    new_request,
    request_content,
)
from bots.homeserver.credentials import load_credentials
from bots.ids import EventID, RequestID, TaskID, UserID
from tests.integration.test_plan_approval import (
    Stage,
    marker,
    post_plan,
    prompts,
    result_of,
    task_number,
)
from tests.support.council import InProcessBots, ThrowawayCouncil
from tests.support.person import Person, Seen

pytestmark = pytest.mark.integration

WINDOW_SECONDS = 4.0
FIRST_STAGE_SECONDS = 7


@pytest.fixture(scope="module")
async def short(council: ThrowawayCouncil, master: Person) -> AsyncIterator[Stage]:
    """The executor with a short approval window, and the coordinator's account."""
    execution = dataclasses.replace(
        council.settings.execution, approval_expiry_seconds=WINDOW_SECONDS
    )
    settings = dataclasses.replace(council.settings, execution=execution)
    executor = await InProcessBots.start(settings, ["executor"])
    executor_id = council.user_id("executor")
    creds = load_credentials(council.data, council.settings.coordinator.localpart)
    assert creds is not None
    coordinator = await Person.login(
        council.url, creds.user_id, creds.password, Path(tempfile.mkdtemp(prefix="cvx-coord-"))
    )
    room = council.council_room
    for person in (master, coordinator):
        await person.sees_devices_of(executor_id)
    yield Stage(executor, executor_id, coordinator, coordinator, room)
    await executor.stop()
    await coordinator.client.logout()  # the coordinator account keeps only its bot's device
    await coordinator.close()


async def ask_in_thread(
    stage: Stage,
    master: Person,
    task: int,
    step: int,
    command: str,
    plan: str,
    tick: str,
    root: str,
) -> RequestID:
    """The coordinator relays a step of the task in the task's thread, as the engine does."""
    built = new_request(
        "local",
        command,
        UserID(master.user_id),
        RequestID(f"t{task}-a1-s{step}"),
        task_id=TaskID(str(task)),
        step=step,
        plan_approval=PlanApprovalRef(EventID(plan), EventID(tick)),
    )
    assert isinstance(built, ExecRequest), built
    content = request_content(built)
    content["m.relates_to"] = {
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": root},
    }
    await stage.coordinator.send_event(stage.room, REQUEST_EVENT, content)
    return built.request_id


def said_about(master: Person, stage: Stage, rid: str) -> list[Seen]:
    """The executor's messages about `rid` (its progress edits aside)."""
    return master.matching(
        lambda s: (
            s.sender == stage.executor_id
            and rid in s.body
            and s.relates_to.get("rel_type") != "m.replace"
        )
    )


async def test_a_stage_after_a_step_longer_than_the_window_runs_on_the_one_tick(
    master: Person, short: Stage
) -> None:
    task = task_number()
    first_done, second_done = marker("window-1"), marker("window-2")
    commands = [f"sleep {FIRST_STAGE_SECONDS} && touch {first_done}", f"touch {second_done}"]
    root = await short.coordinator.say(short.room, f"#{task} 📋 Task #{task} registered")
    plan = await post_plan(short, task, commands)
    tick = await master.react(short.room, plan, "✅")
    ticked = time.monotonic()
    first = await ask_in_thread(short, master, task, 1, commands[0], plan, tick, root)
    ran = await master.wait_for_event(RESULT_EVENT, result_of(first), timeout=60)
    assert ran.content["status"] == "succeeded"
    assert time.monotonic() - ticked > WINDOW_SECONDS, "the first stage outlasted the window"

    second = await ask_in_thread(short, master, task, 2, commands[1], plan, tick, root)
    ran = await master.wait_for_event(RESULT_EVENT, result_of(second), timeout=60)
    assert ran.content["status"] == "succeeded"
    assert first_done.exists()
    assert second_done.exists()
    assert not prompts(master, short, first)
    assert not prompts(master, short, second)

    await master.wait_for(lambda s: s in said_about(master, short, second), count=2, timeout=30)
    for rid in (first, second):
        said = said_about(master, short, rid)
        assert said, f"the executor said nothing about {rid}"
        outside = [s.body for s in said if s.relates_to.get("event_id") != root]
        assert not outside, f"said outside the task's thread: {outside}"
        assert all(s.relates_to.get("rel_type") == "m.thread" for s in said)
