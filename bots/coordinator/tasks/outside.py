"""Tasks taken by an agent outside Matrix (issue 18's HTTP bridge): claimed like `!assign`,
worked on outside, completed when that agent reports its result.

Such a task waits in `planning` with `assigned` naming the external agent: the engine asks
it nothing (it cannot answer a council ask), and its result, kept as the task's `note`, is
what the report says. Every move is the store's compare-and-set, so a claim that raced
another claim or the council's own vote changes nothing and says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bots.coordinator.tasks.common import in_thread
from bots.coordinator.tasks.context import TaskContext
from bots.errors import CommandError
from bots.tasks.states import FINAL_STATES

if TYPE_CHECKING:
    from bots.store.tasks import Task

CLAIMABLE = frozenset({"pending", "discussing", "voting"})
"""States from which a claim takes the task: before anyone plans it (the table's moves to
`planning`)."""


def outside_agent(ctx: TaskContext, name: str | None) -> str | None:
    """The external agent's display name when `name` is one of the bridge's agents."""
    if name is None:
        return None
    for agent in ctx.bot.settings.bridge.agents:
        if agent.name == name:
            return agent.account.display_name
    return None


def works_outside(ctx: TaskContext, task: Task) -> bool:
    """The task waits for an external agent's result: no phase runs for it meanwhile."""
    return task.state == "planning" and outside_agent(ctx, task.assigned) is not None


async def claim(ctx: TaskContext, task: Task, agent: str, by: str) -> Task:
    """Assigns `task` to the external `agent`; `CommandError` (said as 409) when it is taken
    or past its plan."""
    shown = outside_agent(ctx, agent)
    if shown is None:
        raise CommandError(f"{agent!r} is not an agent of the bridge")
    if task.assigned is not None:
        holder = outside_agent(ctx, task.assigned) or task.assigned
        raise CommandError(f"#{task.id} is already claimed by {holder}")
    if task.state in FINAL_STATES:
        raise CommandError(f"#{task.id} has already ended ({task.state})")
    if task.state not in CLAIMABLE:
        raise CommandError(
            f"#{task.id} is {task.state.replace('_', ' ')}: a task is claimed before its plan"
        )
    moved = await ctx.move(
        task,
        "planning",
        actor=by,
        reason=f"claimed by {agent} over the bridge",
        assigned=agent,
        waiting_for=f"{shown}'s result",
        deadline=None,
    )
    if moved is None:
        raise CommandError(f"#{task.id} moved on meanwhile; try again")
    body = f"#{task.id} 👉 Claimed by {shown}: it works on it outside Matrix and reports here."
    await ctx.send_once(moved, "claim", in_thread(moved, body))
    return moved


async def complete(ctx: TaskContext, task: Task, agent: str, result: str, by: str) -> Task:
    """Completes a task `agent` claimed, its `result` kept for the report."""
    if task.state in FINAL_STATES:
        if task.assigned == agent and task.state == "completed" and task.note == result:
            return task  # the same completion again (a retried call)
        raise CommandError(f"#{task.id} has already ended ({task.state})")
    if task.assigned != agent or not works_outside(ctx, task):
        raise CommandError(f"#{task.id} is not claimed by {agent}: claim it first")
    moved = await ctx.move(
        task,
        "completed",
        actor=by,
        reason=f"completed by {agent} over the bridge",
        note=result,
        waiting_for="",
        deadline=None,
    )
    if moved is None:
        raise CommandError(f"#{task.id} moved on meanwhile; try again")
    return moved


def outside_result(ctx: TaskContext, task: Task) -> str | None:
    """What the report says for a task an external agent completed: its result."""
    if task.state == "completed" and outside_agent(ctx, task.assigned) is not None:
        return task.note or "(no result given)"
    return None
