"""Reviewing: the executor's policy judges every command of the plan (binding: a forbidden
step fails the task, naming it), then the judge reviews it for risk (advisory: a clear
"reject" sends it back to the planner once)."""

from __future__ import annotations

import asyncio
import fnmatch
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from bots.coordinator.tasks.common import (
    answer_text,
    ask_object,
    display,
    expired,
    in_thread,
    judge,
    minutes,
    rounds,
    wait_for,
)
from bots.coordinator.tasks.context import TaskContext
from bots.coordinator.tasks.lessons import lessons_for
from bots.coordinator.tasks.planning import REJECTED
from bots.settings.model import Settings
from bots.tasks import render
from bots.tasks.plans import Plan, parse_plan, plan_json
from executor.policy.model import Decision, Requester, Verdict
from executor.policy.verdict import decide

if TYPE_CHECKING:
    from bots.store.tasks import Task

Kind = Literal["main", "verify", "rollback"]
REVIEW_CHARS = 1500
"""The judge's review as carried into the plan message and a re-plan ask."""
_REJECT = re.compile(r"^[\s*_#>`\"'\-]*(?:verdict\s*[:=\-]?\s*)?reject(?:ed)?\b", re.I | re.M)


@dataclass(frozen=True)
class StepVerdict:
    """The policy's word on one command of the plan, as the approval message shows it."""

    step: int
    kind: Kind
    host: str
    command: str
    decision: Decision

    @property
    def label(self) -> str:
        return f"step {self.step}" if self.kind == "main" else f"step {self.step} {self.kind}"


def review_ask(task: Task, n: int) -> str:
    return f"t{task.id}-review-{n}"


def load_plan(ctx: TaskContext, task: Task) -> Plan | None:
    """The stored plan (its JSON reads back with the same lenient parser)."""
    if not task.plan:
        return None
    parsed = parse_plan(
        task.plan, hosts=list(ctx.bot.settings.execution.hosts), max_steps=ctx.settings.max_steps
    )
    return parsed if isinstance(parsed, Plan) else None


def requester_level(settings: Settings, user: str) -> str | None:
    """The requester's permission level, found as the executor finds it."""
    for glob, level in settings.requester_levels:
        if fnmatch.fnmatchcase(user, glob):
            return level
    return None


def judge_steps(settings: Settings, requester: str, plan: Plan) -> list[StepVerdict]:
    """Every command of the plan (verify and rollback too) through `decide`, as the
    executor will judge it for this requester."""
    level = requester_level(settings, requester)
    out: list[StepVerdict] = []
    for number, step in enumerate(plan.steps, start=1):
        commands: list[tuple[Kind, str | None]] = [
            ("main", step.command),
            ("verify", step.verify),
            ("rollback", step.rollback),
        ]
        for kind, command in commands:
            if command is None:
                continue
            if level is None:
                decision = Decision(
                    Verdict.FORBID,
                    f"forbidden: {requester} has no permission level for the executor",
                    "no-level",
                )
            else:
                decision = decide(
                    command, step.host, Requester(requester, level), settings.execution.policy
                )
            out.append(StepVerdict(number, kind, step.host, command, decision))
    return out


async def verdicts(ctx: TaskContext, task: Task, plan: Plan) -> list[StepVerdict]:
    """`judge_steps` in a worker thread: a hostile command may take the policy's whole time
    budget, and the event loop is every bot's."""
    return await asyncio.to_thread(judge_steps, ctx.bot.settings, task.requester, plan)


def rejects(review: str) -> bool:
    """A clear "reject" in a review that declared no verdict: a line that starts with it
    ("REJECT: …", "Verdict: reject")."""
    return _REJECT.search(review) is not None


async def phase(ctx: TaskContext, task: Task) -> None:
    plan = load_plan(ctx, task)
    if plan is None:
        reason = "the stored plan could not be read back"
        await ctx.move(task, "failed", actor="coordinator", reason=reason, note=reason)
        return
    judged = await verdicts(ctx, task, plan)
    forbidden = [v for v in judged if v.decision.verdict is Verdict.FORBID]
    if forbidden:
        first = forbidden[0]
        reason = (
            f"{first.label} on {first.host} is forbidden: `{first.command}` — "
            f"{first.decision.reason}"
        )
        line = render.forbidden_line(task.id, first.step, first.decision.reason)
        await ctx.send_once(task, "forbidden", in_thread(task, f"{line}\n    {first.command}"))
        await ctx.move(task, "failed", actor="policy", reason=reason, note=reason)
        return
    chooser = judge(ctx)
    if chooser is None:
        await ctx.move(task, "awaiting_approval", actor="coordinator", reason="no judge")
        return
    n = await rounds(ctx, task, "reviewing")
    name = display(ctx, chooser)
    seconds = ctx.settings.review_seconds
    task = await wait_for(ctx, task, f"a review from {name}", seconds)
    context = {
        "plan": plan_json(plan),
        "verdicts": [
            {
                "step": v.step,
                "kind": v.kind,
                "verdict": v.decision.verdict.value,
                "reason": v.decision.reason,
            }
            for v in judged
        ],
        "lessons": await lessons_for(ctx, task, f"review-ask-{n}"),
    }
    council = ask_object(task, review_ask(task, n), "review", [chooser], task.deadline, context)
    body = render.ask_line(task.id, "review", [name], seconds)
    await ctx.send_once(task, f"review-ask-{n}", in_thread(task, body, council=council))
    answers = [
        a for a in await ctx.tasks.answers(task.id, ask=review_ask(task, n)) if a.agent == chooser
    ]
    if not answers:
        if expired(ctx, task):
            reason = f"no review from {name} within {minutes(seconds)}"
            await ctx.move(task, "awaiting_approval", actor="coordinator", reason=reason)
        return
    answer = answers[0]
    if answer.status != "ok":
        reason = f"no review: {name}: {answer.text or 'failed'}"
        await ctx.move(task, "awaiting_approval", actor="coordinator", reason=reason)
        return
    review = answer_text(answer)[:REVIEW_CHARS]
    rejected = answer.choice == "reject" or (answer.choice is None and rejects(review))
    if rejected and not await _rejected_before(ctx, task):
        planner = display(ctx, task.plan_author or "")
        line = render.review_rejected_line(task.id, name, review, planner)
        await ctx.send_once(task, f"review-rejected-{n}", in_thread(task, line))
        await ctx.move(task, "planning", actor=chooser, reason=REJECTED + review)
        return
    await ctx.move(task, "awaiting_approval", actor=chooser, reason=f"reviewed by {name}")


async def _rejected_before(ctx: TaskContext, task: Task) -> bool:
    return any(
        m.from_state == "reviewing" and m.reason.startswith(REJECTED)
        for m in await ctx.tasks.moves(task.id)
    )
