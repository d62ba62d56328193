"""`!vote`: the master's vote by message (typed, or spoken and transcribed), on the task
engine's bench: the real store and services, a recording homeserver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.coordinator.polls import PollService
from bots.coordinator.vote_command import parse_key, vote_spec
from bots.errors import CommandError
from bots.ids import EventID
from bots.message import Message
from bots.routing.commands import CommandRequest
from tests.support.task_engine import INTAKE, MASTER, ROOM, Bench, open_bench

KEYS = [
    ("letter", "B", "B"),
    ("lower case", "b", "B"),
    ("number", "2", "B"),
    ("ten", "10", "J"),
    ("hash number", "#3", "C"),
    ("period", "A.", "A"),
    ("blanks", "  C ", "C"),
    ("past J", "K", None),
    ("zero", "0", None),
    ("eleven", "11", None),
    ("a word", "SQLite", None),
    ("empty", "", None),
]


@pytest.mark.parametrize(("args", "key"), [k[1:] for k in KEYS], ids=[k[0] for k in KEYS])
def test_the_key_is_read_as_typed(args: str, key: str | None) -> None:
    assert parse_key(args) == key


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    found = await open_bench(tmp_path)
    try:
        yield found
    finally:
        await found.store.close()


def request(bench: Bench, args: str, thread: EventID | None = None, n: int = 1) -> CommandRequest:
    message = Message(
        ROOM, EventID(f"$vote{n}"), MASTER, f"!vote {args}", thread_root=thread, sender_power=100
    )
    return CommandRequest(message, args, bench.bot)


async def test_a_vote_in_a_task_thread_counts_as_the_masters_poll_response(bench: Bench) -> None:
    await bench.order()
    await bench.propose_all()
    poll = bench.matrix.by_key("poll-1").event_id
    vote = vote_spec(bench.service, bench.clock).handler
    [reply] = await vote(request(bench, "2", thread=INTAKE))
    assert reply.body == "🗳️ Your vote on task #1: B."
    votes = await bench.store.tasks.votes(poll)
    assert [(v.voter, v.choice) for v in votes] == [(MASTER, "B")]
    assert (await bench.task()).state != "voting"  # the master's vote decides at once


async def test_a_vote_at_the_top_level_counts_on_his_newest_poll(bench: Bench) -> None:
    polls = PollService(bench.bot, clock=bench.clock)
    poll = await polls.open(
        "Which database?",
        ["PostgreSQL", "SQLite"],
        requester=MASTER,
        source="matrix",
        room_id=ROOM,
        thread_root=None,
        open_key="$poll",
    )
    vote = vote_spec(bench.service, bench.clock).handler
    [reply] = await vote(request(bench, "b"))
    assert reply.body == f"🗳️ Your vote on 📊 Poll #{poll.id}: B — SQLite."
    assert [(b.voter, b.choice) for b in await bench.store.polls.votes(poll.id)] == [(MASTER, "B")]
    with pytest.raises(CommandError, match="has options A, B"):
        await vote(request(bench, "C", n=2))


REFUSALS = [
    ("no key", "SQLite", None, "by its letter or number"),
    ("nothing open here", "A", None, "No vote is open here"),
    ("nothing open in the thread", "A", EventID("$elsewhere"), "No vote is open in this thread"),
]


@pytest.mark.parametrize(
    ("args", "thread", "said"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
async def test_a_vote_with_nothing_to_count_on_says_why(
    bench: Bench, args: str, thread: EventID | None, said: str
) -> None:
    with pytest.raises(CommandError, match=said):
        await vote_spec(bench.service, bench.clock).handler(request(bench, args, thread=thread))
