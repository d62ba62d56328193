"""The minutes of a broadcast discussion: `!minutes` outside a task's thread.

The room's (or that thread's) messages since its last minutes are read, and the scribe is
asked in a thread under the command. The ask is stored before it is sent
(`MinutesStore.ask`, one per command), the scribe's answer is stored when it comes
(`answered`), and the minutes are written once it came or its wait ran out — by whichever
sees it first: the answer's handler, the service's tick, or its resume after a restart.
Nothing waits in memory, so a restart between the ask and the answer still gives minutes,
once (the post's key and the stored row's ask make a second try a no-op).

Said once: the scribe's answer is its own message in the thread, so the coordinator's post
carries only what it lacks — the heading and who said what (from the messages, never from
a model); the stored minutes are the whole (heading, the scribe's text, who said what).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

from bots.coordinator.tasks.common import display, minutes
from bots.errors import CommandError
from bots.ids import EventID, RoomID
from bots.message import Message, Reply
from bots.tasks.minutes import (
    MINUTES_EMOJI,
    DiscussionLine,
    Minutes,
    discussion_head,
    discussion_input,
    discussion_record,
    minutes_body,
    minutes_message,
)

if TYPE_CHECKING:
    from bots.coordinator.tasks.context import TaskContext
    from bots.store.minutes import MinutesAsk, MinutesRecord, MinutesStore

log = logging.getLogger(__name__)

DISCUSSION_MESSAGES = 50
"""How far back a discussion's minutes read (since its last minutes)."""
NO_SCRIBE = "no agent is configured to write them (tasks.scribe)"
_PREFIX = re.compile(r"\A\s*(?:#\d+\s*)?🗒️\s*")
_COMMAND = re.compile(r"\A\s*(?:!|/)")


def scribe_text(body: str) -> str:
    """The scribe's answer without its "#12 🗒️ " prefix."""
    return _PREFIX.sub("", body, count=1).strip()


def is_discussion_answer(message: Message) -> bool:
    """A council answer to a discussion's minutes ask (stage "minutes", task 0)."""
    council = message.council or {}
    return (
        council.get("kind") == "answer"
        and council.get("stage") == "minutes"
        and council.get("task") == 0
    )


class DiscussionMinutes:
    """The discussions' side of the coordinator's minutes: start on `!minutes`, keep the
    scribe's answer, finish on the answer, the tick or the resume."""

    def __init__(self, ctx: TaskContext) -> None:
        self.ctx = ctx
        self._lock = asyncio.Lock()

    @property
    def _store(self) -> MinutesStore:
        return self.ctx.bot.store.minutes

    async def start(self, message: Message) -> str:
        """`!minutes` outside a task's thread: asks the scribe (or, without one, posts the
        facts at once); what the room is told ("" when the minutes are already out)."""
        again = await self._store.ask_of(command=message.event_id)
        if again is not None:  # the same command seen again (a replay after a restart)
            await self.finish(again.ask)
            return ""
        bot = self.ctx.bot
        settings = bot.settings
        room, thread = message.room_id, message.thread_root
        since = 0.0
        for earlier in await self._store.recent(room, discussions_only=True, limit=20):
            if earlier.thread_root == thread:  # the same timeline or thread
                since = earlier.created_at
                break
        me = settings.user_id(settings.coordinator)
        said = [
            e
            for e in await bot.matrix.history(room, thread, DISCUSSION_MESSAGES + 1)
            if e.event_id != message.event_id
            and e.sender != me
            and e.timestamp_ms / 1000 > since
            and not _COMMAND.match(e.body)
        ][-DISCUSSION_MESSAGES:]
        if not said:
            raise CommandError(
                "Nothing was said here since the last minutes. For a task's: !minutes 12."
            )
        talk = [DiscussionLine(e.sender_name, e.body) for e in said]
        head = discussion_head(len(said), list(dict.fromkeys(e.sender_name for e in said)))
        facts = tuple(discussion_record(talk).splitlines())
        root = thread or message.event_id
        scribe = settings.task_scribe
        if scribe is None:
            shown = Minutes(head, scribe_problem=NO_SCRIBE, record="\n".join(facts))
            await self._post(message.event_id, room, thread, root, "", shown, ask=None)
            return ""
        now = self.ctx.clock()
        row, _ = await self._store.ask(
            ask=f"d{int(now * 1000)}-minutes",
            command_event=message.event_id,
            room_id=room,
            thread_root=thread,
            root=root,
            scribe=scribe,
            head=head,
            facts=facts,
            lines=discussion_input(talk),
            deadline=now + self.ctx.settings.minutes_seconds,
            now=now,
        )
        async with self._lock:
            return await self._send_ask(row)

    async def on_answer(self, message: Message) -> bool:
        """The scribe's answer to a discussion's ask: kept (once), then the minutes written.
        True when the message was such an answer (from anyone: it is nobody else's)."""
        if not is_discussion_answer(message):
            return False
        council = message.council or {}
        settings = self.ctx.bot.settings
        scribe = settings.task_scribe
        if scribe is None or message.sender != settings.user_id(settings.account(scribe)):
            return True
        if council.get("part", 1) != 1:
            return True
        ask = str(council.get("ask", ""))
        row = await self._store.ask_of(ask=ask)
        if row is None or row.minutes_id is not None:
            return True
        if council.get("status") == "ok":
            await self._store.answered(ask, answer=scribe_text(message.body), problem=None)
        else:
            why = council.get("reason") or "no reason given"
            problem = f"{display(self.ctx, row.scribe)} could not write them: {why}"
            await self._store.answered(ask, answer=None, problem=problem)
        await self.finish(ask)
        return True

    async def due(self, now: float | None = None) -> list[MinutesRecord]:
        """Finishes what can be: on the tick (`now`) the answered, the expired and the
        unsent; at start (None) every open ask (unsent asks are sent). A failure is logged
        and left for the next tick."""
        written: list[MinutesRecord] = []
        for row in await self._store.open_asks(now):
            try:
                record = await self.finish(row.ask)
            except Exception:
                log.exception("the minutes of discussion %s failed; trying again", row.ask)
                continue
            if record is not None:
                written.append(record)
        return written

    async def finish(self, ask: str) -> MinutesRecord | None:
        """The next thing a discussion's minutes need: send the ask if it was not, or write
        the minutes once the scribe answered or its wait ran out; the minutes once written,
        None while the scribe has time left."""
        async with self._lock:
            row = await self._store.ask_of(ask=ask)
            if row is None:
                return None
            if row.minutes_id is not None:
                return await self._store.get(row.minutes_id)
            now = self.ctx.clock()
            if row.ask_event is None and now < row.deadline:
                await self._send_ask(row)
                return None
            if not row.settled and now < row.deadline:
                return None
            problem = row.problem or ""
            if not row.settled:
                wait = minutes(self.ctx.settings.minutes_seconds)
                problem = f"{display(self.ctx, row.scribe)} did not answer within {wait}"
            shown = Minutes(
                row.head,
                scribe_text=row.answer or "",
                scribe_problem=problem,
                record="\n".join(row.facts),
            )
            return await self._post(
                row.command_event,
                row.room_id,
                row.thread_root,
                row.root,
                row.scribe,
                shown,
                ask=row.ask,
            )

    async def _send_ask(self, row: MinutesAsk) -> str:
        """The ask in the thread under the command (its key makes a resend one event)."""
        name = display(self.ctx, row.scribe)
        seconds = self.ctx.settings.minutes_seconds
        council: dict[str, Any] = {
            "v": 1,
            "kind": "ask",
            "task": 0,
            "ask": row.ask,
            "stage": "minutes",
            "agents": [row.scribe],
            "deadline_ms": int(row.deadline * 1000),
            "mission": "the minutes of the discussion",
            "context": {"discussion": list(row.lines)},
        }
        body = f"{MINUTES_EMOJI} Asking {name} for the minutes ({minutes(seconds)})."
        event_id = await self.ctx.bot.matrix.send(
            Reply(
                row.room_id,
                body,
                thread_root=row.root,
                key=f"{row.command_event}/minutes-ask",
                council=council,
            )
        )
        await self._store.ask_sent(row.ask, event_id)
        return body

    async def _post(
        self,
        command: EventID,
        room: RoomID,
        thread: EventID | None,
        root: EventID,
        scribe: str,
        shown: Minutes,
        *,
        ask: str | None,
    ) -> MinutesRecord:
        """Posts the minutes (without the scribe's text, its own message above) and stores
        the whole, marking the ask done in the same transaction."""
        body, html = minutes_message(shown, scribe_posted=True)
        reply = Reply(
            room,
            body,
            html=html,
            thread_root=root,
            reply_to=command,
            key=f"{command}/minutes",
            council={"v": 1, "kind": "minutes", "task": 0},
        )
        event_id = await self.ctx.bot.matrix.send(reply)
        record, _ = await self._store.add(
            task_id=None,
            room_id=room,
            thread_root=thread,
            text=minutes_body(shown),
            status="",
            author=scribe,
            event_id=event_id,
            now=self.ctx.clock(),
            ask=ask,
        )
        return record
