"""An agent's side of the spend ledger: reserve before a model call, settle or release after.

Every model call of an agent (chat and council asks) goes through `Spending.metered`, so no
call is made without its worst case held under every cap first: the agent's daily cost and
tokens, the task's cap, the council's daily cap. A call that would cross one is not made
(`OutOfBudget`, with the words and the time the agent's day starts afresh). This is the one
cap check: nothing asks the budget before it. The vendor's usage report settles the hold
into the call's `agent_usage` row; a failed call releases it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from bots.agents.budget import PriceTable, day_window, local_day
from bots.agents.spend_caps import (
    OUT_OF_BUDGET,
    Crossed,
    call_lifetime,
    crossed,
    usd,
    used_up,
    worst_case,
)
from bots.alerts import master_alert
from bots.context import BotContext
from bots.settings import AgentSettings, Settings
from bots.store import Store
from bots.store.ledger import Hold, Limits, Reservation
from bridge.errors import ProviderError
from bridge.llm.base import ChatMessage, Completion, DeltaCallback, LLMProvider

log = logging.getLogger(__name__)


class OutOfBudget(ProviderError):
    """A cap would be crossed: the call was not made. str() is the short reason."""

    def __init__(
        self,
        caps: Sequence[Crossed],
        *,
        task: int | None,
        reset_at: datetime,
        used_up: Sequence[str] = (),
    ) -> None:
        words = "; ".join(cap.words for cap in caps) or "a spend cap"
        super().__init__(f"{OUT_OF_BUDGET}{words} would be crossed")
        self.caps = tuple(caps)
        self.task = task
        self.reset_at = reset_at
        """When the agent's day (and its daily caps) starts afresh, in UTC."""
        self.used_up = tuple(used_up)
        """The agent's daily caps its day had already reached (`spend_caps.used_up`)."""

    @property
    def task_cap(self) -> bool:
        """The task's cap (not a daily one) stopped the call: the master may raise it."""
        return any(cap.scope == "task" for cap in self.caps)

    @property
    def reason(self) -> str:
        """The refusal in words after "out of budget: ": the agent's day used up when it is
        (no call fits any more today), else the caps this call would cross."""
        if self.used_up:
            return "; ".join(self.used_up)
        return str(self).removeprefix(OUT_OF_BUDGET)


class Spending:
    """One agent's reservations, on the store shared by every bot process."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        agent: AgentSettings,
        prices: PriceTable,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.settings = settings
        self.agent = agent
        self.prices = prices
        self.clock = clock

    async def limits(self, task: int | None) -> Limits:
        """The caps that hold for a call of this agent (for `task`, when it is one's)."""
        task_usd = self.settings.spend.task_usd
        if task is not None:
            raised = await self.store.ledger.task_cap(task)
            task_usd = raised if raised is not None else task_usd
        return Limits(
            agent_usd=self.agent.budget.daily_cost_usd,
            agent_tokens=self.agent.budget.daily_tokens,
            task_usd=task_usd if task is not None else None,
            global_usd=self.settings.spend.daily_usd,
        )

    async def reserve(
        self, provider: LLMProvider, messages: Sequence[ChatMessage], task: int | None
    ) -> Reservation:
        """Holds the call's worst case under every cap, or raises `OutOfBudget`."""
        now = self.clock()
        moment = datetime.fromtimestamp(now, UTC)
        model = provider.settings.model
        worst = worst_case(self.prices, model, messages, provider.settings.max_tokens)
        hold = Hold(
            agent=self.agent.name,
            model=model,
            day=local_day(moment, self.settings.timezone),
            task=task,
            tokens=worst.tokens,
            cost_usd=worst.cost_usd,
            at=now,
            expires_at=now + call_lifetime(provider.settings),
        )
        limits = await self.limits(task)
        reservation = await self.store.ledger.reserve(hold, limits)
        if reservation is not None:
            return reservation
        await self.store.ledger.release_stale(now)  # tidy: expired holds already count nothing
        standing = await self.store.ledger.standing(hold.agent, hold.day, task, now)
        caps = crossed(limits, standing, hold.cost_usd, hold.tokens)
        _, reset = day_window(moment, self.settings.timezone)
        raise OutOfBudget(caps, task=task, reset_at=reset, used_up=used_up(limits, standing.agent))

    async def settle(
        self, reservation: Reservation, completion: Completion, event_id: str | None
    ) -> float:
        """The vendor's usage replaces the hold; the call's cost in USD."""
        model = completion.model or reservation.hold.model
        cost = self.prices.cost(model, completion.usage)
        await self.store.ledger.settle(
            reservation,
            model=model,
            usage=completion.usage,
            cost_usd=cost,
            event_id=event_id,
            at=self.clock(),
        )
        return cost

    async def metered(
        self,
        provider: LLMProvider,
        messages: Sequence[ChatMessage],
        *,
        task: int | None,
        event_id: str | None,
        on_delta: DeltaCallback | None = None,
    ) -> tuple[Completion, float]:
        """Reserve, call, settle: the completion and its cost. A failed (or cancelled) call
        releases its hold; if even that fails, the hold expires with the call's lifetime."""
        reservation = await self.reserve(provider, messages, task)
        try:
            completion = await provider.complete(messages, on_delta=on_delta)
        except BaseException:
            with contextlib.suppress(Exception):
                await self.store.ledger.release(reservation)
            raise
        return completion, await self.settle(reservation, completion, event_id)


async def task_cap_reached(spending: Spending, bot: BotContext, task: int) -> None:
    """A task's calls are refused at its cap: the master hears it once per cap (urgent, a cap
    reached), whichever agent met it first, and decides: raise it or cancel the task."""
    ledger = spending.store.ledger
    cap = (await spending.limits(task)).task_usd
    if cap is None or not await ledger.alert_once(f"task-cap/{task}/{cap:.4f}", time.time()):
        return
    spent = await ledger.task_spend(task, time.time())
    body = (
        f"Task #{task} reached its spend cap ({usd(spent.settled_usd)} of {usd(cap)}): it is "
        f"paused and the council makes no more calls for it. Raise the cap with "
        f"`!budget {task} +0.50`, then `!resume {task}`; or stop it with `!cancel {task}`."
    )
    try:
        await master_alert(bot, body, key=f"task-cap/{task}/{cap:.4f}", urgent=True)
    except Exception:
        log.exception("could not tell the master that task #%s reached its cap", task)
