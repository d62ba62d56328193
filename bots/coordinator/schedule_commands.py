"""`!schedule add|list|rm|pause|resume` (the master's): recurring missions in the store.

The scheduler (`bots.coordinator.scheduler.SchedulerJob`) turns a due one into a task; a
command that makes one due sooner (add, resume) wakes it through `wake`. Schedules the
config declares are listed marked "(config)" and are removed by editing the config.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bots.errors import CommandError
from bots.message import Reply
from bots.routing.commands import CommandRequest, CommandSpec
from bots.store.schedules import Schedule
from bots.tasks.schedule_orders import (
    USAGE,
    AddSchedule,
    ScheduleAction,
    ScheduleRefusal,
    parse_schedule_args,
)
from bots.tasks.schedule_runs import first_run, spec_of, when_text


def schedule_spec(
    wake: Callable[[], None] | None = None, clock: Callable[[], float] = time.time
) -> CommandSpec:
    """`!schedule`; `wake` pokes the scheduler (None: nothing runs them, as in tests)."""

    def poke() -> None:
        if wake is not None:
            wake()

    async def schedule(request: CommandRequest) -> list[Reply]:
        settings = request.bot.settings
        order = parse_schedule_args(
            request.args, zone=settings.timezone, max_chars=settings.tasks.max_mission_chars
        )
        if isinstance(order, ScheduleRefusal):
            raise CommandError(order.text)
        if isinstance(order, AddSchedule):
            text = await add(request, order, clock())
            poke()
        elif isinstance(order, ScheduleAction):
            text = await act(request, order, clock())
            if order.action == "resume":
                poke()
        else:
            text = await listing(request, clock())
            if order.usage:
                text += f"\nUsage: !schedule {USAGE}"
        return [Reply.answering(request.message, text)]

    return CommandSpec(
        "schedule", "recurring tasks: add, list, remove, pause, resume", schedule, USAGE
    )


async def add(request: CommandRequest, order: AddSchedule, now: float) -> str:
    spec = order.spec
    made = await request.bot.store.schedules.add(
        kind=spec.kind,
        cron=spec.cron,
        seconds=spec.seconds,
        zone=spec.zone,
        text=spec.text,
        mission=order.mission,
        priority=order.priority,
        created_by=request.message.sender,
        now=now,
        next_run_at=first_run(spec, now),
    )
    return (
        f"⏰ Schedule #{made.id} added: {spec.describe()} — {order.mission} "
        f"(priority {order.priority}). First run: {when_text(made.next_run_at, made.zone)}. "
        f"!schedule pause {made.id} or !schedule rm {made.id} to stop it."
    )


async def act(request: CommandRequest, order: ScheduleAction, now: float) -> str:
    store = request.bot.store.schedules
    found = await store.get(order.schedule_id)
    n = order.schedule_id
    if found is None or found.removed_at is not None:
        raise CommandError(f"There is no schedule #{n}. {await _known(request)}")
    if order.action == "rm":
        if found.config_name is not None:
            raise CommandError(
                f"#{n} is declared in the config (schedules.declared: {found.config_name}): "
                f"remove it there and restart, or !schedule pause {n}."
            )
        if not await store.remove(n, now):
            raise CommandError(f"#{n} was removed meanwhile.")
        running = (
            f" Its run in progress (#{found.running_task}) goes on." if found.running_task else ""
        )
        return f"🗑️ Removed schedule #{n} ({found.text}: {found.mission}).{running}"
    if order.action == "pause":
        if not await store.pause(n):
            raise CommandError(f"#{n} is paused already; !schedule resume {n} to go on.")
        return f"⏸️ Paused schedule #{n} ({found.text}); !schedule resume {n} to go on."
    nxt = first_run(spec_of(found), now)
    if not await store.resume(n, nxt):
        raise CommandError(
            f"#{n} is not paused (next run {when_text(found.next_run_at, found.zone)})."
        )
    return f"▶️ Resumed schedule #{n} ({found.text}). Next run: {when_text(nxt, found.zone)}."


async def listing(request: CommandRequest, now: float) -> str:
    found = await request.bot.store.schedules.list()
    if not found:
        return "No schedules yet. E.g. !schedule add daily 07:00 check disk usage on every host."
    return "\n".join([f"Schedules ({len(found)}):", *(_line(s) for s in found)])


def _line(s: Schedule) -> str:
    state = []
    if s.paused:
        state.append("paused")
    else:
        state.append(f"next {when_text(s.next_run_at, s.zone)}")
    if s.running_task is not None:
        state.append(f"running #{s.running_task}")
    config = " (config)" if s.config_name is not None else ""
    return (
        f"• #{s.id} {s.text} — {s.mission} · {spec_of(s).describe()} · {', '.join(state)}{config}"
    )


async def _known(request: CommandRequest) -> str:
    ids = [f"#{s.id}" for s in await request.bot.store.schedules.list()]
    return f"Schedules: {', '.join(ids)}." if ids else "There are no schedules yet."
