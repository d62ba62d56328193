"""Critiquing (issue 17's critique round): before the vote, each proposer critiques the others'
proposals in one message, one line per proposal; those whose proposal got a critique may
revise it once; the vote then carries the revised proposals, each with its critiques.

Two asks, each sent once (`critique-ask`, `revise-ask`) and each waiting
`tasks.critique_seconds`; silence is no critique, or keeping the proposal. What counts is
fixed when each stage closes, so the ballot and the critiques read the same however often
they are rebuilt (after a restart too): critiques that came before the critique stage closed
(its time is recorded as the action `critiques-in`), revisions that came before the task left
critiquing. A later answer is stored for its cost and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bots.coordinator.tasks.common import (
    answer_text,
    ask_object,
    by_agent,
    display,
    expired,
    in_thread,
    left_at,
    ok,
    wait_for,
)
from bots.coordinator.tasks.context import TaskContext
from bots.coordinator.tasks.discussion import proposals
from bots.ids import EventID
from bots.tasks import render
from bots.tasks.critiques import (
    KEYS,
    Critique,
    by_option,
    no_critique_line,
    parse_critique,
    parse_revision,
    revised_line,
)

if TYPE_CHECKING:
    from bots.store.tasks import Task

CRITIQUE_ASK_KEY = "critique-ask"
"""The action recording that the critique ask was sent: a task without it had no round."""
CLOSED_KEY = "critiques-in"
"""The action recording when the critique stage closed (`critiques-in:<time>`)."""
ANONYMOUS_CRITIC = "another member"


def critique_ask(task: Task) -> str:
    return f"t{task.id}-critique-1"


def revise_ask(task: Task) -> str:
    return f"t{task.id}-revise-1"


@dataclass(frozen=True)
class Proposal:
    """A proposal as the critique round and the ballot key it: as first proposed."""

    key: str
    agent: str
    text: str


async def options(ctx: TaskContext, task: Task) -> list[Proposal]:
    """The proposals with their ballot keys (A, B, C… in the order they came)."""
    return [
        Proposal(key, answer.agent, answer_text(answer))
        for key, answer in zip(KEYS, await proposals(ctx, task), strict=False)
    ]


async def critiques(ctx: TaskContext, task: Task) -> dict[str, list[Critique]]:
    """Per option key, the critiques it got (critics by agent name), from the critique
    answers that came before the stage closed; {} when there was no critique round."""
    opts = await options(ctx, task)
    keys = [o.key for o in opts]
    own = {o.agent: o.key for o in opts}
    authors = None
    if not ctx.settings.anonymous_votes:
        authors = {o.key: _names(ctx, o.agent) for o in opts}
    closed = await _closed_at(ctx, task)
    parsed: dict[str, dict[str, str]] = {}
    answers = ok(await ctx.tasks.answers(task.id, ask=critique_ask(task)))
    for answer in sorted(answers, key=lambda a: (a.at, a.agent)):
        if answer.agent in own and (closed is None or answer.at <= closed):
            parsed[answer.agent] = parse_critique(
                answer_text(answer), keys, own[answer.agent], authors
            )
    return by_option(parsed, keys)


async def revisions(ctx: TaskContext, task: Task) -> dict[str, str]:
    """Agent → its revised proposal, for those that revised before the round ended."""
    if await ctx.tasks.action_done(task.id, "revise-ask") is None:
        return {}
    closed = await left_at(ctx, task, "critiquing")
    found: dict[str, str] = {}
    for answer in ok(await ctx.tasks.answers(task.id, ask=revise_ask(task))):
        if closed is not None and answer.at > closed:
            continue
        revised = parse_revision(answer_text(answer))
        if revised is not None:
            found[answer.agent] = revised
    return found


async def vote_critiques(ctx: TaskContext, task: Task) -> dict[str, list[str]]:
    """The vote ask's `critiques`: key → lines, each naming its critic unless votes are
    anonymous (a critic critiques every option but its own, so naming it names its own)."""
    return {
        key: [_said(ctx, c) for c in found] for key, found in (await critiques(ctx, task)).items()
    }


async def phase(ctx: TaskContext, task: Task) -> None:
    opts = await options(ctx, task)
    if len(opts) < 2:  # a restart after a proposal was dropped: nothing to critique
        await ctx.move(task, "voting", actor="coordinator", reason="nothing to critique")
        return
    if await ctx.tasks.action_done(task.id, "revise-ask") is None:
        criticised = await _critique_stage(ctx, task, opts)
        if criticised is None:
            return
        if not criticised:
            await ctx.send_once(task, "critique-none", in_thread(task, no_critique_line(task.id)))
            await ctx.move(task, "voting", actor="coordinator", reason="no critique came")
            return
        task = await _ask_revisions(ctx, task, opts, criticised)
    criticised_keys = await critiques(ctx, task)
    asked = [o.agent for o in opts if o.key in criticised_keys]
    got = by_agent(await ctx.tasks.answers(task.id, ask=revise_ask(task)))
    if not expired(ctx, task) and any(name not in got for name in asked):
        return
    revised = await revisions(ctx, task)
    keys = [o.key for o in opts if o.agent in revised]
    await ctx.send_once(task, "revised", in_thread(task, revised_line(task.id, keys)))
    reason = f"critiques in, {len(keys)} revised"
    await ctx.move(task, "voting", actor="coordinator", reason=reason)


async def _critique_stage(
    ctx: TaskContext, task: Task, opts: list[Proposal]
) -> list[Proposal] | None:
    """Asks every proposer for its critiques; when all came (or the wait ran out) closes
    the stage: the proposals that got a critique. None while waiting."""
    proposers = [o.agent for o in opts]
    seconds = ctx.settings.critique_seconds
    shown = [display(ctx, name) for name in proposers]
    task = await wait_for(ctx, task, f"critiques from {render.names(shown)}", seconds)
    context: dict[str, Any] = {
        "options": [{"key": o.key, "text": _clipped(ctx, o.text)} for o in opts],
        "own": {o.agent: o.key for o in opts},
    }
    council = ask_object(task, critique_ask(task), "critique", proposers, task.deadline, context)
    body = render.ask_line(task.id, "critique", shown, seconds)
    await ctx.send_once(task, CRITIQUE_ASK_KEY, in_thread(task, body, council=council))
    got = by_agent(await ctx.tasks.answers(task.id, ask=critique_ask(task)))
    if not expired(ctx, task) and any(name not in got for name in proposers):
        return None
    now = ctx.clock()
    await ctx.tasks.record_action(task.id, CLOSED_KEY, EventID(f"{CLOSED_KEY}:{now!r}"), now)
    found = await critiques(ctx, task)
    return [o for o in opts if o.key in found]


async def _ask_revisions(
    ctx: TaskContext, task: Task, opts: list[Proposal], criticised: list[Proposal]
) -> Task:
    """One ask to the proposers whose proposal got a critique: revise it once, or KEEP."""
    seconds = ctx.settings.critique_seconds
    shown = [display(ctx, o.agent) for o in criticised]
    task = await wait_for(ctx, task, f"revisions from {render.names(shown)}", seconds)
    found = await critiques(ctx, task)
    context: dict[str, Any] = {
        "own": {o.agent: o.key for o in criticised},
        "options": [{"key": o.key, "text": _clipped(ctx, o.text)} for o in opts],
        "critiques": {
            key: [{"by": _critic(ctx, c.by), "text": c.text} for c in lines]
            for key, lines in found.items()
        },
    }
    agents = [o.agent for o in criticised]
    council = ask_object(task, revise_ask(task), "revise", agents, task.deadline, context)
    body = render.ask_line(task.id, "revise", shown, seconds)
    await ctx.send_once(task, "revise-ask", in_thread(task, body, council=council))
    return task


async def _closed_at(ctx: TaskContext, task: Task) -> float | None:
    recorded = await ctx.tasks.action_done(task.id, CLOSED_KEY)
    if recorded is None:
        return None
    try:
        return float(recorded.removeprefix(f"{CLOSED_KEY}:"))
    except ValueError:
        return None


def _names(ctx: TaskContext, agent: str) -> tuple[str, ...]:
    for configured in ctx.bot.settings.agents:
        if configured.name == agent:
            return (agent, configured.account.display_name, *configured.account.aliases)
    return (agent,)


def _critic(ctx: TaskContext, agent: str) -> str:
    return ANONYMOUS_CRITIC if ctx.settings.anonymous_votes else display(ctx, agent)


def _said(ctx: TaskContext, critique: Critique) -> str:
    if ctx.settings.anonymous_votes:
        return critique.text
    return f"{display(ctx, critique.by)}: {critique.text}"


def _clipped(ctx: TaskContext, text: str) -> str:
    limit = ctx.settings.proposal_chars
    return text if len(text) <= limit else text[: limit - 1] + "…"
