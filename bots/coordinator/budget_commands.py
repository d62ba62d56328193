"""`!budget` (spend today and this month, per agent and per task), `!budget 12` (one task),
`!budget 12 +0.50` (the master raises a task's cap) and `!unbench <agent>` (the master, after
topping up an account whose credit ran out).

The coordinator answers from the store's ledger, which every agent process writes, so the
figures hold what was settled and what calls in flight hold (reserved) right now.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bots.agents.budget import day_window, local_day
from bots.agents.spend_caps import month_days, usd
from bots.coordinator.task_commands import agent_named
from bots.errors import CommandError
from bots.message import Reply
from bots.routing.commands import CommandRequest, CommandSpec
from bots.settings import Settings
from bots.store import Store
from bots.store.ledger import Spend
from bots.text.durations import countdown

BUDGET_USAGE = "!budget, !budget 12 or !budget 12 +0.50"
UNBENCH_USAGE = "!unbench <agent>"
TOP_TASKS = 5
MAX_RAISE_USD = 1000.0
_ARGS = re.compile(r"^#?(\d+)(?:\s+\+\s*\$?(\d+(?:\.\d*)?|\.\d+))?$")


@dataclass(frozen=True)
class BudgetQuery:
    """What `!budget` was asked: the overview (task None), one task, or a raise of its cap."""

    task: int | None = None
    raise_usd: float | None = None


def read_budget_args(args: str) -> BudgetQuery:
    """Raises `CommandError` with a valid example for anything else."""
    text = " ".join(args.split())
    if not text:
        return BudgetQuery()
    match = _ARGS.match(text)
    if match is None or int(match.group(1)) <= 0:
        raise CommandError(
            f"I did not understand {text!r}. Send {BUDGET_USAGE} "
            "(a task number, and + an amount in USD to raise its cap)."
        )
    raised = float(match.group(2)) if match.group(2) is not None else None
    if raised is not None and not 0 < raised <= MAX_RAISE_USD:
        raise CommandError(
            f"Raise a cap by more than $0 and at most ${MAX_RAISE_USD:,.0f}, "
            f"e.g. !budget {match.group(1)} +0.50."
        )
    return BudgetQuery(int(match.group(1)), raised)


def _agent_line(name: str, today: Spend, month: Spend, cap: float | None, tokens: str) -> str:
    held = f", {usd(today.held_usd)} reserved" if today.held_usd else ""
    if cap is None:
        limit = "no cap"
    else:
        limit = f"cap {usd(cap)}, {usd(max(cap - today.total_usd, 0.0))} left"
    return (
        f"• {name}: today {usd(today.settled_usd)}{held} ({limit}){tokens}; "
        f"this month {usd(month.settled_usd)}"
    )


class BudgetCommands:
    """`!budget` and `!unbench`; `clock` dates the report (a test's clock)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def specs(self) -> list[CommandSpec]:
        return [
            CommandSpec(
                "budget",
                "spend today and this month per agent and task; raise a task's cap",
                self.budget,
                usage="[<task#> [+<usd>]]",
            ),
            CommandSpec(
                "unbench",
                "let an agent benched for spent credit speak again",
                self.unbench,
                usage="<agent>",
            ),
        ]

    async def budget(self, request: CommandRequest) -> list[Reply]:
        query = read_budget_args(request.args)
        bot = request.bot
        if query.task is None:
            text = await overview(bot.store, bot.settings, self._clock())
        elif query.raise_usd is None:
            text = await task_report(bot.store, bot.settings, query.task, self._clock())
        else:
            if request.message.sender != bot.settings.master_user_id:
                raise CommandError("Only the master raises a task's cap.")
            text = await raise_cap(
                bot.store, bot.settings, query.task, query.raise_usd, self._clock()
            )
        return [Reply.answering(request.message, text)]

    async def unbench(self, request: CommandRequest) -> list[Reply]:
        bot = request.bot
        words = request.args.split()
        agents = bot.settings.agents
        agent = (
            agent_named(words[0], agents, bot.settings.homeserver.server_name) if words else None
        )
        if agent is None:
            known = ", ".join(a.name for a in agents) or "none configured"
            raise CommandError(f"Name an agent: {UNBENCH_USAGE} (the agents are: {known}).")
        name = agent.account.display_name
        if not await bot.store.ledger.unbench(agent.name):
            return [Reply.answering(request.message, f"{name} is not benched.")]
        return [Reply.answering(request.message, f"{name} is back on the council.")]


async def overview(store: Store, settings: Settings, now: float) -> str:
    moment = datetime.fromtimestamp(now, UTC)
    day = local_day(moment, settings.timezone)
    first, last = month_days(moment, settings.timezone)
    _, reset = day_window(moment, settings.timezone)
    today = await store.ledger.by_agent(day, day, now)
    month = await store.ledger.by_agent(first, last, now)
    benched = await store.ledger.benched()
    lines = [
        f"Spend today ({day}, resets in {countdown((reset - moment).total_seconds())}) "
        f"and this month (from {first}):"
    ]
    for agent in settings.agents:
        spent = today.get(agent.name, Spend())
        used = spent.tokens + spent.held_tokens
        tokens = f", {used:,} tokens"
        if agent.budget.daily_tokens is not None:
            tokens = f", {used:,} of {agent.budget.daily_tokens:,} tokens"
        name = agent.account.display_name
        if agent.name in benched:
            name += f" [benched: {benched[agent.name]}]"
        lines.append(
            _agent_line(
                name, spent, month.get(agent.name, Spend()), agent.budget.daily_cost_usd, tokens
            )
        )
    day_total = sum(s.total_usd for s in today.values())
    month_total = sum(s.settled_usd for s in month.values())
    cap = settings.spend.daily_usd
    council = f" of {usd(cap)} ({usd(max(cap - day_total, 0.0))} left)" if cap else ""
    lines.append(f"Council: today {usd(day_total)}{council}; this month {usd(month_total)}")
    tasks = await store.ledger.top_tasks(first, last, TOP_TASKS)
    if tasks:
        shown = ", ".join(f"#{task} {usd(spent)}" for task, spent in tasks)
        lines.append(f"Top tasks this month: {shown} (`!budget <task#>` for one)")
    return "\n".join(lines)


async def _task_cap(store: Store, settings: Settings, task: int) -> float | None:
    raised = await store.ledger.task_cap(task)
    return raised if raised is not None else settings.spend.task_usd


async def task_report(store: Store, settings: Settings, task: int, now: float) -> str:
    spent = await store.ledger.task_spend(task, now)
    cap = await _task_cap(store, settings, task)
    held = f", {usd(spent.held_usd)} reserved" if spent.held_usd else ""
    if cap is None:
        limit = "no cap"
    else:
        limit = f"cap {usd(cap)}, {usd(max(cap - spent.total_usd, 0.0))} left"
    return f"Task #{task}: {usd(spent.settled_usd)} spent{held}, {spent.tokens:,} tokens ({limit})."


async def raise_cap(store: Store, settings: Settings, task: int, by: float, now: float) -> str:
    """The task's cap (or, with none, what it spent) plus `by`: its calls may go on."""
    before = await _task_cap(store, settings, task)
    spent = await store.ledger.task_spend(task, now)
    base = before if before is not None else spent.settled_usd
    cap = round(base + by, 6)
    await store.ledger.set_task_cap(task, cap, now)
    was = f" (was {usd(before)})" if before is not None else ""
    return (
        f"Task #{task}'s cap is now {usd(cap)}{was}; it has spent {usd(spent.settled_usd)}. "
        f"Paused at its cap? `!resume {task}` goes on."
    )
