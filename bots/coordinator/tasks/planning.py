"""Planning: the winner (or the assigned agent) turns its proposal into a structured plan.

An invalid plan is asked for again once, with the exact error; a second invalid one, a
failed answer or silence fails the task with the reason. A plan of no steps is a task that
needs no command: it completes, and its answer is the report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bots.coordinator.tasks.common import (
    answer_text,
    ask_object,
    display,
    expired,
    in_thread,
    last_reason,
    minutes,
    rounds,
    wait_for,
)
from bots.coordinator.tasks.context import TaskContext
from bots.coordinator.tasks.critiquing import revisions
from bots.coordinator.tasks.discussion import proposals
from bots.coordinator.tasks.hybrid import hybrid_context, hybrid_entries
from bots.coordinator.tasks.lessons import lessons_for
from bots.tasks import render
from bots.tasks.plans import Plan, PlanError, parse_plan, plan_digest, plan_json

if TYPE_CHECKING:
    from bots.store.tasks import Answer, Task

DENIED = "denied: "
REJECTED = "review rejected: "
"""Reasons of the moves that send a plan back, read again by the next planning round."""


def plan_ask(task: Task, n: int, *, again: bool = False) -> str:
    return f"t{task.id}-plan-{n}" + ("-r" if again else "")


def host_descriptions(ctx: TaskContext) -> dict[str, str]:
    """What the planner is told about each configured host."""
    described = {}
    for name, host in ctx.bot.settings.execution.hosts.items():
        if host.address is None:
            described[name] = "this machine (the executor's sandboxed local account)"
        else:
            described[name] = f"{host.user + '@' if host.user else ''}{host.address}"
    return described


async def plan_context(ctx: TaskContext, task: Task, planner: str) -> dict[str, Any]:
    """The plan ask's context: the planner's proposal, the others' (as revised in a critique
    round), the hosts, why an earlier plan came back (a denial, the judge's rejection), and
    after a close vote the runners-up to take in (`hybrid`)."""
    props = await proposals(ctx, task)
    revised = await revisions(ctx, task)
    hybrid = await hybrid_entries(ctx, task, planner)
    taken = {e.option.author for e in hybrid}
    texts = [(a.agent, revised.get(a.agent) or answer_text(a)) for a in props]
    own = [text for agent, text in texts if agent == planner]
    context: dict[str, Any] = {
        "proposal": own[0] if own else "",
        "others": [text for agent, text in texts if agent != planner and agent not in taken],
        "hosts": host_descriptions(ctx),
    }
    if hybrid:
        context["hybrid"] = hybrid_context(ctx, hybrid)
    _, _, reason = await last_reason(ctx, task)
    if reason.startswith(DENIED):
        context["denied"] = reason.removeprefix(DENIED)
    elif reason.startswith(REJECTED):
        context["review"] = reason.removeprefix(REJECTED)
    return context


async def phase(ctx: TaskContext, task: Task) -> None:
    planner = task.assigned or task.winner
    if planner is None:
        await ctx.move(task, "failed", actor="coordinator", reason="no agent to write the plan")
        return
    if await _needs_no_command(ctx, task, planner):
        await ctx.move(
            task,
            "completed",
            actor=planner,
            reason="no command needed: the proposal says COMMANDS: no",
        )
        return
    n = await rounds(ctx, task, "planning")
    name = display(ctx, planner)
    seconds = ctx.settings.plan_seconds
    again = await ctx.tasks.action_done(task.id, f"plan-ask-{n}-r") is not None
    if not again:
        task = await wait_for(ctx, task, f"a plan from {name}", seconds)
        context = await plan_context(ctx, task, planner)
        context["lessons"] = await lessons_for(ctx, task, f"plan-ask-{n}")
        council = ask_object(task, plan_ask(task, n), "plan", [planner], task.deadline, context)
        body = render.ask_line(task.id, "plan", [name], seconds)
        await ctx.send_once(task, f"plan-ask-{n}", in_thread(task, body, council=council))
    answer = await _answer(ctx, task, plan_ask(task, n, again=again), planner)
    if answer is None:
        if expired(ctx, task):
            reason = f"{name} sent no plan within {minutes(seconds)}"
            await ctx.move(task, "failed", actor="coordinator", reason=reason, note=reason)
        return
    if answer.status != "ok":
        reason = f"{name} could not write the plan: {answer.text or 'failed'}"
        await ctx.move(task, "failed", actor="coordinator", reason=reason, note=reason)
        return
    parsed = parse_plan(
        answer.text,
        hosts=list(ctx.bot.settings.execution.hosts),
        max_steps=ctx.settings.max_steps,
    )
    if isinstance(parsed, Plan):
        await _accept(ctx, task, parsed, planner, answer)
    elif again:
        reason = f"the plan from {name} was invalid twice: {parsed.text}"
        await ctx.move(task, "failed", actor="coordinator", reason=reason, note=reason)
    else:
        await _ask_again(ctx, task, n, planner, parsed)


async def _needs_no_command(ctx: TaskContext, task: Task, planner: str) -> bool:
    """The winner's proposal declared that the mission needs no command (a question, a
    piece of writing): no plan; the report asks it to refine its answer. Not after a
    denial or a rejection, nor for an assigned agent, which had no proposal."""
    if task.assigned or await rounds(ctx, task, "planning") > 1:
        return False
    own = [a for a in await proposals(ctx, task) if a.agent == planner]
    return bool(own) and own[0].choice == "no"


async def _answer(ctx: TaskContext, task: Task, ask: str, planner: str) -> Answer | None:
    for answer in await ctx.tasks.answers(task.id, ask=ask):
        if answer.agent == planner:
            return answer
    return None


async def _ask_again(ctx: TaskContext, task: Task, n: int, planner: str, error: PlanError) -> None:
    name = display(ctx, planner)
    seconds = ctx.settings.plan_seconds
    task = await wait_for(ctx, task, f"a corrected plan from {name}", seconds)
    context = await plan_context(ctx, task, planner)
    context["error"] = error.text
    context["lessons"] = await lessons_for(ctx, task, f"plan-ask-{n}-r")
    ask = plan_ask(task, n, again=True)
    council = ask_object(task, ask, "plan", [planner], task.deadline, context)
    body = render.plan_invalid_line(task.id, name, error.text, asking_again=True)
    await ctx.send_once(task, f"plan-ask-{n}-r", in_thread(task, body, council=council))


async def _accept(ctx: TaskContext, task: Task, plan: Plan, planner: str, answer: Answer) -> None:
    """Stores the plan (its digest binds the approval) and moves on: to review, or — a plan
    of no steps — to completed, its answer being the report."""
    fields: dict[str, Any] = {
        "plan": plan_json(plan),
        "plan_digest": plan_digest(plan),
        "plan_author": planner,
        "attempt": max(task.attempt, 1),
        "plan_event": None,
        "approved_by": None,
        "approval_event": None,
    }
    if not plan.steps:
        summary = plan.summary or answer_text(answer)
        await ctx.move(
            task, "completed", actor=planner, reason="no command needed", note=summary, **fields
        )
        return
    count = len(plan.steps)
    await ctx.move(task, "reviewing", actor=planner, reason=f"plan of {count} step(s)", **fields)
