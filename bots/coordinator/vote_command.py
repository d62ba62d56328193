"""`!vote <option>`: the master's vote by message, on the vote open where he says it.

Element lets him vote by tapping the poll; on the road he says "일번" or "option two", and
the transcript reads as `!vote A` (`bots.voice.spoken`), typed by him. Where: in a task's
thread, that task's open vote (or a poll of his own started there); at the top level, his
newest open poll there, else the one task vote open in the room. The vote is stored as his
poll response would be, by the same services, so it counts and decides the same way.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bots.errors import CommandError
from bots.ids import EventID, RoomID, UserID
from bots.message import Reply
from bots.routing.commands import CommandRequest, CommandSpec
from bots.store.polls import PollBallot
from bots.tasks.master_polls import KEYS, prefix

if TYPE_CHECKING:
    from bots.store import Store
    from bots.store.polls import Poll

EXAMPLE = "!vote B (or !vote 2)"
_KEY = re.compile(r"#?(?:(?P<letter>[A-Ja-j])|(?P<number>10|[1-9]))[.!]?")


class TaskVotes(Protocol):
    """What `!vote` asks of the task engine (`TaskService`)."""

    async def open_vote(self, room_id: RoomID, thread_root: EventID | None) -> EventID | None: ...

    async def vote(
        self, poll_event: EventID, voter: UserID, key: str, event_id: EventID, at_ms: int
    ) -> int | None: ...


@dataclass(frozen=True)
class MasterPoll:
    poll: Poll


@dataclass(frozen=True)
class TaskVote:
    poll_event: EventID


VoteTarget = MasterPoll | TaskVote


def parse_key(args: str) -> str | None:
    """`B`, `b`, `2`, `#2`: the option's key (A–J), None for anything else."""
    found = _KEY.fullmatch(args.strip())
    if found is None:
        return None
    if found.group("letter"):
        return found.group("letter").upper()
    return KEYS[int(found.group("number")) - 1]


async def vote_target(
    store: Store, tasks: TaskVotes, room_id: RoomID, thread_root: EventID | None
) -> VoteTarget | None:
    """The vote a `!vote` said here is for, None when none is open here."""
    if thread_root is not None:
        task_poll = await tasks.open_vote(room_id, thread_root)
        if task_poll is not None:
            return TaskVote(task_poll)
    polls = [
        p
        for p in await store.polls.open_polls()
        if p.room_id == room_id and p.thread_root == thread_root and p.poll_event is not None
    ]
    if polls:
        return MasterPoll(max(polls, key=lambda p: p.id))
    return None


def vote_spec(tasks: TaskVotes, clock: Callable[[], float] = time.time) -> CommandSpec:
    """The `!vote` spec, bound to one coordinator's task engine (its polls are in the store)."""

    async def vote(request: CommandRequest) -> list[Reply]:
        message = request.message
        key = parse_key(request.args)
        if key is None:
            raise CommandError(f"Say which option, by its letter or number, e.g. {EXAMPLE}.")
        bot = request.bot
        target = await vote_target(bot.store, tasks, message.room_id, message.thread_root)
        if target is None:
            where = "in this thread" if message.thread_root else "here"
            raise CommandError(
                f"No vote is open {where}. Vote in a task's thread, or where your poll is."
            )
        at_ms = message.timestamp_ms or int(clock() * 1000)
        if isinstance(target, TaskVote):
            task_id = await tasks.vote(
                target.poll_event, message.sender, key, message.event_id, at_ms
            )
            if task_id is None:
                raise CommandError("That vote has just closed.")
            return [Reply.answering(message, f"🗳️ Your vote on task #{task_id}: {key}.")]
        poll = target.poll
        if key not in KEYS[: len(poll.options)]:
            options = ", ".join(KEYS[: len(poll.options)])
            raise CommandError(f"{prefix(poll.id)} has options {options}; e.g. {EXAMPLE}.")
        if message.sender != bot.settings.master_user_id:
            raise CommandError(f"{prefix(poll.id)} counts the master's vote and the agents'.")
        ballot = PollBallot(poll.id, message.sender, key, message.event_id, at_ms)
        await bot.store.polls.add_vote(ballot)
        option = poll.options[KEYS.index(key)]
        return [Reply.answering(message, f"🗳️ Your vote on {prefix(poll.id)}: {key} — {option}.")]

    return CommandSpec("vote", "vote on the open poll or task vote here", vote, "<A-J or 1-10>")
