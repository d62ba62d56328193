"""`!stats [7d|30d]`: how the council did over a period, overall and per agent, and each
agent's record per kind of task (votes won, plans that worked, cost a task).

The figures are the store's (`TaskStore.stats`, two queries); this module only chooses the
period and says them. Success is completed out of completed or failed: a task the master
cancelled is neither a success nor the council's failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from bots.errors import CommandError
from bots.message import Reply
from bots.routing.commands import CommandRequest, CommandSpec
from bots.tasks.kinds import KIND_LABELS
from bots.tasks.records import Record, records
from bots.text.durations import coarse

if TYPE_CHECKING:
    from bots.store.tasks import AgentStats, TaskStats

STATS_PERIODS = {"7d": 7, "30d": 30}
DAY = 86_400.0


def read_period(args: str) -> int:
    """`!stats` (7 days), `!stats 7d`, `!stats 30d`: the period in days."""
    word = args.strip().lower() or "7d"
    days = STATS_PERIODS.get(word)
    if days is None:
        raise CommandError("!stats takes 7d (the default) or 30d, e.g. !stats 30d.")
    return days


def render_stats(stats: TaskStats, days: int, names: dict[str, str]) -> str:
    """The period's figures; `names` maps an agent's configured name to how it is shown."""
    period = f"last {days} days"
    if stats.count == 0:
        return f"No tasks in the {period}. Start one: !task <mission>"
    outcome = f"{stats.completed} done, {stats.failed} failed, {stats.cancelled} cancelled" + (
        f", {stats.active} in work" if stats.active else ""
    )
    lines = [f"Tasks, {period}: {stats.count} — {outcome}"]
    rate = stats.success_rate
    lines.append(
        "Success: " + (f"{rate:.0%} of finished tasks" if rate is not None else "none finished yet")
    )
    if stats.mean_seconds is not None:
        attempts = f", {stats.mean_attempts:.1f} attempts" if stats.mean_attempts else ""
        lines.append(f"Average time to done: {coarse(stats.mean_seconds)}{attempts}")
    lines.append(f"Spend: ${stats.cost:.4f}, {stats.tokens:,} tokens")
    if stats.agents:
        lines.append("Per agent:")
        ranked = sorted(stats.agents, key=lambda a: (-a.wins, -a.answers, a.agent))
        lines += [f"• {_agent_line(agent, names)}" for agent in ranked]
    return "\n".join(lines)


def _agent_line(agent: AgentStats, names: dict[str, str]) -> str:
    failed = f" ({agent.failed_answers} failed)" if agent.failed_answers else ""
    wins = f"won {agent.wins}" + (f" ({agent.wins_completed} done)" if agent.wins else "")
    return (
        f"{names.get(agent.agent, agent.agent)}: {agent.answers} answers{failed}, {wins}, "
        f"${agent.cost:.4f}, {agent.tokens:,} tokens"
    )


def render_records(grouped: Mapping[str, Sequence[Record]], names: Mapping[str, str]) -> str:
    """Each agent's record over every kind, then per kind of task (`bots.tasks.kinds`);
    only the figures it has (an agent that never planned shows no plan ratio)."""
    if not grouped:
        return ""
    lines = ["Records (votes won · plans that worked · cost a task):"]
    for agent, found in grouped.items():
        for record in found:
            figures = _record_figures(record, rates=record.kind is None) or "no figures yet"
            if record.kind is None:
                lines.append(f"• {names.get(agent, agent)}: {figures}")
            else:
                lines.append(f"  ◦ {KIND_LABELS[record.kind]}: {figures}")
    return "\n".join(lines)


def _record_figures(record: Record, *, rates: bool) -> str:
    parts = []
    if record.win_rate is not None:
        rate = f" ({record.win_rate:.0%})" if rates else ""
        parts.append(f"won {record.won}/{record.votes} votes{rate}")
    if record.success_rate is not None:
        rate = f" ({record.success_rate:.0%})" if rates else ""
        parts.append(f"{record.succeeded}/{record.plans} plans worked{rate}")
    if record.cost_per_task is not None:
        parts.append(f"${record.cost_per_task:.4f} a task")
    return " · ".join(parts)


def stats_command(clock: Callable[[], float] = time.time) -> CommandSpec:
    """`!stats`, reading the store of the bot it runs in."""

    async def stats(request: CommandRequest) -> list[Reply]:
        days = read_period(request.args)
        since = clock() - days * DAY
        store = request.bot.store
        figures = await store.tasks.stats(since)
        names = {a.name: a.account.display_name for a in request.bot.settings.agents}
        text = render_stats(figures, days, names)
        if figures.count:
            kept = render_records(records(await store.task_records.facts(since)), names)
            text = f"{text}\n{kept}" if kept else text
        return [Reply.answering(request.message, text)]

    return CommandSpec("stats", "tasks done, time, spend; per agent", stats, "[7d|30d]")
