"""Merging: one agent (the split's merger, else the planner) makes one deliverable of the
parts' results, saying what is missing.

Its answer is the deliverable; when it fails or is silent, the coordinator joins the parts'
results itself and says why. Parts that needed commands bring plans: they are combined in
part order into one plan that goes through review, the master's approval and the run like
any plan (merging → reviewing, the merger its author). Otherwise the task completes with the
deliverable as its answer. The deliverable is never stored twice: it is read again from the
merge answer and the parts (`deliverable`), for the note and for the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bots.coordinator.tasks.common import (
    answer_text,
    ask_object,
    display,
    expired,
    in_thread,
    left_at,
    minutes,
    wait_for,
)
from bots.coordinator.tasks.context import TaskContext
from bots.coordinator.tasks.dividing import merger_of
from bots.coordinator.tasks.working import part_of
from bots.tasks.plans import Plan, parse_plan, plan_digest, plan_json
from bots.tasks.splits import combined_plan, merge_ask_line, parts_block

if TYPE_CHECKING:
    from bots.store.task_parts import PartRow
    from bots.store.tasks import Answer, Task

MERGE_KEY = "merge-ask"


def merge_ask(task: Task) -> str:
    return f"t{task.id}-merge-1"


def part_plan(ctx: TaskContext, row: PartRow) -> Plan | None:
    """A done commands part's plan (stored as the plan JSON); None for any other part."""
    if not row.commands or row.status != "done":
        return None
    parsed = parse_plan(
        row.result, hosts=list(ctx.bot.settings.execution.hosts), max_steps=ctx.settings.max_steps
    )
    return parsed if isinstance(parsed, Plan) else None


def readable(ctx: TaskContext, row: PartRow) -> str:
    """A part's result as the merger and the master read it: a plan as its summary and the
    commands it will run."""
    plan = part_plan(ctx, row)
    if plan is None:
        return row.result
    lines = [plan.summary] if plan.summary else []
    lines += [f"- on {step.host}: {step.command}" for step in plan.steps]
    return "\n".join(lines) or "(a plan with no command)"


def merge_context(ctx: TaskContext, rows: Sequence[PartRow]) -> dict[str, Any]:
    return {
        "parts": [
            {
                "n": r.n,
                "title": r.title,
                "agent": display(ctx, r.agent),
                "result": readable(ctx, r),
            }
            for r in rows
            if r.status == "done"
        ],
        "missing": [{"n": r.n, "title": r.title, "why": r.why} for r in rows if r.status != "done"],
        "commands": any(part_plan(ctx, r) is not None for r in rows),
    }


async def phase(ctx: TaskContext, task: Task) -> None:
    rows = await ctx.bot.store.parts.of(task.id)
    merger = await merger_of(ctx, task)
    if merger is not None:
        name = display(ctx, merger)
        seconds = ctx.settings.part_seconds
        task = await wait_for(ctx, task, f"the merged result from {name}", seconds)
        council = ask_object(
            task, merge_ask(task), "merge", [merger], task.deadline, merge_context(ctx, rows)
        )
        done = sum(1 for r in rows if r.status == "done")
        body = merge_ask_line(task.id, name, len(rows), len(rows) - done, seconds)
        await ctx.send_once(task, MERGE_KEY, in_thread(task, body, council=council))
        if await _merge_answer(ctx, task, merger) is None and not expired(ctx, task):
            return
    await _finish(ctx, task, rows, merger)


async def _finish(
    ctx: TaskContext, task: Task, rows: Sequence[PartRow], merger: str | None
) -> None:
    text = await deliverable(ctx, task, rows)
    plans = [(part_of(r), plan) for r in rows if (plan := part_plan(ctx, r)) is not None]
    plan = combined_plan(plans) if plans else None
    author = merger or "coordinator"
    if plan is None or not plan.steps:
        await ctx.move(task, "completed", actor=author, reason="merged", note=text)
        return
    await ctx.move(
        task,
        "reviewing",
        actor=author,
        reason=f"merged; the parts' plan of {len(plan.steps)} step(s)",
        note=text,
        plan=plan_json(plan),
        plan_digest=plan_digest(plan),
        plan_author=merger,
        winner=merger,
        attempt=max(task.attempt, 1),
        plan_event=None,
        approved_by=None,
        approval_event=None,
    )


async def _merge_answer(ctx: TaskContext, task: Task, merger: str) -> Answer | None:
    answers = await ctx.tasks.answers(task.id, ask=merge_ask(task))
    return next((a for a in answers if a.agent == merger), None)


async def deliverable(ctx: TaskContext, task: Task, rows: Sequence[PartRow]) -> str:
    """The merger's answer; else the parts' results joined, with why."""
    merger = await merger_of(ctx, task)
    answer = await _merge_answer(ctx, task, merger) if merger is not None else None
    if answer is not None and answer.status == "ok" and answer_text(answer):
        return answer_text(answer)
    if merger is None:
        why = "nobody could merge the parts (no planner is configured)"
    elif answer is None:
        why = f"{display(ctx, merger)} did not merge within {minutes(ctx.settings.part_seconds)}"
    else:
        why = f"{display(ctx, merger)} could not merge: {answer.text or 'failed'}"
    joined = [
        f"{r.n}. {r.title} ({display(ctx, r.agent)}):\n{readable(ctx, r)}"
        for r in rows
        if r.status == "done"
    ]
    return f"({why}; the parts as they came:)\n\n" + "\n\n".join(joined)


async def report_summary(ctx: TaskContext, task: Task) -> str:
    """What the report of a split task says first: the deliverable (once merged) and every
    part with who did it; "" for any other task."""
    if task.mode != "split":
        return ""
    rows = await ctx.bot.store.parts.of(task.id)
    if not rows:
        return ""
    merged = await left_at(ctx, task, "merging") is not None
    text = await deliverable(ctx, task, rows) if merged else ""
    names = {a.name: display(ctx, a.name) for a in ctx.bot.settings.agents}
    block = parts_block(rows, names)
    return "\n\n".join(x for x in (text, block) if x)
