"""Discussing: one notice acknowledges the task and asks the participants for proposals; the
answers (or the deadline) decide: none → failed, one → planning without a vote, more → vote,
or first the critique round when it is on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bots.coordinator.tasks.common import (
    ask_object,
    by_agent,
    display,
    displays,
    expired,
    failures,
    in_thread,
    left_at,
    ok,
    participants,
    wait_for,
)
from bots.coordinator.tasks.context import TaskContext
from bots.tasks import render
from bots.tasks.schedule_runs import origin_of

if TYPE_CHECKING:
    from bots.store.tasks import Answer, Task


def propose_ask(task: Task) -> str:
    return f"t{task.id}-propose-1"


async def proposals(ctx: TaskContext, task: Task) -> list[Answer]:
    """The proposals the task goes on with, in the order they came (ties by agent name).

    Once the discussion closed, a late proposal (stored after it, for its cost) is not one:
    the ballot stays the same however often it is rebuilt."""
    answers = ok(await ctx.tasks.answers(task.id, ask=propose_ask(task)))
    closed = await left_at(ctx, task, "discussing")
    if closed is not None:
        answers = [a for a in answers if a.at <= closed]
    return sorted(answers, key=lambda a: (a.at, a.agent))


async def phase(ctx: TaskContext, task: Task) -> None:
    asked = participants(ctx, task)
    seconds = ctx.settings.proposal_seconds
    if not asked:
        await ctx.move(
            task,
            "failed",
            actor="coordinator",
            reason="no agent takes part in tasks (see tasks.participants)",
        )
        return
    task = await wait_for(ctx, task, f"proposals from {displays(ctx, asked)}", seconds)
    body = render.task_ack(
        task.id,
        task.mission,
        task.priority,
        [display(ctx, n) for n in asked],
        seconds,
        origin=origin_of(task.source),
    )
    council = ask_object(task, propose_ask(task), "propose", asked, task.deadline, {})
    sent = await ctx.send_once(task, "ack", in_thread(task, body, council=council))
    if task.thread_root is None:  # a task from outside Matrix: the ack roots its thread
        task = (
            await ctx.tasks.update(
                task.id, expect_state=task.state, now=ctx.clock(), thread_root=sent
            )
            or task
        )
    answers = await ctx.tasks.answers(task.id, ask=propose_ask(task))
    got = by_agent(answers)
    if not expired(ctx, task) and any(name not in got for name in asked):
        return
    await close(ctx, task, asked, answers, seconds)


async def close(
    ctx: TaskContext, task: Task, asked: list[str], answers: list[Answer], waited: float
) -> None:
    """Says who did not propose and why, then moves the task on."""
    good = await proposals(ctx, task)
    missing = failures(ctx, asked, answers, waited)
    if missing:
        lines = [render.agent_failure_line(task.id, name, why) for name, why in missing]
        await ctx.send_once(task, "proposals-missing", in_thread(task, "\n".join(lines)))
    if not good:
        reason = "no proposal came: " + "; ".join(f"{n}: {why}" for n, why in missing)
        await ctx.move(task, "failed", actor="coordinator", reason=reason, note=reason)
    elif len(good) == 1:
        winner = good[0].agent
        await ctx.move(
            task, "planning", actor="coordinator", reason="one proposal, no vote", winner=winner
        )
    elif critique_round(ctx, task):
        reason = f"{len(good)} proposals, critique round"
        await ctx.move(task, "critiquing", actor="coordinator", reason=reason)
    else:
        await ctx.move(task, "voting", actor="coordinator", reason=f"{len(good)} proposals")


def critique_round(ctx: TaskContext, task: Task) -> bool:
    """Whether the proposals are critiqued before the vote: as ordered (`critique:`,
    `no critique:`), else as configured (`tasks.critique`)."""
    return task.critique if task.critique is not None else ctx.settings.critique
