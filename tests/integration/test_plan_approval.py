"""Plan approvals end to end: a real Synapse, the embedded `local` host, the executor bot,
the master's encrypted client and the coordinator's account played by a plain client.

The master's one ✅ on a plan the coordinator posted runs every step of it without a prompt;
a step not in the plan, or a plan ticked by someone who may not approve, still asks; an
`org.chavion.exec.cancel` from the coordinator stops a running command.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bots.events import COUNCIL_KEY
from bots.execution.ledger import RequestLedger
from bots.execution.requests import (
    CANCEL_EVENT,
    REQUEST_EVENT,
    RESULT_EVENT,
    ExecRequest,
    PlanApprovalRef,
    command_digest,
    new_request,
    request_content,
)
from bots.homeserver.credentials import load_credentials
from bots.ids import EventID, RequestID, TaskID, UserID
from bots.tasks.plans import steps_digest
from bots.text.markdown import markdown_to_html
from tests.support.council import InProcessBots, ThrowawayCouncil
from tests.support.person import Person, Seen

pytestmark = pytest.mark.integration


@dataclass
class Stage:
    executor: InProcessBots
    executor_id: str
    coordinator: Person
    guest: Person
    room: str


@pytest.fixture(scope="module")
async def stage(council: ThrowawayCouncil, master: Person) -> AsyncIterator[Stage]:
    execution = dataclasses.replace(council.settings.execution, approval_expiry_seconds=300)
    settings = dataclasses.replace(council.settings, execution=execution)
    executor = await InProcessBots.start(settings, ["executor"])
    executor_id = council.user_id("executor")
    coordinator_account = council.settings.coordinator
    creds = load_credentials(council.data, coordinator_account.localpart)
    assert creds is not None
    coordinator = await Person.login(
        council.url, creds.user_id, creds.password, Path(tempfile.mkdtemp(prefix="cvx-coord-"))
    )
    password = secrets.token_hex(8)
    await council.register_user("plan-guest", password)
    guest = await Person.login(
        council.url,
        f"@plan-guest:{council.settings.homeserver.server_name}",
        password,
        Path(tempfile.mkdtemp(prefix="cvx-plan-guest-")),
    )
    room = council.council_room
    await master.client.room_invite(room, guest.user_id)
    await guest.join(room)
    for person in (master, coordinator, guest):
        await person.sees_devices_of(executor_id)
    yield Stage(executor, executor_id, coordinator, guest, room)
    await executor.stop()
    await coordinator.client.logout()  # the coordinator account keeps only its bot's device
    await coordinator.close()
    await guest.close()


def marker(name: str) -> Path:
    return Path(tempfile.gettempdir()) / f"cvx-plan-{name}-{secrets.token_hex(4)}"


def plan_step(n: int, command: str) -> dict[str, Any]:
    return {
        "step": n,
        "host": "local",
        "command": command,
        "digest": command_digest("local", command),
        "verify": None,
        "verify_digest": None,
        "rollback": None,
        "rollback_digest": None,
        "parallel": False,
    }


async def post_plan(stage: Stage, task: int, commands: list[str]) -> str:
    """The coordinator's plan message: every command verbatim, the council object with the
    digests (as part E sends it)."""
    steps = [plan_step(n, c) for n, c in enumerate(commands, start=1)]
    body = "\n".join(
        [f"#{task} 🛠️ Plan for approval"]
        + [f"{s['step']}. local:\n```\n{s['command']}\n```" for s in steps]
        + ["✅ to approve, ❌ or !deny to send back"]
    )
    digest = steps_digest(steps)
    council = {"v": 1, "kind": "plan", "task": task, "attempt": 1, "digest": digest}
    council.update(steps=steps, expires_ms=0)
    html = {"format": "org.matrix.custom.html", "formatted_body": markdown_to_html(body)}
    return await stage.coordinator.say(stage.room, body, **html, **{COUNCIL_KEY: council})


async def ask(
    stage: Stage, master: Person, task: int, step: int, command: str, plan: str, tick: str
) -> RequestID:
    """The coordinator relays a step of the master's task, naming the plan approval."""
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
    await stage.coordinator.send_event(stage.room, REQUEST_EVENT, request_content(built))
    return built.request_id


def result_of(rid: str) -> Any:
    return lambda s: s.content.get("request_id") == rid


def prompts(master: Person, stage: Stage, rid: str) -> list[Seen]:
    return master.matching(
        lambda s: s.sender == stage.executor_id and "Approval needed" in s.body and rid in s.body
    )


def task_number() -> int:
    return 9000 + secrets.randbelow(900_000)


async def test_one_tick_on_the_plan_runs_its_steps_without_a_prompt(
    council: ThrowawayCouncil, master: Person, stage: Stage
) -> None:
    task = task_number()
    a, b = marker("a"), marker("b")
    commands = [f"touch {a} && echo made-a", f"touch {b} && echo made-b >&2"]
    plan = await post_plan(stage, task, commands)
    tick = await master.react(stage.room, plan, "✅")
    first = await ask(stage, master, task, 1, commands[0], plan, tick)
    second = await ask(stage, master, task, 2, commands[1], plan, tick)
    done = [
        await master.wait_for_event(RESULT_EVENT, result_of(rid), timeout=60)
        for rid in (first, second)
    ]
    assert [d.content["status"] for d in done] == ["succeeded", "succeeded"]
    assert done[0].content["output"] == {"stdout": "made-a\n", "stderr": ""}
    assert done[1].content["output"]["stderr"] == "made-b\n"
    assert a.exists()
    assert b.exists()
    assert not prompts(master, stage, first)
    assert not prompts(master, stage, second)
    audit = await RequestLedger.open(council.data.store)
    try:
        for rid in (first, second):
            [approval] = [e for e in await audit.history(rid) if e.kind == "approval"]
            assert approval.actor == master.user_id
            assert approval.event_id == tick
            assert approval.detail["plan_event"] == plan
    finally:
        await audit.close()


async def test_a_typed_approve_with_the_task_number_approves_the_plan(
    master: Person, stage: Stage
) -> None:
    task = task_number()
    done = marker("typed")
    command = f"touch {done}"
    plan = await post_plan(stage, task, [command])
    typed = await master.say(stage.room, f"!approve {task}")
    rid = await ask(stage, master, task, 1, command, plan, typed)
    ran = await master.wait_for_event(RESULT_EVENT, result_of(rid), timeout=60)
    assert ran.content["status"] == "succeeded"
    assert done.exists()
    assert not prompts(master, stage, rid)


async def test_a_step_not_in_the_plan_gets_a_prompt(master: Person, stage: Stage) -> None:
    task = task_number()
    never = marker("not-in-plan")
    plan = await post_plan(stage, task, [f"touch {marker('in-plan')}"])
    tick = await master.react(stage.room, plan, "✅")
    rid = await ask(stage, master, task, 1, f"touch {never}", plan, tick)
    await master.wait_for(lambda s: bool(prompts(master, stage, rid)), timeout=30)
    await master.say(stage.room, f"!deny {rid}")
    denied = await master.wait_for_event(RESULT_EVENT, result_of(rid))
    assert denied.content["status"] == "denied"
    assert not never.exists()


async def test_a_plan_ticked_by_someone_who_may_not_approve_approves_nothing(
    master: Person, stage: Stage
) -> None:
    task = task_number()
    never = marker("guest-tick")
    plan = await post_plan(stage, task, [f"touch {never}"])
    tick = await stage.guest.react(stage.room, plan, "✅")
    rid = await ask(stage, master, task, 1, f"touch {never}", plan, tick)
    await master.wait_for(lambda s: bool(prompts(master, stage, rid)), timeout=30)
    await master.say(stage.room, f"!deny {rid}")
    await master.wait_for_event(RESULT_EVENT, result_of(rid))
    assert not never.exists()


async def test_a_cancel_from_the_coordinator_stops_a_running_command(
    council: ThrowawayCouncil, master: Person, stage: Stage
) -> None:
    task = task_number()
    plan = await post_plan(stage, task, ["sleep 30"])
    tick = await master.react(stage.room, plan, "✅")
    began = time.monotonic()
    rid = await ask(stage, master, task, 1, "sleep 30", plan, tick)
    audit = await RequestLedger.open(council.data.store)
    try:
        for _ in range(300):
            record = await audit.get(rid)
            if record is not None and record.state == "running":
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"{rid} never ran")
        cancel = {"request_id": rid, "task_id": str(task), "reason": "the master cancelled"}
        await stage.coordinator.send_event(stage.room, CANCEL_EVENT, cancel)
        ended = await master.wait_for_event(RESULT_EVENT, result_of(rid), timeout=25)
        assert ended.content["status"] == "cancelled"
        assert time.monotonic() - began < 25
        rows = [e for e in await audit.history(rid) if e.kind == "cancel"]
        assert rows
        assert rows[0].actor == stage.coordinator.user_id
        assert rows[0].detail["reason"] == "the master cancelled"
    finally:
        await audit.close()
