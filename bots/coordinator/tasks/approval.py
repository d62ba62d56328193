"""The approval phase of the task engine (part E1)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bots.coordinator.tasks.context import TaskContext

if TYPE_CHECKING:
    from bots.store.tasks import Task


async def phase(ctx: TaskContext, task: Task) -> None:
    """Not written yet: the shape other parts code against."""
