"""A plan waiting for approval inside a night window: the judge approves what the envelope
covers (its review must say `approve`), the rest waits for the morning with its approval
kept open, and after the morning report a held plan is shown again at the top of the room,
its ✅ and ❌ on it, so one tap approves it (bound to that plan like any plan message)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bots.coordinator.tasks.common import answer_text, judge, rounds
from bots.coordinator.tasks.context import TaskContext
from bots.coordinator.tasks.reviewing import StepVerdict, review_ask
from bots.ids import EventID, UserID
from bots.message import Reply
from bots.night.coverage import Coverage, NightStep, coverage
from bots.store.night import Envelope, NightTask, NightVerdict

if TYPE_CHECKING:
    from bots.store.tasks import Task

MORNING_WAIT = "the master in the morning (held by the night envelope)"
"""`waiting_for` of a plan the night held: its deadline is the window's end, never sooner."""
MORNING_KEY = "morning"
REPORT_FIRST_SECONDS = 5.0
"""How soon a held plan looks again while the morning report has not gone out."""


@dataclass(frozen=True)
class NightCall:
    """What tonight's envelope says about this plan."""

    envelope: Envelope
    coverage: Coverage


async def judge_approved(ctx: TaskContext, task: Task) -> bool:
    """The judge reviewed this round's plan and declared `approve`, and its review is what
    brought the task here."""
    chooser = judge(ctx)
    if chooser is None:
        return False
    moves = await ctx.tasks.moves(task.id)
    if not moves or moves[-1].to_state != "awaiting_approval" or moves[-1].actor != chooser:
        return False
    n = await rounds(ctx, task, "reviewing")
    for answer in await ctx.tasks.answers(task.id, ask=review_ask(task, n)):
        if answer.agent == chooser and answer.status == "ok":
            return answer.choice == "approve" and bool(answer_text(answer))
    return False


async def night_call(ctx: TaskContext, task: Task, judged: list[StepVerdict]) -> NightCall | None:
    """None by day; inside a window, whether the envelope covers the plan."""
    night = ctx.bot.store.night
    envelope = await night.active(ctx.clock())
    if envelope is None:
        return None
    steps = [NightStep(v.label, v.host, v.command, v.decision.verdict) for v in judged]
    spent = await ctx.bot.store.usage.spent_between(envelope.starts_at, None)
    found = coverage(
        envelope, steps, spent_usd=spent, judge_approved=await judge_approved(ctx, task)
    )
    return NightCall(envelope, found)


def judge_user(ctx: TaskContext) -> UserID:
    """The judge's Matrix id: the `approved_by` of a plan it approved at night."""
    name = judge(ctx) or ""
    settings = ctx.bot.settings
    for agent in settings.agents:
        if agent.name == name:
            return settings.user_id(agent.account)
    return UserID(name)


async def settle(ctx: TaskContext, task: Task, call: NightCall, plan_event: EventID) -> None:
    """Records the night's decision and, when covered, runs the plan on the judge's word."""
    cover = call.coverage
    verdict: NightVerdict = "judge" if cover.covered else "held"
    fact = NightTask(call.envelope.id, task.id, verdict, cover.reason, plan_event, ctx.clock())
    await ctx.bot.store.night.note_task(fact)
    if not cover.covered:
        return
    who = judge_user(ctx)
    await ctx.move(
        task,
        "running",
        actor=judge(ctx) or who,
        reason=(
            f"approved by the judge under night envelope #{call.envelope.id} "
            f"(plan {str(task.plan_digest)[:12]})"
        ),
        approved_by=who,
        approval_event=None,
    )


async def morning_waits(ctx: TaskContext, task: Task) -> bool:
    """Held by a window that closed and whose morning report has not gone out: the report
    comes first, then the plan again (`show_in_morning`)."""
    held = await ctx.bot.store.night.held_in(task.id)
    now = ctx.clock()
    if held is None or held.active(now) or held.report_sent_at is not None:
        return False
    await ctx.tasks.update(
        task.id, expect_state=task.state, now=now, deadline=now + REPORT_FIRST_SECONDS
    )
    return True


async def show_in_morning(ctx: TaskContext, task: Task, n: int, plan_reply: Reply) -> Task:
    """A plan the night held, shown again once at the top of the room after the morning
    report (a silent notice: the report is what buzzed), with ✅ and ❌ on it; it becomes the
    plan the master's tap approves. The task unchanged when the night did not hold it."""
    held = await ctx.bot.store.night.held_in(task.id)
    if held is None or held.active(ctx.clock()):
        return task
    thread_plan = await ctx.tasks.action_done(task.id, f"plan-msg-{n}")
    facts = {f.task_id: f for f in await ctx.bot.store.night.tasks(held.id)}
    fact = facts.get(task.id)
    if fact is None or fact.verdict != "held" or fact.plan_event != thread_plan:
        return task
    morning = replace(
        plan_reply,
        body=f"🌅 #{task.id} waited for you overnight: {fact.reason}.\n\n{plan_reply.body}",
        html=(
            None
            if plan_reply.html is None
            else f"<p>🌅 #{task.id} waited for you overnight: {fact.reason}.</p>{plan_reply.html}"
        ),
        thread_root=None,
        notice=True,
        mention=(),
    )
    key = f"plan-msg-{n}-{MORNING_KEY}"
    event = await ctx.send_once(task, key, morning)
    if task.plan_event != event:
        task = (
            await ctx.tasks.update(
                task.id, expect_state=task.state, now=ctx.clock(), plan_event=event
            )
            or task
        )
    await ctx.react_once(task, f"plan-ok-{n}-{MORNING_KEY}", event, "✅")
    await ctx.react_once(task, f"plan-no-{n}-{MORNING_KEY}", event, "❌")
    return task
