"""Working: the split is announced, every part is asked of its agent at once, and each drive
settles the parts whose answer came or whose time ran out.

A text part's answer is its result; a commands part's answer must be a plan (the plan
stage's JSON), else it counts as failed with the plan's error. A failed or silent part is
given once to another participant (`reassign`: its own wait starts), else it stays missing.
Every part settled: on to merging, or — no part done — the task fails, naming why.

Restart safety: the parts' states live in `task_parts` (each change a compare-and-set on the
part's try, so an answer to an old try changes nothing), every line and ask is an action
sent once, and each part's wait is its stored `updated_at` plus `tasks.part_seconds`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bots.coordinator.tasks.common import (
    answer_text,
    ask_object,
    display,
    displays,
    in_thread,
)
from bots.coordinator.tasks.context import TaskContext
from bots.coordinator.tasks.dividing import candidates, merger_of, ranking
from bots.coordinator.tasks.planning import host_descriptions
from bots.tasks import render
from bots.tasks.plans import Plan, parse_plan, plan_json
from bots.tasks.splits import Part, part_ask_line, part_failed_line, reassign, split_line

if TYPE_CHECKING:
    from bots.store.task_parts import PartRow
    from bots.store.tasks import Answer, Task

SPLIT_KEY = "split"


def part_ask(task: Task, n: int, try_: int) -> str:
    return f"t{task.id}-part-{n}-{try_}"


def part_of(row: PartRow) -> Part:
    return Part(row.n, row.title, row.detail, bool(row.commands), row.suggested)


def first_agent(row: PartRow) -> str:
    """Who the split gave the part to (before any reassignment)."""
    return row.tried[0] if row.tried else row.agent


def part_deadline(ctx: TaskContext, row: PartRow) -> float:
    """When an asked part's wait ends: it was asked when its row last changed."""
    return row.updated_at + ctx.settings.part_seconds


async def phase(ctx: TaskContext, task: Task) -> None:
    store = ctx.bot.store.parts
    rows = await store.of(task.id)
    if not rows:
        reason = "the split's parts were not stored"
        await ctx.move(task, "failed", actor="coordinator", reason=reason, note=reason)
        return
    if await ctx.tasks.action_done(task.id, SPLIT_KEY) is None:
        merger = await merger_of(ctx, task) or "coordinator"
        line = split_line(
            task.id,
            [part_of(r) for r in rows],
            [display(ctx, first_agent(r)) for r in rows],
            display(ctx, merger),
        )
        await ctx.send_once(task, SPLIT_KEY, in_thread(task, line))
    for row in rows:
        if row.status == "asked":
            await _settle(ctx, task, row, rows)
    rows = await store.of(task.id)
    for row in rows:
        if row.status == "asked":
            await _ask(ctx, task, row, rows)
    asked = [r for r in rows if r.status == "asked"]
    if asked:
        await _wait(ctx, task, asked)
        return
    done = [r for r in rows if r.status == "done"]
    if not done:
        reason = "no part was done: " + "; ".join(f"{r.n}. {r.title}: {r.why}" for r in rows)
        await ctx.move(task, "failed", actor="coordinator", reason=reason, note=reason)
        return
    await ctx.move(
        task, "merging", actor="coordinator", reason=f"{len(done)} of {len(rows)} parts done"
    )


def part_context(ctx: TaskContext, row: PartRow, rows: Sequence[PartRow]) -> dict[str, Any]:
    """What the part's agent is told: its own part in full, the others' titles only."""
    context: dict[str, Any] = {
        "part": {
            "n": row.n,
            "title": row.title,
            "detail": row.detail,
            "commands": bool(row.commands),
        },
        "total": len(rows),
        "parts": [r.title for r in rows],
    }
    if row.commands:
        context["hosts"] = host_descriptions(ctx)
    return context


async def _ask(ctx: TaskContext, task: Task, row: PartRow, rows: Sequence[PartRow]) -> None:
    seconds = ctx.settings.part_seconds
    ask = part_ask(task, row.n, row.try_)
    context = part_context(ctx, row, rows)
    deadline = part_deadline(ctx, row)
    council = ask_object(task, ask, "part", [row.agent], deadline, context)
    body = part_ask_line(task.id, part_of(row), len(rows), display(ctx, row.agent), seconds)
    await ctx.send_once(
        task, f"part-ask-{row.n}-{row.try_}", in_thread(task, body, council=council)
    )


async def _settle(ctx: TaskContext, task: Task, row: PartRow, rows: Sequence[PartRow]) -> None:
    """Done, reassigned or missing, when the part's answer came or its time is up."""
    store = ctx.bot.store.parts
    answers = await ctx.tasks.answers(task.id, ask=part_ask(task, row.n, row.try_))
    answer = next((a for a in answers if a.agent == row.agent), None)
    now = ctx.clock()
    if answer is None:
        if now < part_deadline(ctx, row):
            return
        why = render.no_answer_reason(ctx.settings.part_seconds)
    elif answer.status != "ok":
        why = answer.text or "failed"
    else:
        result, why = _result(ctx, row, answer)
        if result is not None:
            await store.done(task.id, row.n, row.try_, result, now)
            return
    await _failed(ctx, task, row, rows, why)


def _result(ctx: TaskContext, row: PartRow, answer: Answer) -> tuple[str | None, str]:
    """(the part's result, "") or (None, why it is no result)."""
    if row.commands:
        parsed = parse_plan(
            answer.text,
            hosts=list(ctx.bot.settings.execution.hosts),
            max_steps=ctx.settings.max_steps,
        )
        if isinstance(parsed, Plan):
            return plan_json(parsed), ""
        return None, f"its plan is invalid: {parsed.text}"
    said = answer_text(answer)
    return (said, "") if said else (None, "an empty answer")


async def _failed(
    ctx: TaskContext, task: Task, row: PartRow, rows: Sequence[PartRow], why: str
) -> None:
    """Once: given to another participant that did not try it; then: missing. The line is
    sent before the store changes, so a crash in between repeats nothing."""
    store = ctx.bot.store.parts
    part = part_of(row)
    nxt = None
    if row.try_ == 1:
        cands = candidates(ctx, task)
        order = await ranking(ctx, cands, f"{row.title} {row.detail}")
        load = Counter(r.agent for r in rows if r.status == "asked" and r.n != row.n)
        nxt = reassign(part, (*row.tried, row.agent), cands, order, load)
    line = part_failed_line(
        task.id, part, display(ctx, row.agent), why, display(ctx, nxt) if nxt else None
    )
    await ctx.send_once(task, f"part-failed-{row.n}-{row.try_}", in_thread(task, line))
    now = ctx.clock()
    if nxt is not None:
        await store.reassign(task.id, row.n, row.try_, nxt, why, now)
    else:
        await store.missing(task.id, row.n, row.try_, why, now)


async def _wait(ctx: TaskContext, task: Task, asked: Sequence[PartRow]) -> None:
    """The task's wait is the soonest of its asked parts' (the tick drives it then)."""
    deadline = min(part_deadline(ctx, r) for r in asked)
    numbers = ", ".join(str(r.n) for r in asked)
    what = f"part{'s' if len(asked) > 1 else ''} {numbers} from "
    what += displays(ctx, list(dict.fromkeys(r.agent for r in asked)))
    if task.waiting_for != what or task.deadline != deadline:
        await ctx.tasks.update(
            task.id, expect_state=task.state, now=ctx.clock(), waiting_for=what, deadline=deadline
        )
