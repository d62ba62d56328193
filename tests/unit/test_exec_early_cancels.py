"""A request whose cancel came first never runs.

When the executor is away, the coordinator counts a step lost after `tasks.step_seconds`
and sends `org.chavion.exec.cancel` for it. The executor, back, may read the cancel before
the request it names (or while that request is still being opened), and across a restart.
A cancel from an allowed sender (the coordinator relaying its task, or an approver) that
names no known request is therefore kept in the audit log; the request, arriving later, is
refused as cancelled (audited, said once in its thread) and never run. A cancel from anyone
else, or naming another request or another task, changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from bots.context import BotContext
from bots.execution.ledger import RequestLedger
from bots.execution.requests import (
    CANCEL_EVENT,
    REQUEST_EVENT,
    ExecRequest,
    new_request,
    request_content,
)
from bots.execution.service import ExecutionService
from bots.ids import EventID, RequestID, TaskID, UserID
from bots.message import Reply, RoomEvent
from bots.settings.loading import load_settings
from bots.settings.model import Settings
from bots.store import Store
from executor.runner import CommandRunner
from tests.unit.test_executor_flow import (
    ASKS_APPROVAL,
    AUTO_APPROVED,
    EXAMPLE_CONFIG,
    ROOM,
    FakeEngine,
    FakeHomeserver,
)

RID = "t12-a1-s1"
ROOT = EventID("$task-thread-root")
STRANGER = "@stranger:example.org"


@dataclass
class Executor:
    """One executor process on a database that outlives it (`restart` makes the next)."""

    settings: Settings
    db: Path
    engine: FakeEngine
    homeserver: FakeHomeserver
    audit: RequestLedger
    service: ExecutionService

    @property
    def coordinator(self) -> str:
        return self.settings.user_id(self.settings.coordinator)

    async def cancel(
        self, rid: str = RID, *, sender: str | None = None, task: str | None = "12", n: int = 1
    ) -> list[Reply]:
        content: dict[str, Any] = {"request_id": rid, "reason": "the step was counted lost"}
        if task is not None:
            content["task_id"] = task
        return await self.event(f"$cancel-{n}", CANCEL_EVENT, content, sender or self.coordinator)

    async def ask(self, command: str = ASKS_APPROVAL, rid: str = RID) -> list[Reply]:
        request = new_request(
            "local", command, self.settings.master_user_id, RequestID(rid), task_id=TaskID("12")
        )
        assert isinstance(request, ExecRequest)
        content: dict[str, Any] = request_content(request)
        content["m.relates_to"] = {"rel_type": "m.thread", "event_id": ROOT}
        return await self.event(f"$ask-{rid}", REQUEST_EVENT, content, self.coordinator)

    async def event(
        self, event_id: str, kind: str, content: dict[str, Any], sender: str, *, wait: bool = True
    ) -> list[Reply]:
        event = RoomEvent(ROOM, EventID(event_id), UserID(sender), kind, content)
        bot = cast(BotContext, SimpleNamespace(matrix=self.homeserver))
        answers = await self.service.on_event(event, bot)
        if wait:
            await self.service._work.drain(timeout=10)
        return answers

    async def restart(self) -> Executor:
        await self.service.aclose()
        await self.audit.close()
        return await started(self.settings, self.db, self.engine, self.homeserver)

    async def state(self, rid: str = RID) -> str | None:
        record = await self.audit.get(RequestID(rid))
        return None if record is None else record.state

    async def kinds(self, rid: str = RID) -> list[str]:
        return [entry.kind for entry in await self.audit.history(RequestID(rid))]


async def started(
    settings: Settings, db: Path, engine: FakeEngine, homeserver: FakeHomeserver
) -> Executor:
    audit = await RequestLedger.open(db)
    service = ExecutionService(settings, cast(CommandRunner, engine), audit, ROOM)
    service.attach(cast(BotContext, SimpleNamespace(matrix=homeserver)))
    return Executor(settings, db, engine, homeserver, audit, service)


@pytest.fixture
async def executor(tmp_path: Path) -> AsyncIterator[list[Executor]]:
    """A list holding the running executor, so a test's restart is closed at the end."""
    settings = load_settings(EXAMPLE_CONFIG)
    db = tmp_path / "chavion.db"
    store = await Store.open(db)
    running = [await started(settings, db, FakeEngine(), FakeHomeserver())]
    yield running
    await running[-1].service.aclose()
    await running[-1].audit.close()
    await store.close()


CANCELLED_FIRST = ["cancel", "request", "decision", "cancel"]
"""The audit log of a request whose cancel came first: the cancel kept, the request with its
policy decision, and its move to cancelled."""


@pytest.mark.parametrize(
    ("order", "command", "state", "kinds", "ran"),
    [
        ("cancel, then request", ASKS_APPROVAL, "cancelled", CANCELLED_FIRST, False),
        (
            "cancel, then an auto-approved request",
            AUTO_APPROVED,
            "cancelled",
            ["cancel", "request", "decision", "approval", "cancel"],
            False,
        ),
        ("cancel, restart, then request", ASKS_APPROVAL, "cancelled", CANCELLED_FIRST, False),
        ("the same cancel twice, then request", ASKS_APPROVAL, "cancelled", CANCELLED_FIRST, False),
        (
            "request, then cancel",
            ASKS_APPROVAL,
            "cancelled",
            ["request", "decision", "cancel"],
            False,
        ),
        (
            "a stranger's cancel, then request",
            ASKS_APPROVAL,
            "pending",
            ["request", "decision"],
            False,
        ),
        (
            "a cancel of another id, then request",
            ASKS_APPROVAL,
            "pending",
            ["request", "decision"],
            False,
        ),
        (
            "a cancel naming another task, then request",
            ASKS_APPROVAL,
            "pending",
            ["cancel", "request", "decision"],
            False,
        ),
        (
            "a stranger's cancel, then an auto-approved request",
            AUTO_APPROVED,
            "finished",
            None,
            True,
        ),
    ],
)
async def test_a_cancel_that_comes_before_its_request(
    executor: list[Executor],
    order: str,
    command: str,
    state: str,
    kinds: list[str] | None,
    ran: bool,
) -> None:
    first = executor[0]
    if order.startswith("a stranger's"):
        await first.cancel(sender=STRANGER)
    elif order.startswith("a cancel of another id"):
        await first.cancel("t12-a1-s2")
    elif order.startswith("a cancel naming another task"):
        await first.cancel(task="13")
    elif order.startswith("cancel") or order.startswith("the same cancel"):
        assert await first.cancel() == []  # nothing to say yet: there is no request
    if order.startswith("the same cancel"):
        await first.cancel()
    if "restart" in order:
        executor.append(await first.restart())
    now = executor[-1]
    await now.ask(command)
    if order == "request, then cancel":
        assert await now.cancel(), "the cancel is answered"

    assert await now.state() == state
    if kinds is not None:
        assert await now.kinds() == kinds
    assert bool(now.engine.started) is ran
    said = {key for key in now.homeserver.sent if key.startswith(f"{RID}/")}
    if state == "cancelled" and order != "request, then cancel":
        assert said == {f"{RID}/not-started", f"{RID}/result-event"}  # said once, no prompt
        reply = now.homeserver.sent[f"{RID}/not-started"][1]
        assert isinstance(reply, Reply)
        assert reply.thread_root == ROOT
        assert "cancelled" in reply.body
        assert now.homeserver.result_event(RequestID(RID))["status"] == "cancelled"
    if state == "pending":
        assert f"{RID}/prompt" in said  # asked as usual


async def test_the_same_request_asked_again_after_its_early_cancel_is_still_never_run(
    executor: list[Executor],
) -> None:
    first = executor[0]
    await first.cancel()
    await first.ask(AUTO_APPROVED)
    await first.ask(AUTO_APPROVED)
    assert first.engine.started == []
    assert await first.state() == "cancelled"
    assert f"{RID}/duplicate/$ask-{RID}" in first.homeserver.sent


@pytest.mark.parametrize("first", ["request", "cancel"])
@pytest.mark.parametrize("command", [AUTO_APPROVED, ASKS_APPROVAL], ids=["auto-approved", "asks"])
async def test_a_request_and_its_cancel_read_in_one_sync_never_run(
    executor: list[Executor], first: str, command: str
) -> None:
    """The client hands each event of a sync to its own task: the two are handled at once."""
    now = executor[0]
    ask, cancel = now.ask(command), now.cancel()
    both = (ask, cancel) if first == "request" else (cancel, ask)
    await asyncio.gather(*both)
    await now.service._work.drain(timeout=10)
    assert now.engine.started == []
    assert await now.state() == "cancelled"
    assert "start" not in await now.kinds()
