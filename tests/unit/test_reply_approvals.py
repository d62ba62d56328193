"""A bare `!approve` / `!deny [reason]` sent as a reply, as Element users answer a message.

- The executor approves or denies the request whose prompt was replied to, and says nothing
  on a reply to anything else (a task's plan is the coordinator's: it answers that one).
- The executor's memory of plans counts a reply to a plan as it counts a ✅ on it, so the
  plan's steps run without a prompt each; a reply to another message approves no plan.
(The router's side is in test_router.py, the coordinator's in test_task_commands.py.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from bots.context import BotContext
from bots.errors import CommandError
from bots.execution.plan_approvals import PlanGrant, PlanRefusal
from bots.execution.service import ExecutionService
from bots.ids import EventID, RequestID, UserID
from bots.message import Message
from bots.routing.commands import CommandRequest
from bots.settings.loading import load_settings
from bots.store import Store
from bots.store.plan_approvals import PlanApprovalStore
from executor.runner import CommandRunner
from tests.unit.test_executor_flow import (
    ASKS_APPROVAL,
    EXAMPLE_CONFIG,
    ROOM,
    Bench,
    FakeEngine,
    FakeHomeserver,
    MeddledAudit,
)
from tests.unit.test_plan_approvals import (
    COORD,
    EVE,
    MASTER,
    PLAN,
    ROSTER,
    T0,
    memory,
    plan_message,
    request,
)
from tests.unit.test_plan_approvals import ROOM as PLAN_ROOM

# --- the executor's commands ----------------------------------------------------------------


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    settings = load_settings(EXAMPLE_CONFIG)
    db = tmp_path / "chavion.db"
    store = await Store.open(db)
    audit = cast(MeddledAudit, await MeddledAudit.open(db))
    engine, homeserver = FakeEngine(), FakeHomeserver()
    service = ExecutionService(settings, cast(CommandRunner, engine), audit, ROOM)
    bot = cast(BotContext, SimpleNamespace(matrix=homeserver))
    service.attach(bot)
    yield Bench(settings, service, engine, homeserver, audit, bot)
    await service.aclose()
    await audit.close()
    await store.close()


async def said(bench: Bench, body: str, reply_to: EventID | None) -> list[str]:
    """What the executor answers `body` from the master, sent as a reply to `reply_to`."""
    name, _, args = body.removeprefix("!").partition(" ")
    spec = bench.service.registry().get(name)
    assert spec is not None
    message = Message(
        ROOM, EventID(f"${name}{next(bench.asks)}"), bench.master, body, reply_to=reply_to
    )
    try:
        replies = await spec.handler(CommandRequest(message, args, bench.bot))
    except CommandError as refused:
        return [str(refused)]
    return [reply.body for reply in replies]


def prompt_of(bench: Bench, rid: RequestID) -> EventID:
    return bench.homeserver.sent[f"{rid}/prompt"][0]


# (what the master sends, what it replies to, what the executor says, the request's state)
PROMPT = "the prompt"
ASKING = "the message that asked"
PLAN_MESSAGE = "a task's plan"
NOTHING = "nothing: not a reply"
CASES: list[tuple[str, str, str | None, str]] = [
    ("!approve", PROMPT, "{rid} approved by {master}.", "finished"),
    ("!approve", ASKING, None, "pending"),
    ("!approve", PLAN_MESSAGE, None, "pending"),
    ("!approve", NOTHING, "Usage: !approve <id> (the id is in the request message)", "pending"),
    ("!deny too risky", PROMPT, "deny:too risky", "denied"),
    ("!deny", PROMPT, "deny:", "denied"),
    ("!deny {rid} not now", PROMPT, "deny:not now", "denied"),
    ("!deny too risky", PLAN_MESSAGE, None, "pending"),
    ("!deny", PLAN_MESSAGE, None, "pending"),
    ("!deny {rid} not now", PLAN_MESSAGE, "deny:not now", "denied"),
]


@pytest.mark.parametrize(("body", "target", "answer", "state"), CASES)
async def test_a_reply_is_about_the_prompt_it_answers_and_nothing_else(
    bench: Bench, body: str, target: str, answer: str | None, state: str
) -> None:
    asking = EventID("$asking")
    rid = await bench.ask(ASKS_APPROVAL, event_id=asking)
    replied = {
        PROMPT: prompt_of(bench, rid),
        ASKING: asking,
        PLAN_MESSAGE: EventID("$plan-of-task-12"),
        NOTHING: None,
    }[target]
    answers = await said(bench, body.format(rid=rid), replied)
    await bench.settled()
    if answer is None:
        assert answers == []
    elif answer.startswith("deny:"):
        reason = answer.removeprefix("deny:")
        [told] = answers
        assert rid in told
        assert reason in told
        history = await bench.audit.history(rid)
        assert [e.detail.get("reason") for e in history if e.kind == "denial"] == [reason]
    else:
        assert answers == [answer.format(rid=rid, master=bench.master)]
    assert await bench.state(rid) == state


# --- the executor's memory of plans -------------------------------------------------------


@pytest.fixture
async def plans(tmp_path: Path) -> AsyncIterator[PlanApprovalStore]:
    db = tmp_path / "chavion.db"
    store = await Store.open(db)
    opened = await PlanApprovalStore.open(db, clock=lambda: T0 + 100)
    yield opened
    await opened.close()
    await store.close()


OTHER = EventID("$other")
# (what the master types, the message replied to and its sender as known, whether the plan's
# steps are approved by it)
TYPED: list[tuple[str, EventID | None, UserID | None, UserID, bool]] = [
    ("!approve", PLAN, COORD, MASTER, True),
    ("/approve", PLAN, None, MASTER, True),  # the sender of the plan not remembered
    ("!approve", PLAN, COORD, EVE, False),  # not an approver
    ("!approve", OTHER, COORD, MASTER, False),  # a reply to another message
    ("!approve", None, None, MASTER, False),  # not a reply: which plan?
    ("!approve 12:", None, None, MASTER, True),  # the task named, as people type it
    ("!approve 12.", None, None, MASTER, True),
    ("!deny", PLAN, COORD, MASTER, False),
]


@pytest.mark.parametrize(("body", "reply_to", "replied_sender", "sender", "approves"), TYPED)
async def test_a_reply_to_a_plan_approves_it_as_a_tick_on_it_would(
    plans: PlanApprovalStore,
    body: str,
    reply_to: EventID | None,
    replied_sender: UserID | None,
    sender: UserID,
    approves: bool,
) -> None:
    remembering = memory(plans)
    await remembering.observe(plan_message(at=T0 - 10), ROSTER)
    typed = Message(
        PLAN_ROOM,
        EventID("$typed"),
        sender,
        body,
        reply_to=reply_to,
        reply_to_sender=replied_sender,
        timestamp_ms=int(T0 * 1000),
    )
    await remembering.observe(typed, ROSTER)
    granted = await remembering.grant(request(approval=EventID("$typed")))
    assert isinstance(granted, PlanGrant) is approves, granted


async def test_a_reply_denying_a_plan_stops_an_approval_given_before(
    plans: PlanApprovalStore,
) -> None:
    remembering = memory(plans)
    await remembering.observe(plan_message(at=T0 - 10), ROSTER)
    for event, body in ((EventID("$yes"), "!approve"), (EventID("$no"), "!deny too risky")):
        typed = Message(PLAN_ROOM, event, MASTER, body, reply_to=PLAN, timestamp_ms=int(T0 * 1000))
        await remembering.observe(typed, ROSTER)
    refused = await remembering.grant(request(approval=EventID("$yes")))
    assert isinstance(refused, PlanRefusal)
    assert refused.reason == "the plan was denied by @master:hs ($no)"
