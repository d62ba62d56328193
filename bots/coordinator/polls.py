"""`PollService`: the master's own polls, from `!poll` (or voice) to the tally.

`open(...)` is the one entry point: the poll is stored, then its start is sent (a real
Element poll carrying a stage "poll" ask for every participating agent). Agents answer with
a poll response from their own account and a one-line reason; the master answers in Element.
`close(...)` (`!poll close`) or the timeout (`tasks.poll_seconds`, seen by `tick()`) ends it:
the poll end and a notice with the tally, each sent once.

Restart safety is the task engine's: the poll is a row before anything is sent, every event
it sends is recorded under a stable key and sent with a transaction id derived from it, and
`tick()` (also run at start) sends whatever a crash left unsent: a start, an end, a notice.
At start the votes that came while the coordinator was down are stored first (the Matrix
side's catch-up), then a poll whose time ran out meanwhile is closed: its tally has them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

from bots.background import came_first
from bots.context import BotContext
from bots.errors import CommandError
from bots.events import POLL_END, POLL_RESPONSE, POLL_RESPONSE_STABLE, POLL_START
from bots.ids import EventID, RoomID, UserID
from bots.message import Message, Reply, RoomEvent
from bots.store.polls import Poll, PollBallot, PollReason, PollStore
from bots.tasks.master_polls import (
    KEYS,
    YOU,
    PollRefusal,
    check_poll,
    poll_tally,
    prefix,
    question_text,
    tally_text,
)
from bots.tasks.polls import poll_end_content, poll_start_content, read_poll_response

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
POLL_RESPONSE_TYPES = frozenset({POLL_RESPONSE, POLL_RESPONSE_STABLE})
CaughtUp = Callable[[], Awaitable[object]]
"""The Matrix side's `caught_up`: returns once the events that came while the bot was down
are handled (stored)."""
TIMEOUT = "timeout"
"""`closed_by` of a poll whose time ran out."""


def ask_id(poll_id: int) -> str:
    return f"p{poll_id}-vote"


class PollService:
    """One per coordinator bot. `close` returns a short text or raises `CommandError`."""

    def __init__(self, bot: BotContext, *, clock: Callable[[], float] = time.time) -> None:
        self.bot = bot
        self.clock = clock
        self._lock = asyncio.Lock()

    @property
    def store(self) -> PollStore:
        return self.bot.store.polls

    # --- the operations ------------------------------------------------------------------

    async def open(
        self,
        question: str,
        options: Sequence[str],
        *,
        requester: UserID,
        source: str,
        room_id: RoomID,
        thread_root: EventID | None,
        open_key: str | None = None,
    ) -> Poll:
        """THE one entry point (the `!poll` command, voice): the poll, new or the one
        `open_key` already made (a replayed command), with its start sent. Bad input raises
        `CommandError` with the same texts the command gives."""
        order = check_poll(question, options)
        if isinstance(order, PollRefusal):
            raise CommandError(order.text)
        now = self.clock()
        poll, created = await self.store.create(
            open_key=open_key or f"{source}/{uuid.uuid4().hex}",
            room_id=room_id,
            thread_root=thread_root,
            question=order.question,
            options=order.options,
            agents=self.bot.settings.task_participants,
            requester=requester,
            source=source,
            now=now,
            deadline=now + self.bot.settings.tasks.poll_seconds,
        )
        if created:
            log.info("poll #%d opened by %s from %s", poll.id, requester, source)
        return await self._start(poll)

    async def close(self, poll_id: int | None, by: str) -> str:
        """Ends a poll (the newest open one without `poll_id`) with its tally, which the
        room reads in the notice sent with the poll end: the text returned is empty then."""
        async with self._lock:
            poll = await self._to_close(poll_id)
            text = await self.tally(poll, why=self._why(by))
            closed = await self.store.close(poll.id, by=by, result=text, now=self.clock())
        if closed is None:
            raise CommandError(f"{prefix(poll.id)} was closed meanwhile.")
        await self._finish(closed)
        return ""

    async def tally(self, poll: Poll, *, why: str) -> str:
        """The poll's tally text as it stands (who chose what, the result)."""
        keyed = list(zip(KEYS, poll.options, strict=False))
        counted = await self._counted(poll)
        master = self.bot.settings.master_user_id
        result = poll_tally(
            counted,
            master=master,
            master_weight=self.bot.settings.tasks.poll_master_weight,
            keys=[key for key, _ in keyed],
        )
        voters: dict[str, list[str]] = {}
        for voter in [*poll.agents, master]:
            if voter in counted:
                name = YOU if voter == master else self._display(voter)
                voters.setdefault(counted[voter], []).append(name)
        return tally_text(poll.id, poll.question, result, voters, keyed, why=why)

    # --- events in -----------------------------------------------------------------------

    async def owns(self, event: RoomEvent) -> bool:
        """Whether `event` is a response to one of these polls (else the task engine's)."""
        if event.type not in POLL_RESPONSE_TYPES:
            return False
        vote = read_poll_response(event)
        return vote is not None and await self.store.by_event(vote.poll_event) is not None

    async def on_event(self, event: RoomEvent, bot: BotContext) -> list[Reply]:
        """A poll response: kept (the latest per voter) when it is the master's or an asked
        agent's, on an open poll, for one of its options; anything else is left."""
        vote = read_poll_response(event)
        if vote is None:
            return []
        poll = await self.store.by_event(vote.poll_event)
        if poll is None:
            return []
        if not poll.open:
            log.info("poll #%d is closed: vote %s not counted", poll.id, event.event_id)
            return []
        voter = self._voter(poll, event.sender)
        if voter is None or vote.key not in KEYS[: len(poll.options)]:
            log.info("poll #%d: %s's vote %r not counted", poll.id, event.sender, vote.key)
            return []
        await self.store.add_vote(PollBallot(poll.id, voter, vote.key, event.event_id, vote.at_ms))
        return []

    async def on_answer(self, message: Message, bot: BotContext) -> list[Reply]:
        """An agent's reason line (council stage "poll"): kept once per agent and poll."""
        council = message.council or {}
        poll_id = council.get("poll")
        if council.get("kind") != "answer" or not isinstance(poll_id, int):
            return []
        if council.get("part", 1) != 1:
            return []
        poll = await self.store.get(poll_id)
        agent = self._agent_of(message.sender)
        if poll is None or agent is None or agent not in poll.agents:
            return []
        status = "ok" if council.get("status") == "ok" else "failed"
        choice = council.get("choice")
        text = message.body if status == "ok" else str(council.get("reason") or message.body)
        await self.store.add_reason(
            PollReason(
                poll.id,
                agent,
                status,
                choice if isinstance(choice, str) else None,
                text,
                message.event_id,
                self.clock(),
            )
        )
        return []

    # --- time ----------------------------------------------------------------------------

    async def tick(self) -> None:
        """Polls whose time ran out are closed; what a crash left unsent is sent."""
        for poll in await self.store.open_polls():
            if poll.poll_event is None:
                await self._start(poll)
        for poll in await self.store.due(self.clock()):
            with contextlib.suppress(CommandError):  # closed meanwhile by the master
                await self.close(poll.id, TIMEOUT)
        for poll in await self.store.unfinished("result"):
            await self._finish(poll)

    async def resume(self, caught_up: CaughtUp | None = None) -> None:
        """At start: what came while the coordinator was down is read first (`caught_up`:
        the votes and reasons of the catch-up stored), then a poll that expired meanwhile
        closes with them in its tally."""
        if caught_up is not None:
            await caught_up()
        await self.tick()

    async def run_background(
        self, synced: asyncio.Event, stop: asyncio.Event, caught_up: CaughtUp | None = None
    ) -> None:
        """Once synced: resume (after the catch-up), then tick every second until `stop`."""
        if not await came_first(synced, stop):
            return
        try:
            await self.resume(caught_up)
        except Exception:
            log.exception("taking up the polls failed; the tick will retry them")
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), TICK_SECONDS)
            if stop.is_set():
                break
            try:
                await self.tick()
            except Exception:
                log.exception("the poll tick failed; trying again")

    # --- sending -------------------------------------------------------------------------

    async def _start(self, poll: Poll) -> Poll:
        if poll.poll_event is not None:
            return poll
        keyed = list(zip(KEYS, poll.options, strict=False))
        council: dict[str, Any] = {
            "v": 1,
            "kind": "ask",
            "stage": "poll",
            "task": 0,
            "poll": poll.id,
            "ask": ask_id(poll.id),
            "agents": list(poll.agents),
            "deadline_ms": int(poll.deadline * 1000),
            "mission": poll.question,
            "context": {"options": [{"key": k, "text": t} for k, t in keyed]},
        }
        content = poll_start_content(
            question_text(poll.id, poll.question),
            keyed,
            thread_root=poll.thread_root,
            council=council,
        )
        event_id = await self._event_once(poll, "start", POLL_START, content)
        await self.store.set_event(poll.id, event_id)
        return await self.store.get(poll.id) or poll

    async def _finish(self, poll: Poll) -> None:
        """The poll end (Element shows the poll closed), then the tally as a notice."""
        text = poll.result or prefix(poll.id)
        if poll.poll_event is not None:
            await self._event_once(poll, "end", POLL_END, poll_end_content(poll.poll_event, text))
        notice = Reply(
            room_id=poll.room_id,
            body=text,
            thread_root=poll.thread_root,
            reply_to=poll.poll_event,
            council={"v": 1, "kind": "poll-result", "poll": poll.id},
        )
        await self._send_once(poll, "result", notice)

    async def _event_once(
        self, poll: Poll, key: str, event_type: str, content: dict[str, Any]
    ) -> EventID:
        done = await self.store.action_done(poll.id, key)
        if done is not None:
            return done
        event_id = await self.bot.matrix.send_event(
            poll.room_id, event_type, content, f"poll/{poll.id}/{key}"
        )
        await self.store.record_action(poll.id, key, event_id, self.clock())
        return event_id

    async def _send_once(self, poll: Poll, key: str, reply: Reply) -> EventID:
        done = await self.store.action_done(poll.id, key)
        if done is not None:
            return done
        event_id = await self.bot.matrix.send(replace(reply, key=f"poll/{poll.id}/{key}"))
        await self.store.record_action(poll.id, key, event_id, self.clock())
        return event_id

    # --- helpers -------------------------------------------------------------------------

    async def _to_close(self, poll_id: int | None) -> Poll:
        if poll_id is None:
            poll = await self.store.newest_open()
            if poll is None:
                raise CommandError(
                    "No poll is open. Open one with !poll <question> | <option> | <option>."
                )
            return poll
        found = await self.store.get(poll_id)
        if found is None:
            raise CommandError(f"There is no poll #{poll_id}.")
        if not found.open:
            result = (found.result or "").splitlines()
            said = f": {result[1]}" if len(result) > 1 else ""
            raise CommandError(f"{prefix(poll_id)} is already closed{said}.")
        return found

    async def _counted(self, poll: Poll) -> dict[str, str]:
        """Voter → key: each voter's latest poll response; an agent whose reason names a
        choice but whose poll response never arrived is counted by its reason."""
        counted = {ballot.voter: ballot.choice for ballot in await self.store.votes(poll.id)}
        keys = KEYS[: len(poll.options)]
        for reason in await self.store.reasons(poll.id):
            if reason.agent in counted or reason.status != "ok":
                continue
            if reason.choice is not None and reason.choice in keys:
                counted[reason.agent] = reason.choice
        return counted

    def _voter(self, poll: Poll, sender: UserID) -> str | None:
        """The master by user id, an asked agent by name; None for anyone else."""
        if sender == self.bot.settings.master_user_id:
            return sender
        agent = self._agent_of(sender)
        return agent if agent in poll.agents else None

    def _agent_of(self, user_id: str) -> str | None:
        settings = self.bot.settings
        for agent in settings.agents:
            if settings.user_id(agent.account) == user_id:
                return agent.name
        return None

    def _display(self, name: str) -> str:
        for agent in self.bot.settings.agents:
            if agent.name == name:
                return agent.account.display_name or name
        return name

    def _why(self, by: str) -> str:
        if by == TIMEOUT:
            return "time is up"
        if by == self.bot.settings.master_user_id:
            return "closed by you"
        return f"closed by {by}"


def is_poll_answer(message: Message) -> bool:
    """A council answer to the master's poll (stage "poll"), not to a task's ask."""
    council = message.council or {}
    return council.get("kind") == "answer" and council.get("stage") == "poll"
