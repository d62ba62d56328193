"""Awaiting approval: the plan shown verbatim, each command with its policy verdict, with ✅
and ❌ already on it so the master only taps; `!approve N` / `!deny N <reason>` work too. An
approval is bound to the plan shown (its event and digest); it expires after
`tasks.approval_seconds`; read-only plans may be approved by the policy when configured.
Inside a night window the judge approves what the envelope covers; the rest waits for the
morning (`night_approval`)."""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any

from bots.coordinator.tasks import night_approval
from bots.coordinator.tasks.common import (
    answer_text,
    display,
    expired,
    last_reason,
    master,
    rounds,
    wait_for,
)
from bots.coordinator.tasks.context import TaskContext
from bots.coordinator.tasks.planning import DENIED
from bots.coordinator.tasks.reviewing import (
    REVIEW_CHARS,
    StepVerdict,
    load_plan,
    review_ask,
    verdicts,
)
from bots.errors import CommandError
from bots.ids import EventID, UserID
from bots.message import Reply
from bots.tasks import render
from bots.tasks.plans import Plan, wire_steps
from executor.policy.model import Verdict

if TYPE_CHECKING:
    from bots.store.tasks import Task

APPROVE = "✅"
DENY = "❌"
POLICY = "policy"
"""`approved_by` of a plan the policy approved (every command read-only)."""


def emoji_key(key: str) -> str:
    """A reaction key as compared: without the U+FE0F variation selector clients add."""
    return key.replace("\ufe0f", "")


def plan_view(
    task: Task, plan: Plan, judged: list[StepVerdict], author: str, review: str, **more: Any
) -> render.PlanView:
    """The plan and the policy's verdicts, as `render.plan_message` shows them."""
    views: dict[tuple[int, str], render.CommandView] = {
        (v.step, v.kind): render.CommandView(v.command, v.decision.verdict, v.decision.reason)
        for v in judged
    }
    steps = tuple(
        render.StepView(
            number=number,
            host=step.host,
            command=views[(number, "main")],
            purpose=step.purpose,
            verify=views.get((number, "verify")),
            rollback=views.get((number, "rollback")),
            parallel=step.parallel,
        )
        for number, step in enumerate(plan.steps, start=1)
    )
    return render.PlanView(
        task_id=task.id,
        attempt=task.attempt,
        author=author,
        steps=steps,
        summary=plan.summary,
        review=review,
        **more,
    )


async def review_line(ctx: TaskContext, task: Task) -> str:
    """The judge's review of this plan, or why there is none."""
    n = await rounds(ctx, task, "reviewing")
    for answer in await ctx.tasks.answers(task.id, ask=review_ask(task, n)):
        if answer.status == "ok":
            return f"{display(ctx, answer.agent)}: {answer_text(answer)[:REVIEW_CHARS]}"
    _, _, reason = await last_reason(ctx, task)
    return reason if reason.startswith("no review") else ""


async def phase(ctx: TaskContext, task: Task) -> None:
    plan = load_plan(ctx, task)
    if plan is None:
        reason = "the stored plan could not be read back"
        await ctx.move(task, "failed", actor="coordinator", reason=reason, note=reason)
        return
    judged = await verdicts(ctx, task, plan)
    n = await rounds(ctx, task, "reviewing")
    night = await night_approval.night_call(ctx, task, judged)
    if night is None and await night_approval.morning_waits(ctx, task):
        return
    if night is not None and not night.coverage.covered:
        # Held for the morning: the approval stays open until the window's end, no sooner.
        left = max(0.0, night.envelope.ends_at - ctx.clock())
        task = await wait_for(ctx, task, night_approval.MORNING_WAIT, left)
    else:
        seconds = ctx.settings.approval_seconds
        task = await wait_for(ctx, task, "the master's approval of the plan", seconds)
    readonly = all(v.decision.verdict is Verdict.ALLOW for v in judged)
    auto = ctx.settings.auto_approve_readonly and readonly
    view = plan_view(
        task,
        plan,
        judged,
        display(ctx, task.plan_author or ""),
        await review_line(ctx, task),
        expires_in=max(0.0, (task.deadline or 0) - ctx.clock()),
        auto_approved=auto,
    )
    body, html = render.plan_message(view, secrets=ctx.bot.settings.execution.secrets)
    council = {
        "v": 1,
        "kind": "plan",
        "task": task.id,
        "attempt": task.attempt,
        "digest": task.plan_digest,
        "steps": wire_steps(plan),
        "expires_ms": int((task.deadline or 0) * 1000),
    }
    reply = Reply(
        room_id=task.room_id,
        body=body,
        html=html,
        notice=False,
        thread_root=task.thread_root,
        mention=(master(ctx),),
        council=council,
    )
    event = await ctx.send_once(task, f"plan-msg-{n}", reply)
    if task.plan_event != event:
        task = (
            await ctx.tasks.update(
                task.id, expect_state=task.state, now=ctx.clock(), plan_event=event
            )
            or task
        )
    await ctx.react_once(task, f"plan-ok-{n}", event, APPROVE)
    await ctx.react_once(task, f"plan-no-{n}", event, DENY)
    if night is not None and not auto:
        await night_approval.settle(ctx, task, night, event)
        return
    task = await night_approval.show_in_morning(ctx, task, n, reply)
    if auto:
        await ctx.move(
            task,
            "running",
            actor=POLICY,
            reason="every command is read-only",
            approved_by=POLICY,
            approval_event=None,
        )
        return
    if expired(ctx, task):
        reason = f"approval expired; !retry {task.id}"
        await ctx.move(task, "failed", actor="coordinator", reason=reason, note=reason)
    elif ctx.plan_waits is not None:
        ctx.plan_waits(task)


def may_approve(ctx: TaskContext, user: str) -> bool:
    return any(fnmatch.fnmatchcase(user, glob) for glob in ctx.bot.settings.approvers)


def _waiting(task: Task, plan_event: EventID | None = None) -> None:
    """Raises unless a plan waits for approval; `plan_event`: the plan message the master
    answered (a reply, a reaction), which must be the one waiting, not an earlier plan."""
    if task.state != "awaiting_approval":
        raise CommandError(
            f"#{task.id} is {task.state.replace('_', ' ')}: no plan waits for approval"
        )
    if task.plan_event is None:
        raise CommandError(f"#{task.id}: the plan is not shown yet; try again in a moment")
    if plan_event is not None and plan_event != task.plan_event:
        raise CommandError(
            f"#{task.id}: that plan was replaced by a newer one; reply to the newest plan, "
            f"or send !approve {task.id} or !deny {task.id} <reason>"
        )


async def approve(
    ctx: TaskContext,
    task: Task,
    by: UserID,
    event_id: EventID | None,
    *,
    plan_event: EventID | None = None,
) -> str:
    """The master's approval of the plan now shown (bound to its event and digest);
    `plan_event`: the plan message answered, when the approval names one."""
    _waiting(task, plan_event)
    if not may_approve(ctx, by):
        raise CommandError(f"#{task.id}: {by} may not approve plans")
    moved = await ctx.move(
        task,
        "running",
        actor=by,
        reason=f"approved (plan {str(task.plan_digest)[:12]})",
        approved_by=by,
        approval_event=event_id,
    )
    if moved is None:
        raise CommandError(f"#{task.id} moved on meanwhile; see !task {task.id}")
    steps = len(plan.steps) if (plan := load_plan(ctx, task)) else 0
    return render.approved_line(task.id, _who(ctx, by), steps)


async def deny(
    ctx: TaskContext,
    task: Task,
    by: UserID,
    reason: str,
    event_id: EventID | None,
    *,
    plan_event: EventID | None = None,
) -> str:
    """Sends the plan back to its author with the reason (`plan_event`: as for `approve`)."""
    _waiting(task, plan_event)
    if not may_approve(ctx, by):
        raise CommandError(f"#{task.id}: {by} may not deny plans")
    why = reason.strip() or "denied without a reason"
    moved = await ctx.move(
        task,
        "planning",
        actor=by,
        reason=DENIED + why,
        plan_event=None,
        approved_by=None,
        approval_event=None,
    )
    if moved is None:
        raise CommandError(f"#{task.id} moved on meanwhile; see !task {task.id}")
    author = display(ctx, task.plan_author or task.winner or "") or "the planner"
    return render.denied_line(task.id, _who(ctx, by), why, author)


def _who(ctx: TaskContext, user: UserID) -> str:
    """ "the master" for the master, else the user id."""
    return "the master" if user == master(ctx) else user
