"""`TaskService`: the one entry point for tasks and the events that move them (part E1).

Skeleton committed first so commands (part F) can code against the API; bodies follow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bots.context import BotContext
from bots.coordinator.tasks.context import TaskContext
from bots.coordinator.tasks.driver import TaskDriver
from bots.ids import EventID, RoomID, UserID
from bots.message import Message, Reply, RoomEvent

if TYPE_CHECKING:
    from bots.store.tasks import Task
    from bots.tasks.intake import Priority, TaskOrder


class TaskService:
    """One per coordinator bot. Every public method returns a short text for the room or
    raises `bots.errors.CommandError` with one."""

    def __init__(self, ctx: TaskContext) -> None:
        self.ctx = ctx
        self.driver = TaskDriver(ctx)

    async def intake(
        self,
        order: TaskOrder,
        *,
        requester: UserID,
        source: str,
        room_id: RoomID,
        thread_root: EventID | None,
        intake_key: str,
    ) -> Task:
        """THE one entry point (commands, bridge, scheduler, voice)."""
        raise NotImplementedError

    async def approve(self, n: int, by: UserID, event_id: EventID | None) -> str:
        raise NotImplementedError

    async def deny(self, n: int, by: UserID, reason: str, event_id: EventID | None) -> str:
        raise NotImplementedError

    async def cancel(self, n: int, by: UserID) -> str:
        raise NotImplementedError

    async def pause(self, n: int, by: UserID) -> str:
        raise NotImplementedError

    async def resume(self, n: int | None = None, by: UserID | None = None) -> str:
        """`resume(n, by)`: `!resume N`. `resume()` with no task: drive every active task
        (at start, after a restart). One name for both, as the design has it."""
        raise NotImplementedError

    async def retry(self, n: int, by: UserID) -> str:
        raise NotImplementedError

    async def assign(self, n: int, agent: str, by: UserID) -> str:
        raise NotImplementedError

    async def set_priority(self, n: int, priority: Priority, by: UserID) -> str:
        raise NotImplementedError

    async def on_task_message(self, message: Message, bot: BotContext) -> list[Reply]:
        raise NotImplementedError

    async def on_event(self, event: RoomEvent, bot: BotContext) -> list[Reply]:
        raise NotImplementedError

    async def tick(self) -> None:
        raise NotImplementedError

    async def run_background(self) -> None:
        raise NotImplementedError
