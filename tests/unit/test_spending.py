"""An agent's reservations (`Spending`): days in the configured zone, caps reset at local
midnight, a failed call gives its hold back, and the top-level `budget` config."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bots.agents.agent import price_table
from bots.agents.spending import OutOfBudget, Spending
from bots.errors import ConfigError
from bots.settings import BudgetSettings
from bots.settings.loading import load_settings
from bots.settings.loading_spend import parse_spend
from bots.settings.model import SpendSettings
from bots.settings.paths import EXAMPLE_CONFIG
from bots.settings.reader import Node
from bots.store import Store
from bridge.errors import ProviderError
from bridge.llm.base import ChatMessage, Completion, DeltaCallback, ProviderSettings, Usage

SETTINGS = load_settings(EXAMPLE_CONFIG)  # timezone Asia/Seoul: midnight is 15:00 UTC
QUESTION = [ChatMessage("user", "hello")]
# gpt-4.1 at $2 / $8: 100 output tokens at worst and 6 prompt tokens cost $0.000812.
WORST = (6 * 2.0 + 100 * 8.0) / 1e6


class ScriptedModel:
    """An `LLMProvider` of our own that answers from a script (no SDK involved)."""

    def __init__(self, usage: Usage | None = None, fail: bool = False) -> None:
        self.settings = ProviderSettings(kind="openai", model="gpt-4.1", max_tokens=100)
        self.usage = usage or Usage(6, 50)
        self.fail = fail
        self.calls = 0

    async def complete(
        self, messages: Sequence[ChatMessage], *, on_delta: DeltaCallback | None = None
    ) -> Completion:
        self.calls += 1
        if self.fail:
            raise ProviderError("the vendor is down")
        return Completion("hi", self.usage, "gpt-4.1")

    async def aclose(self) -> None:
        return None


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.now = moment.timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "s.db") as opened:
        yield opened


def spending(
    store: Store, clock: Clock, cap: float, spend: SpendSettings | None = None
) -> Spending:
    agent = dataclasses.replace(SETTINGS.agent("gpt"), budget=BudgetSettings(daily_cost_usd=cap))
    settings = dataclasses.replace(SETTINGS, spend=spend or SpendSettings())
    return Spending(store, settings, agent, price_table(settings), clock)


async def test_the_cap_resets_at_local_midnight_not_utc(store: Store) -> None:
    clock = Clock(datetime(2026, 12, 4, 14, 59, 59, tzinfo=UTC))  # 23:59:59 in Seoul
    ledger = spending(store, clock, cap=WORST * 1.5)
    model = ScriptedModel(usage=Usage(6, 100))
    await ledger.metered(model, QUESTION, task=None, event_id="$1")
    with pytest.raises(OutOfBudget) as refused:
        await ledger.metered(model, QUESTION, task=None, event_id="$2")
    assert refused.value.reset_at == datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    clock.now += 1  # 00:00 in Seoul: a new day
    await ledger.metered(model, QUESTION, task=None, event_id="$3")
    assert model.calls == 2
    assert (await store.usage.totals("gpt", "2026-12-04"))[0] == 106
    assert (await store.usage.totals("gpt", "2026-12-05"))[0] == 106


async def test_the_refusal_says_a_used_up_day_apart_from_a_call_too_big(store: Store) -> None:
    clock = Clock(datetime(2026, 12, 4, 3, 0, tzinfo=UTC))
    with pytest.raises(OutOfBudget) as too_big:  # nothing spent, but the call does not fit
        await spending(store, clock, cap=WORST / 2).reserve(ScriptedModel(), QUESTION, task=None)
    assert too_big.value.reason == "daily cost budget ($0.0004) would be crossed"
    assert too_big.value.used_up == ()
    agent = dataclasses.replace(SETTINGS.agent("gpt"), budget=BudgetSettings(daily_tokens=200))
    ledger = Spending(store, SETTINGS, agent, price_table(SETTINGS), clock)
    await ledger.metered(ScriptedModel(usage=Usage(6, 250)), QUESTION, task=None, event_id="$1")
    with pytest.raises(OutOfBudget) as spent:  # the vendor reported more than the cap
        await ledger.reserve(ScriptedModel(), QUESTION, task=None)
    assert spent.value.reason == "daily token budget used up (256 of 200 tokens)"
    assert str(spent.value) == "out of budget: daily token budget (200 tokens) would be crossed"


async def test_a_failed_call_gives_its_hold_back(store: Store) -> None:
    clock = Clock(datetime(2026, 12, 4, 3, 0, tzinfo=UTC))
    ledger = spending(store, clock, cap=WORST * 1.5)
    with pytest.raises(ProviderError, match="the vendor is down"):
        await ledger.metered(ScriptedModel(fail=True), QUESTION, task=None, event_id="$1")
    await ledger.metered(ScriptedModel(), QUESTION, task=None, event_id="$2")
    standing = await store.ledger.standing("gpt", "2026-12-04", None, clock())
    assert standing.agent.held_usd == 0.0
    assert standing.agent.settled_usd == pytest.approx((6 * 2.0 + 50 * 8.0) / 1e6)


async def test_a_task_cap_the_master_raised_wins_over_the_config(store: Store) -> None:
    clock = Clock(datetime(2026, 12, 4, 3, 0, tzinfo=UTC))
    ledger = spending(store, clock, cap=1.0, spend=SpendSettings(task_usd=WORST / 2))
    with pytest.raises(OutOfBudget) as refused:
        await ledger.metered(ScriptedModel(), QUESTION, task=5, event_id="$1")
    assert refused.value.task_cap
    await store.ledger.set_task_cap(5, WORST * 2, clock())
    await ledger.metered(ScriptedModel(), QUESTION, task=5, event_id="$2")


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (None, SpendSettings()),
        ({"daily_usd": 5, "task_usd": 0.5}, SpendSettings(5.0, 0.5)),
        ({"task_usd": 1.25}, SpendSettings(None, 1.25)),
        ({"daily_usd": 0}, "budget.daily_usd: must be a positive amount of USD"),
        ({"task_usd": -1}, "budget.task_usd: must be a positive amount of USD"),
        ({"daily_usd": "lots"}, "budget.daily_usd"),
        ({"dayly_usd": 5}, "budget.dayly_usd: unknown key"),
    ],
    ids=["absent", "both", "task-only", "zero", "negative", "not-a-number", "typo"],
)
def test_the_budget_section(section: object, expected: SpendSettings | str) -> None:
    if isinstance(expected, str):
        with pytest.raises(ConfigError) as raised:
            parse_spend(Node(section, "budget"))
        assert str(raised.value).startswith(expected)
        return
    assert parse_spend(Node(section, "budget")) == expected
