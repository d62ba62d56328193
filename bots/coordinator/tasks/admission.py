"""Pending: a task waits its turn. At most `tasks.max_active` tasks are in work at once (past
pending, not paused); the next one in is the highest priority, then the oldest. As it leaves
pending, a task with more participants than `tasks.max_participants` gets the best of them
by their records."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from bots.coordinator.tasks.common import in_thread
from bots.coordinator.tasks.context import TaskContext
from bots.coordinator.tasks.routines import admit_run, routine_of
from bots.tasks.kinds import task_kind
from bots.tasks.records import best_of, records
from bots.tasks.splits import looks_split

if TYPE_CHECKING:
    from bots.store.tasks import Task

PRIORITY_RANK = {"high": 0, "medium": 1, "low": 2}
IDLE = frozenset({"pending", "paused"})
RECORD_DAYS = 30
"""The records participants are chosen by: the last 30 days, what `!stats 30d` shows."""


def queue_order(task: Task) -> tuple[int, float, int]:
    return (PRIORITY_RANK.get(task.priority, 1), task.created_at, task.id)


async def admit(ctx: TaskContext, task: Task) -> None:
    """Moves the task on when a slot is free and it is first in line; else says it waits."""
    active = await ctx.tasks.active()
    in_work = [t for t in active if t.state not in IDLE]
    waiting = sorted((t for t in active if t.state == "pending"), key=queue_order)
    free = max(0, ctx.settings.max_active - len(in_work))
    if any(t.id == task.id for t in waiting[:free]):
        task = await choose_participants(ctx, task)
        routine = routine_of(task)
        if routine is not None:
            await admit_run(ctx, task, routine)
        elif task.assigned:
            await ctx.move(
                task, "planning", actor="coordinator", reason=f"assigned to {task.assigned}"
            )
        elif (why := await split_mode(ctx, task)) is not None:
            await ctx.move(task, "dividing", actor="coordinator", reason=why, mode="split")
        else:
            await ctx.move(task, "discussing", actor="coordinator", reason="admitted")
        return
    what = f"a free slot ({len(in_work)} of {ctx.settings.max_active} tasks in work)"
    if task.waiting_for != what:
        await ctx.tasks.update(task.id, expect_state="pending", now=ctx.clock(), waiting_for=what)
    body = (
        f"#{task.id} 📋 Task #{task.id} registered: {task.mission}, priority {task.priority}. "
        f"It waits for {what}."
    )
    sent = await ctx.send_once(task, "queued", in_thread(task, body))
    if task.thread_root is None:
        await ctx.tasks.update(task.id, expect_state="pending", now=ctx.clock(), thread_root=sent)


async def split_mode(ctx: TaskContext, task: Task) -> str | None:
    """Why the admitted task is divided and merged (`split:` ordered it, or `tasks.split` is
    auto and the mission lists several jobs); None: the council works on it as one task.
    Called for a task neither assigned nor a routine's run; the move stores `mode`."""
    if task.mode == "split":
        return "split: ordered"
    if ctx.settings.split == "auto" and looks_split(task.mission):
        return "split: the mission lists several jobs"
    return None


async def choose_participants(ctx: TaskContext, task: Task) -> Task:
    """Keeps the best `tasks.max_participants` of the configured participants for this task,
    by their records on its kind (`records.ranked_for`; agents without a record after those
    with one, in config order), stored on the task before it leaves pending. Nothing when the
    limit is off (0) or not exceeded, the task is assigned or a routine's run, or it was
    chosen already."""
    limit = ctx.settings.max_participants
    configured = list(ctx.bot.settings.task_participants)
    if limit <= 0 or len(configured) <= limit or task.chosen is not None:
        return task
    if task.assigned or routine_of(task) is not None:
        return task
    since = ctx.clock() - RECORD_DAYS * 86_400.0
    grouped = records(await ctx.bot.store.task_records.facts(since))
    chosen = best_of(configured, task_kind(task.mission), grouped, limit)
    updated = await ctx.tasks.update(
        task.id, expect_state="pending", now=ctx.clock(), participants=json.dumps(chosen)
    )
    return updated or task
