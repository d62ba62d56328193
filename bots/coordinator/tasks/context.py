"""What every phase of the task engine works with: the bot, the clock, and sends that happen once.

Restart safety rests here: every event the engine sends goes through a `*_once` method, which
looks the action up in the store first (`task_actions`), sends with a transaction key derived
from the task and the action (so a crash between the send and the record is deduplicated by
the homeserver), then records it. A phase may therefore run any number of times.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from bots.context import BotContext
from bots.ids import EventID
from bots.message import Reply

if TYPE_CHECKING:
    from bots.settings.model import TaskSettings
    from bots.store.tasks import Task, TaskStore
    from bots.tasks.states import TaskState


def action_key(task_id: int, key: str) -> str:
    """The transaction key of a task's action: the same action is the same Matrix event."""
    return f"task/{task_id}/{key}"


@dataclass
class TaskContext:
    """One coordinator's engine state: the bot's services and the clock (injected in tests)."""

    bot: BotContext
    """Settings, store, matrix (the Outbox: send/send_event/send_file/redact), roster."""
    clock: Callable[[], float] = time.time
    plan_waits: Callable[[Task], object] | None = None
    """Told each time a plan is shown waiting for the master (`bots.voice.plan_voice` reads
    it out); it must not block: the engine holds the task's lock."""

    @property
    def tasks(self) -> TaskStore:
        return self.bot.store.tasks

    @property
    def settings(self) -> TaskSettings:
        return self.bot.settings.tasks

    async def send_once(self, task: Task, key: str, reply: Reply) -> EventID:
        """Sends `reply` for `task` unless the action `key` was already sent; its event id."""
        done = await self.tasks.action_done(task.id, key)
        if done is not None:
            return done
        event_id = await self.bot.matrix.send(replace(reply, key=action_key(task.id, key)))
        await self.tasks.record_action(task.id, key, event_id, self.clock())
        return event_id

    async def event_once(
        self, task: Task, key: str, event_type: str, content: dict[str, Any]
    ) -> EventID:
        """Sends a raw event (a poll, an exec request) into the task's room, once."""
        done = await self.tasks.action_done(task.id, key)
        if done is not None:
            return done
        event_id = await self.bot.matrix.send_event(
            task.room_id, event_type, content, action_key(task.id, key)
        )
        await self.tasks.record_action(task.id, key, event_id, self.clock())
        return event_id

    async def react_once(self, task: Task, key: str, target: EventID, emoji: str) -> EventID:
        """Reacts `emoji` on `target` (the ✅ ❌ the master only taps), once."""
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": emoji}}
        return await self.event_once(task, key, "m.reaction", content)

    async def move(
        self, task: Task, to: TaskState, *, actor: str, reason: str, **fields: Any
    ) -> Task | None:
        """Moves `task` from the state it was read in; None when it moved meanwhile."""
        return await self.tasks.move(
            task.id, task.state, to, actor=actor, reason=reason, now=self.clock(), **fields
        )

    async def file_once(
        self, task: Task, key: str, reply: Reply, filename: str, data: bytes
    ) -> EventID:
        """Uploads `data` as an m.file in the task's thread (full outputs of a report), once."""
        done = await self.tasks.action_done(task.id, key)
        if done is not None:
            return done
        event_id = await self.bot.matrix.send_file(
            replace(reply, key=action_key(task.id, key)), filename, data
        )
        await self.tasks.record_action(task.id, key, event_id, self.clock())
        return event_id
