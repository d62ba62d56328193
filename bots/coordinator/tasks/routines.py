"""Routines in the task engine: a routine's run starts at review with its stored plan, and a
mission that has now succeeded at least `tasks.routine_after` times is offered as a
routine, once per mission.

A run is an ordinary task (the one intake, source "routine") whose intake key names the
routine: `routine/<name>/<event>`. When admission lets it in, its plan is read from the
routine and stored on the task in the same move (pending → reviewing), so a restart at any
point finds either a pending task that will be given its plan, or one that has it. From
there it is any plan: the policy and the judge review it, the master approves it (or denies
it: its author plans again), and it runs, heals and reports as usual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bots.coordinator.tasks.common import in_thread
from bots.coordinator.tasks.context import TaskContext
from bots.tasks.plans import Plan, parse_plan, plan_digest, plan_json
from bots.tasks.routines import name_key, normalise_mission, offer_due, offer_line

if TYPE_CHECKING:
    from bots.store.tasks import Task

SOURCE = "routine"
ACK_KEY = "routine-ack"
OFFER_KEY = "routine-offer"


def intake_key(name: str, event_id: str) -> str:
    """The intake key of a routine's run ordered by `event_id`: the same order is one task."""
    return f"{SOURCE}/{name_key(name)}/{event_id}"


def routine_of(task: Task) -> str | None:
    """The routine (its name's key) a task runs, or None for any other task."""
    if task.source != SOURCE or not task.intake_key.startswith(f"{SOURCE}/"):
        return None
    return task.intake_key.split("/", 2)[1]


async def admit_run(ctx: TaskContext, task: Task, key: str) -> None:
    """Gives an admitted routine run its stored plan and sends it to review; fails it,
    saying why, when the routine is gone or its plan no longer fits the hosts."""
    routine = await ctx.bot.store.routines.get(key)
    if routine is None:
        reason = f"the routine {key!r} was removed before its run started"
        await ctx.move(task, "failed", actor="coordinator", reason=reason, note=reason)
        return
    plan = parse_plan(
        routine.plan,
        hosts=list(ctx.bot.settings.execution.hosts),
        max_steps=ctx.settings.max_steps,
    )
    if not isinstance(plan, Plan) or not plan.steps:
        why = plan.text if not isinstance(plan, Plan) else "it has no step"
        reason = f"the routine {routine.name}'s plan cannot run any more: {why}"
        await ctx.move(task, "failed", actor="coordinator", reason=reason, note=reason)
        return
    author = routine.plan_author
    count = len(plan.steps)
    body = (
        f"#{task.id} 🔁 Routine {routine.name} (saved from #{routine.from_task}): "
        f"{task.mission}. Its plan of {count} step(s) goes to review and then to you, "
        "without proposals or a vote."
    )
    await ctx.send_once(task, ACK_KEY, in_thread(task, body))
    await ctx.move(
        task,
        "reviewing",
        actor="coordinator",
        reason=f"routine {routine.name}: its stored plan of {count} step(s)",
        plan=plan_json(plan),
        plan_digest=plan_digest(plan),
        plan_author=author,
        assigned=author,
        attempt=1,
        plan_event=None,
        approved_by=None,
        approval_event=None,
    )


async def offer(ctx: TaskContext, task: Task) -> None:
    """After a completed task's report: when its mission (normalised) has now succeeded at
    least `tasks.routine_after` times with commands run, no routine holds it and no earlier
    task of it was offered, says once how to save it (`offer_due`)."""
    after = ctx.settings.routine_after
    if after <= 0 or task.state != "completed" or routine_of(task) is not None:
        return
    if await ctx.tasks.action_done(task.id, OFFER_KEY) is not None:
        return
    mission = normalise_mission(task.mission)
    routines = ctx.bot.store.routines
    if not mission or await routines.for_mission(mission) is not None:
        return
    done = [
        n
        for n, text in await routines.succeeded_with_commands(task.id)
        if normalise_mission(text) == mission
    ]
    before = [n for n in done if n != task.id]
    if not offer_due(
        len(done),
        after,
        counted=task.id in done,
        offered_before=await _offered(ctx, before),
    ):
        return
    await ctx.send_once(task, OFFER_KEY, in_thread(task, offer_line(task.id, len(done))))


async def _offered(ctx: TaskContext, task_ids: list[int]) -> bool:
    """Whether any of these tasks (the mission's earlier successes) carried the offer."""
    for n in task_ids:
        if await ctx.tasks.action_done(n, OFFER_KEY) is not None:
            return True
    return False
