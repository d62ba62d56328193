"""Voting: the proposals as an anonymised poll (A/B/C), answered by the agents' poll responses
and the master's; the master's vote decides, else the heaviest option; a tie waits for the
master (`tie_seconds`), then the judge chooses. The poll is ended with the tally.

After a critique round the ballot carries the revised proposals and the vote ask each
option's critiques. A win by at most `tasks.hybrid_margin` (not the master's decision, not a
broken tie) is a close vote: the move to planning names the runners-up, whose best parts the
winner's plan takes in (`hybrid`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from bots.coordinator.tasks.common import (
    agent_of,
    answer_text,
    ask_object,
    display,
    displays,
    expired,
    in_thread,
    judge,
    master,
    minutes,
    participants,
    wait_for,
)
from bots.coordinator.tasks.context import TaskContext
from bots.coordinator.tasks.critiquing import revisions, vote_critiques
from bots.coordinator.tasks.discussion import proposals
from bots.events import POLL_END, POLL_START
from bots.ids import EventID
from bots.tasks import render
from bots.tasks.critiques import KEYS as KEYS  # the ballot's keys, also the minutes'
from bots.tasks.critiques import close_call, close_vote_line
from bots.tasks.polls import poll_end_content, poll_start_content
from bots.tasks.votes import (
    Option,
    Tally,
    parse_vote,
    self_vote_refused,
    tally,
    why_not_counted,
)

if TYPE_CHECKING:
    from bots.store.tasks import Task

SUMMARY_CHARS = 120
CLOSE_CALL = "; close call with "
"""How the move to planning names the runners-up of a close vote (read by `hybrid`)."""


def vote_ask(task: Task) -> str:
    return f"t{task.id}-vote-1"


def tie_ask(task: Task) -> str:
    return f"t{task.id}-tie-1"


@dataclass(frozen=True)
class Entry:
    option: Option
    text: str


async def ballot(ctx: TaskContext, task: Task) -> list[Entry]:
    """The proposals as options A, B, C…, in the order they came; a proposal revised in the
    critique round as revised."""
    entries = []
    revised = await revisions(ctx, task)
    for key, answer in zip(KEYS, await proposals(ctx, task), strict=False):
        text = revised.get(answer.agent) or answer_text(answer)
        first = next((line.strip() for line in text.splitlines() if line.strip()), "")
        summary = first if len(first) <= SUMMARY_CHARS else first[: SUMMARY_CHARS - 1] + "…"
        name = display(ctx, answer.agent)
        entries.append(Entry(Option(key, answer.agent, (name,), summary), text))
    return entries


def option_line(ctx: TaskContext, entry: Entry) -> str:
    named = replace(entry.option, author=display(ctx, entry.option.author))
    return render.poll_option_text(named, anonymous=ctx.settings.anonymous_votes)


async def phase(ctx: TaskContext, task: Task) -> None:
    entries = await ballot(ctx, task)
    if len(entries) < 2:  # a restart after the last proposal was dropped: nothing to vote on
        winner = entries[0].option.author if entries else None
        if winner is None:
            await ctx.move(task, "failed", actor="coordinator", reason="no proposal to vote on")
        else:
            await ctx.move(
                task, "planning", actor="coordinator", reason="one proposal", winner=winner
            )
        return
    if await ctx.tasks.action_done(task.id, "tie") is None:
        await _poll_stage(ctx, task, entries)
    else:
        await _tie_stage(ctx, task, entries)


async def _poll_stage(ctx: TaskContext, task: Task, entries: list[Entry]) -> None:
    voters = participants(ctx, task)
    if not task.note.startswith("tie "):  # else a restart between the tie and its notice
        seconds = ctx.settings.vote_seconds
        waiting = f"votes from {displays(ctx, voters)} or the master"
        task = await wait_for(ctx, task, waiting, seconds)
        poll = await _start_poll(ctx, task, entries, voters)
        counted, responded = await _votes(ctx, task, poll, entries, voters)
        keys = [e.option.key for e in entries]
        result = tally(counted, dict(ctx.settings.weights), master=master(ctx), keys=keys)
        everyone = all(v in responded for v in voters)
        if not result.decided_by_master and not everyone and not expired(ctx, task):
            return
        if result.winner is not None:
            await _finish(ctx, task, entries, poll, result, "")
            return
        tied = result.tie or tuple(keys)
        task = (
            await ctx.tasks.update(
                task.id, expect_state="voting", now=ctx.clock(), note="tie " + " ".join(tied)
            )
            or task
        )
    tied = tuple(task.note.split()[1:])
    what = f"the master's vote (a tie between {' and '.join(tied)})"
    task = await wait_for(ctx, task, what, ctx.settings.tie_seconds)
    chooser = judge(ctx)
    body = render.tie_line(
        task.id, tied, ctx.settings.tie_seconds, display(ctx, chooser) if chooser else "nobody"
    )
    await ctx.send_once(task, "tie", in_thread(task, body, notice=False, mention=(master(ctx),)))


async def _tie_stage(ctx: TaskContext, task: Task, entries: list[Entry]) -> None:
    poll = await _start_poll(ctx, task, entries, participants(ctx, task))
    tied = (
        task.note.split()[1:] if task.note.startswith("tie ") else [e.option.key for e in entries]
    )
    mine = [v.choice for v in await ctx.tasks.votes(poll) if v.voter == master(ctx)]
    if mine and mine[-1] in tied:
        result = Tally({}, mine[-1], decided_by_master=True)
        await _finish(ctx, task, entries, poll, result, "")
        return
    chooser = judge(ctx)
    asked = await ctx.tasks.action_done(task.id, "tie-ask")
    if asked is None:
        if not expired(ctx, task):
            return
        if chooser is None:
            note = render.note_line(task.id, "⚖️", f"No judge: the earliest proposal, {tied[0]}.")
            await _finish(ctx, task, entries, poll, Tally({}, tied[0]), note)
            return
        await _ask_judge(ctx, task, entries, tied, chooser)
        return
    judged = [v.choice for v in await ctx.tasks.votes(asked) if v.voter == master(ctx)]
    if judged and judged[-1] in tied:  # the master answered the judge's poll instead
        await _finish(ctx, task, entries, poll, Tally({}, judged[-1], decided_by_master=True), "")
        return
    answers = await ctx.tasks.answers(task.id, ask=tie_ask(task))
    subset = [e.option for e in entries if e.option.key in tied]
    picked = [v.choice for v in await ctx.tasks.votes(asked) if agent_of(ctx, v.voter) == chooser]
    choice = None
    for answer in answers:
        if answer.status == "ok":
            read = answer.choice or parse_vote(answer_text(answer), subset)
            choice = read if read in tied else None
    if choice is None and picked and picked[-1] in tied:
        choice = picked[-1]
    name = display(ctx, chooser or "")
    if choice is not None:
        note = render.tie_broken_line(task.id, choice, name)
        await _finish(ctx, task, entries, poll, Tally({}, choice), note)
    elif answers or expired(ctx, task):
        note = render.note_line(
            task.id, "⚖️", f"{name} (judge) did not choose: the earliest proposal, {tied[0]}."
        )
        await _finish(ctx, task, entries, poll, Tally({}, tied[0]), note)


async def _ask_judge(
    ctx: TaskContext, task: Task, entries: list[Entry], tied: list[str], chooser: str
) -> None:
    """The judge's tie-break: a poll of the tied options naming only the judge (an agent
    votes from a poll start, never from a message); its choice decides."""
    task = await wait_for(
        ctx, task, f"{display(ctx, chooser)} to break the tie", ctx.settings.vote_seconds
    )
    options = [e for e in entries if e.option.key in tied]
    council = ask_object(
        task,
        tie_ask(task),
        "vote",
        [chooser],
        task.deadline,
        {
            "options": [_carried(ctx, e, with_author=False) for e in options],
            "own": {},
            "tie": list(tied),
            **await _critiques_of(ctx, task, tied),
        },
    )
    question = render.note_line(
        task.id,
        "⚖️",
        f"Tie between {render.names(tied)}: {display(ctx, chooser)} (judge) decides "
        f"({minutes(ctx.settings.vote_seconds)}).",
    )
    content = poll_start_content(
        question,
        [(e.option.key, option_line(ctx, e)) for e in options],
        thread_root=task.thread_root,
        council=council,
    )
    await ctx.event_once(task, "tie-ask", POLL_START, content)


async def _critiques_of(ctx: TaskContext, task: Task, keys: list[str]) -> dict[str, Any]:
    """`{"critiques": …}` of the options `keys` after a critique round, else {}."""
    found = {k: lines for k, lines in (await vote_critiques(ctx, task)).items() if k in keys}
    return {"critiques": found} if found else {}


def _carried(ctx: TaskContext, entry: Entry, *, with_author: bool) -> dict[str, Any]:
    """An option as the voters read it: the full proposal (up to `proposal_chars`)."""
    limit = ctx.settings.proposal_chars
    text = entry.text if len(entry.text) <= limit else entry.text[: limit - 1] + "…"
    carried: dict[str, Any] = {"key": entry.option.key, "text": text}
    if with_author:
        carried["author"] = entry.option.author
    return carried


async def _start_poll(
    ctx: TaskContext, task: Task, entries: list[Entry], voters: list[str]
) -> EventID:
    sent = await ctx.tasks.action_done(task.id, "poll-1")
    if sent is not None:  # its context (the critiques among it) is read only to send it
        return sent
    own = {e.option.author: e.option.key for e in entries}
    context: dict[str, Any] = {
        "options": [
            _carried(ctx, e, with_author=not ctx.settings.anonymous_votes) for e in entries
        ],
        "own": {v: own[v] for v in voters if v in own},
        "self_vote": ctx.settings.self_vote,
    }
    context.update(await _critiques_of(ctx, task, list(own.values())))
    council = ask_object(task, vote_ask(task), "vote", voters, task.deadline, context)
    content = poll_start_content(
        render.poll_question(task.id, task.mission),
        [(e.option.key, option_line(ctx, e)) for e in entries],
        thread_root=task.thread_root,
        council=council,
    )
    return await ctx.event_once(task, "poll-1", POLL_START, content)


async def _votes(
    ctx: TaskContext, task: Task, poll: EventID, entries: list[Entry], voters: list[str]
) -> tuple[dict[str, str], set[str]]:
    """Counted votes (voter → key; the master by user id) and the agents who responded.

    A poll response counts (the latest per voter); an agent that answered the vote ask with a
    choice but sent no poll response is counted by that choice. A self-vote is ignored unless
    `tasks.self_vote`; anyone else's response is ignored."""
    options = [e.option for e in entries]
    keys = {o.key for o in options}
    counted: dict[str, str] = {}
    responded: set[str] = set()
    for vote in await ctx.tasks.votes(poll):
        if vote.choice not in keys:
            continue
        if vote.voter == master(ctx):
            counted[vote.voter] = vote.choice
            continue
        agent = agent_of(ctx, vote.voter)
        if agent is None or agent not in voters:
            continue
        responded.add(agent)
        if ctx.settings.self_vote or not self_vote_refused(agent, vote.choice, options):
            counted[agent] = vote.choice
    for answer in await ctx.tasks.answers(task.id, ask=vote_ask(task)):
        if answer.agent not in voters:
            continue
        responded.add(answer.agent)
        choice = answer.choice
        if answer.agent in counted or answer.status != "ok" or choice not in keys:
            continue
        if ctx.settings.self_vote or not self_vote_refused(answer.agent, choice, options):
            counted[answer.agent] = choice
    return counted, responded


async def _finish(
    ctx: TaskContext,
    task: Task,
    entries: list[Entry],
    poll: EventID,
    result: Tally,
    how: str,
) -> None:
    """Ends the poll with the tally, announces the winner (authors revealed now), and hands
    it the planning. `how`: a line saying who broke a tie, if someone did."""
    assert result.winner is not None
    voters = participants(ctx, task)
    counted, _ = await _votes(ctx, task, poll, entries, voters)
    options = [e.option for e in entries]
    keys = [o.key for o in options]
    counts = tally(counted, dict(ctx.settings.weights), master=None, keys=keys).counts
    shown = Tally(counts, result.winner, (), result.decided_by_master)
    # The master's vote closes the poll at once: the agents were not waited for, so none
    # is said to have failed to vote.
    silent = [] if result.decided_by_master else [v for v in voters if v not in counted]
    missing = await _not_counted(ctx, task, poll, options, silent)
    text = render.tally_text(task.id, shown, options, missing)
    await ctx.event_once(
        task, "poll-end", POLL_END, poll_end_content(poll, text, thread_root=task.thread_root)
    )
    tie_poll = await ctx.tasks.action_done(task.id, "tie-ask")
    if tie_poll is not None:
        await ctx.event_once(task, "tie-end", POLL_END, poll_end_content(tie_poll, text))
    winner = next(e for e in entries if e.option.key == result.winner)
    named = replace(winner.option, author=display(ctx, winner.option.author))
    body = render.winner_line(task.id, named)
    await ctx.send_once(task, "winner", in_thread(task, f"{how}\n{body}" if how else body))
    why = "the master's vote" if result.decided_by_master else ("a tie broken" if how else "votes")
    close = await _close_call(ctx, task, counts, result, how, named.author)
    await ctx.move(
        task,
        "planning",
        actor="coordinator",
        reason=f"vote: {result.winner} ({why})" + (CLOSE_CALL + " ".join(close) if close else ""),
        winner=winner.option.author,
        note="",
    )


async def _close_call(
    ctx: TaskContext, task: Task, counts: dict[str, float], result: Tally, how: str, name: str
) -> list[str]:
    """The runners-up of a close vote (said in the thread once), or [] for a clear win, the
    master's decision or a broken tie."""
    assert result.winner is not None
    if result.decided_by_master or how:
        return []
    close = close_call(counts, result.winner, ctx.settings.hybrid_margin)
    if close:
        line = close_vote_line(task.id, counts, result.winner, name, close)
        await ctx.send_once(task, "hybrid", in_thread(task, line))
    return close


async def _not_counted(
    ctx: TaskContext, task: Task, poll: EventID, options: list[Option], agents: list[str]
) -> list[tuple[str, str]]:
    """The asked agents whose vote is not in the tally (by display name), each with why."""
    if not agents:
        return []
    choices: dict[str, list[str | None]] = {}
    failed: dict[str, str] = {}
    for vote in await ctx.tasks.votes(poll):
        agent = agent_of(ctx, vote.voter)
        if agent is not None:
            choices.setdefault(agent, []).append(vote.choice)
    for answer in await ctx.tasks.answers(task.id, ask=vote_ask(task)):
        if answer.status == "ok":
            choices.setdefault(answer.agent, []).append(answer.choice)
        else:
            failed[answer.agent] = answer.text
    return [
        (
            display(ctx, agent),
            why_not_counted(
                agent,
                choices.get(agent, []),
                options,
                failed=failed.get(agent),
                self_vote=ctx.settings.self_vote,
            ),
        )
        for agent in agents
    ]
