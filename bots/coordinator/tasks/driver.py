"""The reconcile loop: read a task from the store and do the next thing its state needs.

A phase (one per state) is idempotent: every send goes through `TaskContext.*_once` and every
fact is stored, so `drive` may run any number of times — after every relevant event, on every
tick, and for every active task at start — and a SIGKILL at any point loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, cast

from bots.coordinator.tasks import (
    approval,
    critiquing,
    discussion,
    dividing,
    healing,
    merging,
    planning,
    reporting,
    reviewing,
    running,
    voting,
    working,
)
from bots.coordinator.tasks.admission import admit
from bots.coordinator.tasks.context import TaskContext
from bots.coordinator.tasks.outside import works_outside

if TYPE_CHECKING:
    from bots.store.tasks import Task
    from bots.tasks.states import TaskState

log = logging.getLogger(__name__)

Phase = Callable[[TaskContext, "Task"], Awaitable[None]]
"""Does the next needed thing for the task's state, idempotently, and returns; it may move it."""

MAX_ROUNDS = 20
"""A drive follows the task through this many state changes at most (a loop guard)."""

PHASES: Mapping[TaskState, Phase] = {
    # Part E1: intake to approval.
    "pending": admit,
    "discussing": discussion.phase,
    "critiquing": critiquing.phase,
    "voting": voting.phase,
    "planning": planning.phase,
    "reviewing": reviewing.phase,
    "awaiting_approval": approval.phase,
    #
    # Issue 17's divide and merge: split, parts in parallel, one deliverable.
    "dividing": dividing.phase,
    "working": working.phase,
    "merging": merging.phase,
    #
    # Part E2: running, healing and the reports of the final states.
    "running": running.phase,
    "fixing": healing.phase,
    "completed": reporting.phase,
    "failed": reporting.phase,
    "cancelled": reporting.phase,
    # `paused` has no phase: nothing happens until `resume`.
}


class TaskDriver:
    """Drives tasks one step at a time, one drive per task at once (a lock per task)."""

    def __init__(self, ctx: TaskContext, phases: Mapping[TaskState, Phase] = PHASES) -> None:
        self.ctx = ctx
        self._phases = phases
        self._locks: dict[int, asyncio.Lock] = {}

    def lock(self, task_id: int) -> asyncio.Lock:
        """The task's lock: facts about it are stored under it, so a phase reading them
        never sees half of what arrived."""
        return self._locks.setdefault(task_id, asyncio.Lock())

    async def drive(self, task_id: int) -> Task | None:
        """Runs phases while the task's state keeps changing; the task as it is then."""
        async with self.lock(task_id):
            task = await self.ctx.tasks.get(task_id)
            for _ in range(MAX_ROUNDS):
                if task is None:
                    return None
                phase = self._phases.get(cast("TaskState", task.state))
                if phase is None or works_outside(self.ctx, task):
                    return task  # paused, or an external agent works on it (issue 18)
                await phase(self.ctx, task)
                after = await self.ctx.tasks.get(task_id)
                if after is None or after.state == task.state:
                    return after
                task = after
            log.warning("task #%s changed state %d times in one drive", task_id, MAX_ROUNDS)
            return task
