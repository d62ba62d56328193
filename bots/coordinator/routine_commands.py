"""`!routine save N <name> | run <name> | list | rm <name>` (the master's).

`save` keeps task N's mission and the plan that worked (N must have completed after running
its commands); `run` orders the mission again through the task engine's one intake, as a
task that starts at review with that plan (`bots.coordinator.tasks.routines`): the policy,
the judge and the master's approval see it as any plan, without proposals or a vote.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bots.coordinator.task_commands import TaskOps
from bots.coordinator.tasks.routines import SOURCE, intake_key
from bots.errors import CommandError
from bots.message import Reply
from bots.routing.commands import CommandRequest, CommandSpec
from bots.store.routines import Routine
from bots.tasks.intake import TaskOrder
from bots.tasks.plans import Plan, parse_plan, plan_digest
from bots.tasks.routines import (
    ListRoutines,
    RemoveRoutine,
    RoutineRefusal,
    RunRoutine,
    SaveRoutine,
    name_key,
    normalise_mission,
    parse_routine_args,
)


def routine_spec(ops: TaskOps, clock: Callable[[], float] = time.time) -> CommandSpec:
    """`!routine`, ordering runs through `ops` (the coordinator's `TaskService`)."""

    async def routine(request: CommandRequest) -> list[Reply]:
        parsed = parse_routine_args(request.args)
        if isinstance(parsed, RoutineRefusal):
            raise CommandError(parsed.text)
        if isinstance(parsed, SaveRoutine):
            text = await save(request, parsed, clock())
        elif isinstance(parsed, RunRoutine):
            text = await run(request, parsed, ops, clock())
        elif isinstance(parsed, RemoveRoutine):
            text = await remove(request, parsed)
        else:
            assert isinstance(parsed, ListRoutines)
            text = await listing(request)
        return [Reply.answering(request.message, text)] if text else []

    return CommandSpec(
        "routine",
        "save a task's plan as a routine, run or list them",
        routine,
        "save N <name> | run <name> | list | rm <name>",
    )


async def save(request: CommandRequest, order: SaveRoutine, now: float) -> str:
    store = request.bot.store
    task = await store.tasks.get(order.task_id)
    if task is None:
        raise CommandError(f"There is no task #{order.task_id}.")
    if task.state != "completed" or not task.plan:
        raise CommandError(
            f"#{task.id} is {task.state}: only a task that completed after running its "
            "commands can become a routine."
        )
    settings = request.bot.settings
    plan = parse_plan(
        task.plan, hosts=list(settings.execution.hosts), max_steps=settings.tasks.max_steps
    )
    if not isinstance(plan, Plan) or not plan.steps:
        raise CommandError(f"#{task.id} ran no command: there is no plan to replay.")
    key = name_key(order.name)
    existing = await store.routines.get(key)
    if existing is not None:
        raise CommandError(
            f"There is already a routine {existing.name} ({existing.mission}); "
            f"!routine rm {existing.name} first, or choose another name."
        )
    routine = Routine(
        name=order.name,
        mission=task.mission,
        normalised=normalise_mission(task.mission),
        plan=task.plan,
        plan_digest=task.plan_digest or plan_digest(plan),
        plan_author=task.plan_author,
        from_task=task.id,
        created_by=request.message.sender,
        created_at=now,
    )
    if not await store.routines.save(routine, key):
        raise CommandError(f"There is already a routine {order.name}; choose another name.")
    return (
        f"🔁 Saved routine {order.name}: {task.mission} — the plan of #{task.id}, "
        f"{len(plan.steps)} step(s). !routine run {order.name} replays it (review and your "
        "approval as usual)."
    )


async def run(request: CommandRequest, order: RunRoutine, ops: TaskOps, now: float) -> str:
    store = request.bot.store
    key = name_key(order.name)
    routine = await store.routines.get(key)
    if routine is None:
        raise CommandError(f"There is no routine {order.name}. {await _known(request)}")
    message = request.message
    task = await ops.intake(
        TaskOrder(routine.mission),
        requester=message.sender,
        source=SOURCE,
        room_id=message.room_id,
        thread_root=message.thread_root or message.event_id,
        intake_key=intake_key(order.name, message.event_id),
    )
    await store.routines.count_run(key, now)
    if message.thread_root is None:
        return ""  # the run's acknowledgement opens the thread
    return f"#{task.id} runs routine {routine.name} in this thread."


async def remove(request: CommandRequest, order: RemoveRoutine) -> str:
    if not await request.bot.store.routines.remove(name_key(order.name)):
        raise CommandError(f"There is no routine {order.name}. {await _known(request)}")
    return f"Removed routine {order.name}; the tasks it ran stay as they are."


async def listing(request: CommandRequest) -> str:
    found = await request.bot.store.routines.list()
    if not found:
        after = request.bot.settings.tasks.routine_after
        offer = f"When a mission succeeds {after} times I offer to save it; or " if after else ""
        return f"No routines yet. {offer}!routine save <task> <name>."
    lines = [f"Routines ({len(found)}):"]
    for r in found:
        runs = f", run {r.runs} time(s)" if r.runs else ", never run"
        lines.append(f"• {r.name} — {r.mission} (from #{r.from_task}{runs})")
    return "\n".join(lines)


async def _known(request: CommandRequest) -> str:
    names = [r.name for r in await request.bot.store.routines.list()]
    return f"Routines: {', '.join(names)}." if names else "There are no routines yet."
