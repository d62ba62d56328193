"""Task messages and events in the dispatcher: a council object sends a bot's message to the
council handler instead of routing it, and `claim=False` hands events over every time they are
seen (the coordinator records them idempotently; a claim before the record could lose one).

The store, settings, roster and router are real; the handlers record what they were given.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest

from bots.app.assembly import build_roster
from bots.context import BotContext, MatrixSide
from bots.ids import EventID, RoomID, UserID
from bots.message import Message, Reply, RoomEvent
from bots.routing.commands import CommandSpec, Registry
from bots.routing.dispatch import Dispatcher
from bots.routing.shared_commands import ping
from bots.settings.loading import load_settings
from bots.settings.paths import EXAMPLE_CONFIG
from bots.store import Store

ROOM = RoomID("!council:localhost")
ASK = {"v": 1, "kind": "ask", "task": 1, "ask": "t1-propose-1", "stage": "propose"}


@dataclass
class Handlers:
    council: list[Message] = field(default_factory=list)
    events: list[RoomEvent] = field(default_factory=list)
    fail: bool = False

    async def on_task_message(self, message: Message, bot: BotContext) -> list[Reply]:
        self.council.append(message)
        if self.fail:
            raise RuntimeError("the engine broke")
        return []

    async def on_event(self, event: RoomEvent, bot: BotContext) -> list[Reply]:
        self.events.append(event)
        return []


@dataclass
class Bench:
    settings: Any
    handlers: Handlers
    context: BotContext

    def dispatcher(self, *, claim: bool = True) -> Dispatcher:
        return Dispatcher(
            self.context,
            Registry([CommandSpec("ping", "check", ping)]),
            council=self.handlers.on_task_message,
            on_event=self.handlers.on_event,
            claim=claim,
        )

    def user(self, name: str) -> UserID:
        if name == "master":
            return self.settings.master_user_id  # type: ignore[no-any-return]
        return self.settings.user_id(self.settings.account(name))  # type: ignore[no-any-return]


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    settings = load_settings(EXAMPLE_CONFIG)
    roster = build_roster(settings)
    account = settings.account("claude")
    identity = roster.get(settings.user_id(account))
    assert identity is not None
    store = await Store.open(tmp_path / "s.db")
    context = BotContext(settings, account, identity, roster, cast(MatrixSide, object()), store)
    yield Bench(settings, Handlers(), context)
    await store.close()


def task_message(sender: UserID, event_id: str = "$ask", **fields: Any) -> Message:
    return Message(
        ROOM, EventID(event_id), sender, "#1 📋 Task #1 registered", council=ASK, **fields
    )


@pytest.mark.parametrize(
    ("sender", "fields", "handled"),
    [
        ("coordinator", {}, True),
        ("gpt", {}, True),
        ("master", {}, False),  # people use commands; a council object from them is ignored
        ("claude", {}, False),  # its own
        ("coordinator", {"replaces": EventID("$old")}, False),  # an edit is not a new message
    ],
    ids=["from the coordinator", "from another agent", "from a person", "own", "an edit"],
)
async def test_who_may_send_a_task_message(
    bench: Bench, sender: str, fields: dict[str, Any], handled: bool
) -> None:
    message = task_message(bench.user(sender), **fields)
    assert await bench.dispatcher().handle(message) == []
    assert bench.handlers.council == ([message] if handled else [])


async def test_a_task_message_is_never_routed_as_chat_or_command(bench: Bench) -> None:
    message = Message(
        ROOM, EventID("$x"), bench.user("gpt"), "Claude, !ping", council={"kind": "answer"}
    )
    assert await bench.dispatcher().handle(message) == []
    assert bench.handlers.council == [message]


async def test_a_claimed_task_message_is_handled_once(bench: Bench) -> None:
    dispatcher = bench.dispatcher()
    message = task_message(bench.user("coordinator"))
    await dispatcher.handle(message)
    await dispatcher.handle(message)  # replayed by a sync after a restart
    assert len(bench.handlers.council) == 1


async def test_unclaimed_messages_and_events_are_handled_each_time_they_are_seen(
    bench: Bench,
) -> None:
    dispatcher = bench.dispatcher(claim=False)
    message = task_message(bench.user("gpt"))
    vote = RoomEvent(
        ROOM, EventID("$v"), bench.user("master"), "org.matrix.msc3381.poll.response", {}
    )
    for _ in range(2):
        await dispatcher.handle(message)
        await dispatcher.handle(vote)
    assert len(bench.handlers.council) == 2
    assert bench.handlers.events == [vote, vote]


async def test_a_failing_council_handler_is_logged_not_answered(
    bench: Bench, caplog: pytest.LogCaptureFixture
) -> None:
    bench.handlers.fail = True
    assert await bench.dispatcher().handle(task_message(bench.user("coordinator"))) == []
    assert "handling the task message $ask failed" in caplog.text
