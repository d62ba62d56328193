"""Dividing: the planner splits the mission into parts, each given to the participant whose
role and record fit it best.

The split is asked once more with the exact error when it is unusable (no part, one part,
too many, a part without a title); a second unusable split, a failed answer or silence is
said in the thread and the task goes to the council as usual (dividing → discussing). A
usable split is stored with its assignment (`Store.parts`, one transaction, idempotent)
in the same drive that moves the task on to `working`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bots.coordinator.tasks.common import (
    ask_object,
    display,
    expired,
    in_thread,
    minutes,
    participants,
    wait_for,
)
from bots.coordinator.tasks.context import TaskContext
from bots.coordinator.tasks.lessons import lessons_for
from bots.coordinator.tasks.planning import host_descriptions
from bots.tasks import render
from bots.tasks.kinds import task_kind
from bots.tasks.records import Record, ranked_for, records
from bots.tasks.splits import (
    Candidate,
    Part,
    Split,
    SplitError,
    parse_split,
    reassign,
    resolve_agent,
)

if TYPE_CHECKING:
    from bots.store.tasks import Answer, Task

ASK_KEY = "split-ask-{k}"
FALLBACK_KEY = "split-fallback"
RECORDS_SINCE = 0.0
"""Records count every task the store keeps (a few thousand rows: one query)."""


def split_ask(task: Task, k: int) -> str:
    return f"t{task.id}-split-{k}"


def candidates(ctx: TaskContext, task: Task) -> list[Candidate]:
    """The task's participants as the split may name them: name, display name, role and
    aliases (the Matrix localpart among them)."""
    chosen = participants(ctx, task)
    out = []
    for agent in ctx.bot.settings.agents:
        if agent.name in chosen:
            account = agent.account
            aliases = tuple(a for a in (*account.aliases, account.localpart) if a)
            out.append(Candidate(agent.name, display(ctx, agent.name), agent.role, aliases))
    return sorted(out, key=lambda c: chosen.index(c.name))


async def ranking(ctx: TaskContext, cands: Sequence[Candidate], words: str) -> list[str]:
    """The candidates best first for a job described by `words` (its kind by
    `bots.tasks.kinds`): those with records by `records.ranked_for`, then the others in the
    configured order."""
    return ranked(await grouped_records(ctx, cands), cands, words)


async def grouped_records(ctx: TaskContext, cands: Sequence[Candidate]) -> dict[str, list[Record]]:
    """The candidates' records (votes won, plans that worked, cost), per kind of task."""
    names = {c.name for c in cands}
    found = records(await ctx.bot.store.task_records.facts(RECORDS_SINCE))
    return {agent: rows for agent, rows in found.items() if agent in names}


def ranked(
    grouped: Mapping[str, Sequence[Record]], cands: Sequence[Candidate], words: str
) -> list[str]:
    best = ranked_for(task_kind(words), grouped) if grouped else []
    return best + [c.name for c in cands if c.name not in best]


async def assignment(
    ctx: TaskContext, parts: Sequence[Part], cands: Sequence[Candidate]
) -> list[str]:
    """Who does each part: the planner's suggestion when it names a participant; else by the
    part's role words, then the fewest parts so far (so parts run in parallel), then the
    records on the part's own kind ("Free up the disk" goes to who did disk tasks well).
    `splits.assign` with one ranking per part: `reassign` with nobody tried yet is that
    choice for one part."""
    grouped = await grouped_records(ctx, cands)
    load: dict[str, int] = {c.name: 0 for c in cands}
    chosen = []
    for part in parts:
        name = resolve_agent(part.suggested, cands) or reassign(
            part, (), cands, ranked(grouped, cands, f"{part.title} {part.detail}"), load
        )
        name = name or cands[0].name
        load[name] = load.get(name, 0) + 1
        chosen.append(name)
    return chosen


def planner_of(ctx: TaskContext) -> str | None:
    """Who splits (and merges when the split names no merger): `tasks.planner`, else the
    judge."""
    return ctx.bot.settings.task_planner


async def accepted_split(ctx: TaskContext, task: Task) -> Split | None:
    """The split the task works on: the planner's last usable answer (read again from the
    stored answers, so working and merging need no copy of it)."""
    planner = planner_of(ctx)
    for k in (2, 1):
        answer = _answer_of(await ctx.tasks.answers(task.id, ask=split_ask(task, k)), planner)
        if answer is not None and answer.status == "ok":
            parsed = parse_split(answer.text, max_parts=ctx.settings.max_parts)
            if isinstance(parsed, Split):
                return parsed
    return None


async def merger_of(ctx: TaskContext, task: Task) -> str | None:
    """The split's `merger` when it names a participant, else the planner."""
    split = await accepted_split(ctx, task)
    if split is not None and split.merger:
        found = resolve_agent(split.merger, candidates(ctx, task))
        if found is not None:
            return found
    return planner_of(ctx)


async def split_context(ctx: TaskContext, task: Task, key: str) -> dict[str, Any]:
    return {
        "agents": [
            {"name": c.name, "display": c.display, "role": c.role} for c in candidates(ctx, task)
        ],
        "max_parts": ctx.settings.max_parts,
        "hosts": host_descriptions(ctx),
        "lessons": await lessons_for(ctx, task, key),
    }


async def phase(ctx: TaskContext, task: Task) -> None:
    planner = planner_of(ctx)
    cands = candidates(ctx, task)
    if planner is None or not cands:
        why = "no planner is configured" if planner is None else "no agent takes part"
        await fall_back(ctx, task, why)
        return
    name = display(ctx, planner)
    seconds = ctx.settings.plan_seconds
    again = await ctx.tasks.action_done(task.id, ASK_KEY.format(k=2)) is not None
    k = 2 if again else 1
    if not again:
        task = await wait_for(ctx, task, f"a split from {name}", seconds)
        key = ASK_KEY.format(k=1)
        context = await split_context(ctx, task, key)
        council = ask_object(task, split_ask(task, 1), "split", [planner], task.deadline, context)
        body = f"{render.prefix(task.id)}✂️ Asking {name} to split the mission into parts "
        body += f"({minutes(seconds)})."
        sent = await ctx.send_once(task, key, in_thread(task, body, council=council))
        if task.thread_root is None:  # a task from outside Matrix: this ask roots its thread
            await ctx.tasks.update(
                task.id, expect_state=task.state, now=ctx.clock(), thread_root=sent
            )
    answer = _answer_of(await ctx.tasks.answers(task.id, ask=split_ask(task, k)), planner)
    if answer is None:
        if expired(ctx, task):
            await fall_back(ctx, task, f"{name} sent no split within {minutes(seconds)}")
        return
    if answer.status != "ok":
        await fall_back(ctx, task, f"{name} could not split it: {answer.text or 'failed'}")
        return
    parsed = parse_split(answer.text, max_parts=ctx.settings.max_parts)
    if isinstance(parsed, Split):
        await _accept(ctx, task, parsed, cands)
    elif again:
        await fall_back(ctx, task, f"the split from {name} was unusable twice: {parsed.text}")
    else:
        await _ask_again(ctx, task, planner, parsed)


async def _ask_again(ctx: TaskContext, task: Task, planner: str, error: SplitError) -> None:
    name = display(ctx, planner)
    seconds = ctx.settings.plan_seconds
    task = await wait_for(ctx, task, f"a corrected split from {name}", seconds)
    key = ASK_KEY.format(k=2)
    context = await split_context(ctx, task, key)
    context["error"] = error.text
    council = ask_object(task, split_ask(task, 2), "split", [planner], task.deadline, context)
    body = (
        f"{render.prefix(task.id)}✂️ The split from {name} is unusable: {error.text} "
        f"Asking {name} once more ({minutes(seconds)})."
    )
    await ctx.send_once(task, key, in_thread(task, body, council=council))


async def _accept(ctx: TaskContext, task: Task, split: Split, cands: list[Candidate]) -> None:
    """Stores the parts with who does each (suggested, else by role words, else by record,
    spread over the agents) and moves on to working."""
    agents = await assignment(ctx, split.parts, cands)
    await ctx.bot.store.parts.add_all(task.id, split.parts, agents, ctx.clock())
    count = len(split.parts)
    await ctx.move(
        task,
        "working",
        actor=planner_of(ctx) or "coordinator",
        reason=f"split into {count} parts",
    )


async def fall_back(ctx: TaskContext, task: Task, why: str) -> None:
    """Says why there is no split and hands the task to the council as usual."""
    body = (
        f"{render.prefix(task.id)}✂️ No usable split: {why}. "
        "The council works on it as one task: proposals, vote, plan."
    )
    await ctx.send_once(task, FALLBACK_KEY, in_thread(task, body))
    await ctx.move(
        task,
        "discussing",
        actor="coordinator",
        reason=f"no split: {why}",
        mode="council",
    )


def _answer_of(answers: Sequence[Answer], agent: str | None) -> Answer | None:
    return next((a for a in answers if a.agent == agent), None)
