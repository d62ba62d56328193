"""Spend ledger maths, pure: a call's worst case, how long it may run, which cap it crosses.

A call is reserved at its worst case before it is made: every prompt token (estimated as the
conversation layer counts them, slightly generous) and every output token it may write, at
the model's price. The hold lasts the call's possible lifetime (every attempt timing out,
every backoff at its longest), after which a crash mid-call no longer holds the money.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bots.agents.budget import PriceTable
from bots.agents.conversation import estimate_tokens
from bots.store.ledger import Limits, Spend, Standing
from bridge.llm.base import ChatMessage, ProviderSettings, Usage

MESSAGE_OVERHEAD_TOKENS = 4
"""What each turn costs beyond its text (role and separators), as the vendors count it."""
LIFETIME_MARGIN_S = 60.0


@dataclass(frozen=True)
class WorstCase:
    tokens: int
    cost_usd: float


def prompt_tokens(messages: Sequence[ChatMessage]) -> int:
    return sum(estimate_tokens(m.content) + MESSAGE_OVERHEAD_TOKENS for m in messages)


def worst_case(
    prices: PriceTable, model: str, messages: Sequence[ChatMessage], max_tokens: int
) -> WorstCase:
    """Every prompt token and every output token the call may write, at the model's price."""
    usage = Usage(prompt_tokens(messages), max_tokens)
    return WorstCase(usage.total_tokens, prices.cost(model, usage))


def call_lifetime(settings: ProviderSettings) -> float:
    """Seconds a call may run at most: every attempt timing out and every wait between
    them at its longest, plus a margin. A streamed answer re-arms its timeout on each piece,
    so a very long one could outlive this; its hold then stops counting before it settles
    (the settled row still counts in full)."""
    attempts = settings.max_retries + 1
    longest_wait = max(settings.backoff_max_s, settings.retry_after_max_s)
    return attempts * settings.timeout_s + settings.max_retries * longest_wait + LIFETIME_MARGIN_S


Scope = Literal["agent", "task", "council"]


@dataclass(frozen=True)
class Crossed:
    """A cap a hold would cross: whose (the agent's day, the task, the council's day), and
    the cap in words."""

    scope: Scope
    words: str


TASK_CAP_WORDS = "the task's cap"
OUT_OF_BUDGET = "out of budget: "


def at_task_cap(reason: str) -> bool:
    """Whether an agent's failure reason says its task's spend cap stopped the call (the
    coordinator then pauses the task until the master raises the cap)."""
    return reason.startswith(OUT_OF_BUDGET) and TASK_CAP_WORDS in reason


def usd(value: float) -> str:
    """ "$1.50"; below a cent with its fraction shown ("$0.0035"), never a misleading "$0.00"."""
    return f"${value:,.4f}" if 0 < value < 0.01 else f"${value:,.2f}"


def crossed(limits: Limits, standing: Standing, cost_usd: float, tokens: int) -> list[Crossed]:
    """Which caps a hold of `cost_usd`/`tokens` would cross (empty: none)."""
    found = []
    if limits.agent_usd is not None and standing.agent.total_usd + cost_usd > limits.agent_usd:
        found.append(Crossed("agent", f"daily cost budget ({usd(limits.agent_usd)})"))
    if limits.agent_tokens is not None and (
        standing.agent.tokens + standing.agent.held_tokens + tokens > limits.agent_tokens
    ):
        found.append(Crossed("agent", f"daily token budget ({limits.agent_tokens:,} tokens)"))
    if limits.task_usd is not None and standing.task.total_usd + cost_usd > limits.task_usd:
        found.append(Crossed("task", f"{TASK_CAP_WORDS} ({usd(limits.task_usd)})"))
    if limits.global_usd is not None and standing.day.total_usd + cost_usd > limits.global_usd:
        found.append(Crossed("council", f"the council's daily cap ({usd(limits.global_usd)})"))
    return found


def used_up(limits: Limits, spent: Spend) -> list[str]:
    """The agent's daily caps its day has already reached (settled and held), in words: no
    call of any size fits under them. Empty: none is reached. A cap left unset never is."""
    found = []
    tokens = spent.tokens + spent.held_tokens
    if limits.agent_tokens is not None and tokens >= limits.agent_tokens:
        found.append(f"daily token budget used up ({tokens:,} of {limits.agent_tokens:,} tokens)")
    cost = spent.total_usd
    if limits.agent_usd is not None and cost >= limits.agent_usd:
        found.append(f"daily cost budget used up (${cost:,.2f} of ${limits.agent_usd:,.2f})")
    return found


def month_days(now_utc: datetime, timezone_name: str) -> tuple[str, str]:
    """The local month holding `now_utc`: its first and last day, as the store keeps days."""
    return month_of(now_utc.astimezone(ZoneInfo(timezone_name)).date().isoformat())


def month_of(day: str) -> tuple[str, str]:
    """The first and last day of the month of `day` ("2026-02-14" → Feb 1st and 28th)."""
    first = date.fromisoformat(day).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first.isoformat(), (following - timedelta(days=1)).isoformat()
