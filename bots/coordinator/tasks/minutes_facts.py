"""A task's facts for its minutes, read from the store: the proposals (with the option
letters the vote showed), the critiques and revisions, a divided task's parts, the votes,
the decision, the plan, what ran, what failed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bots.coordinator.tasks.common import agent_of, answer_text, display
from bots.coordinator.tasks.critiquing import CRITIQUE_ASK_KEY, critiques, revisions
from bots.coordinator.tasks.discussion import proposals
from bots.coordinator.tasks.dividing import merger_of
from bots.coordinator.tasks.steps import load_plan
from bots.coordinator.tasks.voting import KEYS
from bots.tasks.minutes import PlannedStep, ProposalFact, RunFact, TaskFacts, first_line
from bots.tasks.plans import Plan
from bots.tasks.splits import parts_block

if TYPE_CHECKING:
    from bots.coordinator.tasks.context import TaskContext
    from bots.store.tasks import Answer, Task

_STAGE_WORDS = {
    "propose": "proposal",
    "vote": "vote",
    "plan": "plan",
    "review": "review",
    "fix": "fix",
    "refine": "final answer",
}


async def task_facts(ctx: TaskContext, task: Task) -> TaskFacts:
    """Everything the minutes say about `task`, as display names and plain words."""
    store = ctx.tasks
    proposed = await proposals(ctx, task)
    poll = await store.action_done(task.id, "poll-1")
    keyed = poll is not None and len(proposed) > 1
    facts_of = [
        ProposalFact(display(ctx, a.agent), KEYS[i] if keyed else None, first_line(answer_text(a)))
        for i, a in enumerate(proposed[: len(KEYS)])
    ]
    votes: list[tuple[str, str]] = []
    if poll is not None:
        master = ctx.bot.settings.master_user_id
        for vote in await store.votes(poll):
            agent = agent_of(ctx, vote.voter)
            if vote.voter == master:
                votes.append((f"{ctx.bot.settings.master.display_name} (master)", vote.choice))
            elif agent is not None:
                votes.append((display(ctx, agent), vote.choice))
    plan = load_plan(task)
    planned: tuple[PlannedStep, ...] = ()
    summary = ""
    if isinstance(plan, Plan):
        summary = plan.summary
        planned = tuple(
            PlannedStep(n, s.host, s.command) for n, s in enumerate(plan.steps, start=1)
        )
    runs = tuple(
        RunFact(r.attempt, r.step, r.kind, r.host, r.command, r.status, r.exit_status)
        for r in await store.steps(task.id)
    )
    answers = await store.answers(task.id)
    failures = tuple(
        f"{display(ctx, a.agent)} ({_STAGE_WORDS.get(a.stage, a.stage)}): {first_line(a.text)}"
        for a in answers
        if a.status != "ok" and a.stage != "minutes"
    )
    parts = await _parts(ctx, task)
    critiqued, revised = await _critique_round(ctx, task)
    return TaskFacts(
        task_id=task.id,
        mission=task.mission,
        state=task.state,
        proposals=tuple(facts_of),
        votes=tuple(votes),
        decision=await _decision(ctx, task, facts_of),
        plan_author=display(ctx, task.plan_author) if task.plan_author else "",
        plan_summary=summary,
        planned=planned,
        runs=runs,
        reason=await _reason(ctx, task),
        agent_failures=failures,
        answer=_answer(task, answers) if not runs and task.state == "completed" else "",
        critiques=critiqued,
        revised=revised,
        parts=parts,
    )


async def _critique_round(ctx: TaskContext, task: Task) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The critique lines and who revised; a task never asked to critique has neither, and
    its minutes read no proposals, answers or actions for them."""
    if await ctx.tasks.action_done(task.id, CRITIQUE_ASK_KEY) is None:
        return (), ()
    lines = tuple(
        f"{display(ctx, c.by)} on {key}: {first_line(c.text)}"
        for key, found in (await critiques(ctx, task)).items()
        for c in found
    )
    return lines, tuple(display(ctx, agent) for agent in await revisions(ctx, task))


async def _parts(ctx: TaskContext, task: Task) -> tuple[str, ...]:
    """A divided task's parts, one line each (who did it, done or missing and why)."""
    if task.mode != "split":
        return ()
    rows = await ctx.bot.store.parts.of(task.id)
    names = {a.name: display(ctx, a.name) for a in ctx.bot.settings.agents}
    return tuple(parts_block(rows, names).splitlines()[1:]) if rows else ()


async def _decision(ctx: TaskContext, task: Task, proposed: list[ProposalFact]) -> str:
    if task.assigned:
        return f"{display(ctx, task.assigned)} was assigned the task (no vote)"
    if task.mode == "split" and await ctx.bot.store.parts.of(task.id):
        merger = await merger_of(ctx, task)
        by = f", merged by {display(ctx, merger)}" if merger else ""
        return f"the task was divided into parts (no vote){by}"
    if task.winner is None:
        return ""
    name = display(ctx, task.winner)
    own = next((p for p in proposed if p.author == name), None)
    if own is None or own.key is None:
        return f"{name}'s proposal, the only one, was followed"
    into_planning = [m for m in await ctx.tasks.moves(task.id) if m.from_state == "voting"]
    how = into_planning[-1].reason if into_planning else ""
    said = f"{name}'s proposal ({own.key}) won the vote"
    if "master" in how:
        return said + ", decided by the master's vote"
    if "tie" in how:
        return said + " after a tie"
    return said


async def _reason(ctx: TaskContext, task: Task) -> str:
    moves = await ctx.tasks.moves(task.id)
    last = moves[-1] if moves else None
    if task.state == "failed" and last is not None:
        return last.reason
    if task.state == "cancelled" and last is not None:
        return (
            f"cancelled by {last.actor} while {(last.from_state or 'starting').replace('_', ' ')}"
        )
    if task.waiting_for:
        return f"waiting for {task.waiting_for}"
    return ""


def _answer(task: Task, answers: list[Answer]) -> str:
    """A task without commands: its final (refined) answer, else the winner's proposal."""
    refined = [a for a in answers if a.stage == "refine" and a.status == "ok"]
    if refined:
        return first_line(answer_text(refined[-1]))
    own = [
        a for a in answers if a.stage == "propose" and a.status == "ok" and a.agent == task.winner
    ]
    return first_line(answer_text(own[0])) if own else ""
