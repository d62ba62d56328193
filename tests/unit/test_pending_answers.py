"""Answers owed: recorded at the claim, settled when sent, answered again after a crash.

The store is real (SQLite in a temp dir) and so are the settings, roster and router; only
the homeserver side is a recorder of what the dispatcher sends.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pytest

from bots.agents.streaming import RESUMED_MARK, StreamingAnswer
from bots.app.assembly import build_roster
from bots.context import BotContext, MatrixSide
from bots.ids import EventID, RoomID, UserID
from bots.message import Mentions, Message, Reply, RoomEvent
from bots.routing.commands import CommandSpec, Registry
from bots.routing.dispatch import MAX_ANSWER_RUNS, Dispatcher
from bots.routing.router import Chat
from bots.routing.shared_commands import ping
from bots.settings.loading import load_settings
from bots.settings.paths import EXAMPLE_CONFIG
from bots.store import Store
from bots.store.pending_answers import PendingAnswer, decode_message, encode_message

ROOM = RoomID("!council:localhost")


@pytest.mark.parametrize(
    "message",
    [
        Message(ROOM, EventID("$a"), UserID("@m:localhost"), "Claude, hi"),
        Message(
            ROOM,
            EventID("$b"),
            UserID("@m:localhost"),
            'Claude, 안녕 "quoted" \\ back',
            formatted_body="<b>Claude</b>",
            mentions=Mentions((UserID("@claude:localhost"),), room=True),
            thread_root=EventID("$root"),
            reply_to=EventID("$r"),
            reply_to_sender=UserID("@gpt:localhost"),
            timestamp_ms=1_700_000_000_000,
            sender_power=100,
            is_direct=True,
            encrypted=True,
        ),
    ],
)
def test_a_question_survives_the_store_as_it_was(message: Message) -> None:
    assert decode_message(encode_message(message)) == message


def test_a_field_a_later_version_added_is_dropped() -> None:
    text = encode_message(Message(ROOM, EventID("$a"), UserID("@m:localhost"), "x"))
    assert decode_message(text.replace("{", '{"from_the_future":1,', 1)).body == "x"


async def test_the_record_from_begin_to_finish(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "s.db") as store:
        owed = store.pending_answers
        question = Message(ROOM, EventID("$q"), UserID("@m:localhost"), "Claude, hi")
        await owed.begin("claude", question)
        await owed.begin("claude", question)  # a replay changes nothing
        [item] = await owed.unfinished("claude")
        assert (item.message, item.placeholder, item.attempts) == (question, None, 1)
        assert await owed.unfinished("gpt") == []
        await owed.note_placeholder("claude", "$q", "$shown")
        assert await owed.retry("claude", "$q") == 2
        [item] = await owed.unfinished("claude")
        assert (item.placeholder, item.attempts) == ("$shown", 2)
        await owed.finish("claude", "$q")
        assert await owed.unfinished("claude") == []
        assert await owed.retry("claude", "$q") == 0


# ---- the dispatcher ---------------------------------------------------------------------


@dataclass
class Homeserver:
    """What the dispatcher sent; sends whose key matches `fails` raise."""

    sent: list[Reply] = field(default_factory=list)
    fails: Callable[[str], bool] = lambda key: False
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    async def send(self, reply: Reply) -> EventID:
        if self.fails(reply.key):
            raise RuntimeError("M_LIMIT_EXCEEDED")
        self.sent.append(reply)
        return EventID(f"$sent{next(self._ids)}")


@dataclass
class Brain:
    """An agent's chat: answers, raises, or hangs, and remembers how it was called."""

    calls: list[PendingAnswer | None] = field(default_factory=list)
    behaviour: str = "answer"
    called: asyncio.Event = field(default_factory=asyncio.Event)

    async def chat(
        self, message: Message, route: Chat, bot: BotContext, resumed: PendingAnswer | None = None
    ) -> list[Reply]:
        self.calls.append(resumed)
        self.called.set()
        if self.behaviour == "raise":
            raise RuntimeError("the model broke")
        if self.behaviour == "hang":
            await asyncio.Event().wait()
        return [Reply.answering(message, f"answer {len(self.calls)}")]


@dataclass
class Bench:
    store: Store
    homeserver: Homeserver
    brain: Brain
    dispatcher: Dispatcher
    master: UserID
    context: BotContext

    def question(self, event_id: str, body: str = "Claude, what is 2 + 2?") -> Message:
        return Message(ROOM, EventID(event_id), self.master, body, sender_power=100)

    async def owed(self) -> list[str]:
        return [p.message.event_id for p in await self.store.pending_answers.unfinished("claude")]


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    settings = load_settings(EXAMPLE_CONFIG)
    roster = build_roster(settings)
    account = settings.account("claude")
    identity = roster.get(settings.user_id(account))
    assert identity is not None
    store = await Store.open(tmp_path / "s.db")
    homeserver, brain = Homeserver(), Brain()
    context = BotContext(settings, account, identity, roster, cast(MatrixSide, homeserver), store)
    dispatcher = Dispatcher(
        context, Registry([CommandSpec("ping", "check", ping)]), chat=brain.chat, resume=brain.chat
    )
    yield Bench(store, homeserver, brain, dispatcher, settings.master_user_id, context)
    await store.close()


async def test_an_answer_is_sent_then_settled(bench: Bench) -> None:
    assert await bench.dispatcher.handle(bench.question("$q")) == []
    assert [r.body for r in bench.homeserver.sent] == ["answer 1"]
    assert await bench.owed() == []


async def test_an_answer_cut_off_stays_owed_and_is_answered_once_at_the_next_start(
    bench: Bench,
) -> None:
    bench.brain.behaviour = "hang"
    task = asyncio.create_task(bench.dispatcher.handle(bench.question("$q")))
    await bench.brain.called.wait()
    task.cancel()  # what a stop that cannot wait does; a SIGKILL leaves the same row
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await bench.owed() == ["$q"]

    bench.brain.behaviour = "answer"
    assert await bench.dispatcher.resume() == 1
    assert [r.body for r in bench.homeserver.sent] == ["answer 2"]
    resumed = bench.brain.calls[-1]
    assert resumed is not None
    assert resumed.attempts == 2
    assert await bench.owed() == []
    assert await bench.dispatcher.resume() == 0
    # The sync replays the question after the restart: its claim keeps it from a third run.
    assert await bench.dispatcher.handle(bench.question("$q")) == []
    assert len(bench.brain.calls) == 2


async def test_a_failed_answer_is_settled_by_its_apology(bench: Bench) -> None:
    bench.brain.behaviour = "raise"
    [apology] = await bench.dispatcher.handle(bench.question("$q"))
    assert "failed on my side" in apology.body
    assert await bench.owed() == []


async def test_an_answer_that_could_not_be_sent_stays_owed(bench: Bench) -> None:
    bench.homeserver.fails = lambda key: True
    assert await bench.dispatcher.handle(bench.question("$q")) == []
    assert await bench.owed() == ["$q"]


async def test_a_question_that_stops_the_bot_every_time_is_given_up_with_a_word(
    bench: Bench,
) -> None:
    owed = bench.store.pending_answers
    await owed.begin("claude", bench.question("$q"))
    for _ in range(MAX_ANSWER_RUNS - 1):
        await owed.retry("claude", "$q")
    assert await bench.dispatcher.resume() == 1
    assert bench.brain.calls == []
    [said] = bench.homeserver.sent
    assert "could not answer this" in said.body
    assert said.reply_to == "$q"
    assert await bench.owed() == []


async def test_commands_are_never_owed(bench: Bench) -> None:
    """Exactly once stays the rule for commands: a claimed `!ping` is not re-run."""
    replies = await bench.dispatcher.handle(bench.question("$p", "Claude !ping"))
    assert replies[0].body.startswith("pong")
    assert await bench.owed() == []


# ---- the answer taken up again ------------------------------------------------------------


@pytest.mark.parametrize(
    ("resumed", "expected"),
    [
        (None, [("$q/0", None, "Four.")]),
        (
            PendingAnswer(Message(ROOM, EventID("$q"), UserID("@m:x"), "q"), None, 2, 0.0),
            [("$q/r2/0", None, RESUMED_MARK + "Four.")],
        ),
        (
            PendingAnswer(
                Message(ROOM, EventID("$q"), UserID("@m:x"), "q"), EventID("$ph"), 3, 0.0
            ),
            [("$q/r3/final", "$ph", RESUMED_MARK + "Four.")],
        ),
    ],
)
def test_a_resumed_answer_says_so_finishes_its_placeholder_and_uses_keys_of_its_own(
    bench: Bench, resumed: PendingAnswer | None, expected: list[tuple[str, str | None, str]]
) -> None:
    answer = StreamingAnswer(bench.question("$q"), bench.context, True, resumed=resumed)
    replies = answer.final("Four.")
    assert [(r.key, r.replaces, r.body) for r in replies] == expected
    assert all(r.stream == "done" for r in replies)


async def test_room_events_of_other_types_are_passed_over_without_a_claim(bench: Bench) -> None:
    seen: list[str] = []

    async def on_event(event: RoomEvent, bot: BotContext) -> list[Reply]:
        seen.append(event.type)
        return []

    dispatcher = Dispatcher(
        bench.context, Registry(), on_event=on_event, event_types=frozenset({"wanted"})
    )
    for kind in ("m.reaction", "wanted"):
        event = RoomEvent(ROOM, EventID(f"${kind}"), bench.master, kind, {})
        assert await dispatcher.handle(event) == []
    assert seen == ["wanted"]
    assert await bench.store.claim_event("claude", "$m.reaction", ROOM) is True
    assert await bench.store.claim_event("claude", "$wanted", ROOM) is False
