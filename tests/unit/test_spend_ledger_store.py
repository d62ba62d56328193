"""The spend ledger in the store: a hold fits under every cap or is not written; settle turns
it into the call's usage row; release and expiry give it back; two connections to one file
never overspend together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bots.store import Store
from bots.store.ledger import Hold, Limits
from bridge.llm.base import Usage

DAY = "2026-12-04"
NOW = 1_000_000.0


def hold(
    cost: float = 0.10,
    *,
    agent: str = "gpt",
    day: str = DAY,
    task: int | None = None,
    tokens: int = 1000,
    at: float = NOW,
    lifetime: float = 300.0,
) -> Hold:
    return Hold(agent, "gpt-4.1", day, task, tokens, cost, at, at + lifetime)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "s.db") as opened:
        yield opened


async def settled(store: Store, cost: float, *, day: str = DAY, task: int | None = None) -> None:
    """A past call already settled (a row of `agent_usage`)."""
    reservation = await store.ledger.reserve(hold(cost, day=day, task=task), Limits())
    assert reservation is not None
    await store.ledger.settle(
        reservation, model="gpt-4.1", usage=Usage(100, 50), cost_usd=cost, event_id="$e", at=NOW
    )


@pytest.mark.parametrize(
    ("before", "new", "limits", "fits"),
    [
        pytest.param([], hold(0.10), Limits(), True, id="no-cap"),
        pytest.param([], hold(0.50), Limits(agent_usd=0.50), True, id="agent-exactly-at-cap"),
        pytest.param([], hold(0.51), Limits(agent_usd=0.50), False, id="agent-over-cap"),
        pytest.param([hold(0.45)], hold(0.10), Limits(agent_usd=0.50), False, id="agent-held"),
        pytest.param(
            [hold(0.45, agent="claude")], hold(0.10), Limits(agent_usd=0.50), True,
            id="other-agent-holds-do-not-count-for-mine",
        ),
        pytest.param(
            [hold(0.45, day="2026-12-03")], hold(0.10), Limits(agent_usd=0.50), True,
            id="yesterday-does-not-count",
        ),
        pytest.param(
            [hold(0.45, at=NOW - 400)], hold(0.10), Limits(agent_usd=0.50), True,
            id="stale-hold-no-longer-counts",
        ),
        pytest.param(
            [hold(tokens=900)], hold(tokens=200), Limits(agent_tokens=1000), False,
            id="agent-tokens",
        ),
        pytest.param(
            [hold(0.30, agent="claude", task=12)], hold(0.30, task=12), Limits(task_usd=0.50),
            False, id="task-across-agents",
        ),
        pytest.param(
            [hold(0.30, task=11)], hold(0.30, task=12), Limits(task_usd=0.50), True,
            id="another-task",
        ),
        pytest.param(
            [hold(0.30, task=12, day="2026-11-30")], hold(0.30, task=12), Limits(task_usd=0.50),
            False, id="task-cap-spans-days",
        ),
        pytest.param(
            [hold(0.30, agent="claude")], hold(0.30), Limits(global_usd=0.50), False,
            id="council-day",
        ),
        pytest.param(
            [hold(0.30, agent="claude", day="2026-12-03")], hold(0.30), Limits(global_usd=0.50),
            True, id="council-yesterday",
        ),
    ],
)  # fmt: skip
async def test_a_hold_is_written_only_when_it_fits_under_every_cap(
    store: Store, before: list[Hold], new: Hold, limits: Limits, fits: bool
) -> None:
    for earlier in before:
        assert await store.ledger.reserve(earlier, Limits()) is not None
    reservation = await store.ledger.reserve(new, limits)
    assert (reservation is not None) is fits
    held = await store.ledger.standing(new.agent, new.day, new.task, NOW)
    expected = sum(
        h.cost_usd
        for h in before
        if h.agent == new.agent and h.day == new.day and h.expires_at > NOW
    )
    expected += new.cost_usd if fits else 0.0
    assert held.agent.total_usd == pytest.approx(expected)


async def test_settled_spend_counts_against_the_caps(store: Store) -> None:
    await settled(store, 0.40)
    assert await store.ledger.reserve(hold(0.20), Limits(agent_usd=0.50)) is None
    assert await store.ledger.reserve(hold(0.10), Limits(agent_usd=0.50)) is not None


async def test_settling_replaces_the_hold_with_the_reported_usage(store: Store) -> None:
    reservation = await store.ledger.reserve(hold(0.30, task=7), Limits())
    assert reservation is not None
    await store.ledger.settle(
        reservation, model="gpt-4.1", usage=Usage(1000, 200), cost_usd=0.0036, event_id="$e", at=NOW
    )
    standing = await store.ledger.standing("gpt", DAY, 7, NOW)
    assert standing.agent.settled_usd == pytest.approx(0.0036)
    assert standing.agent.held_usd == 0.0
    assert standing.task.settled_usd == pytest.approx(0.0036)
    tokens, cost = await store.usage.totals("gpt", DAY)
    assert (tokens, round(cost, 6)) == (1200, 0.0036)


async def test_a_released_hold_gives_its_room_back(store: Store) -> None:
    first = await store.ledger.reserve(hold(0.50), Limits(agent_usd=0.50))
    assert first is not None
    assert await store.ledger.reserve(hold(0.10), Limits(agent_usd=0.50)) is None
    await store.ledger.release(first)
    assert await store.ledger.reserve(hold(0.10), Limits(agent_usd=0.50)) is not None


async def test_stale_holds_are_tidied_after_the_calls_lifetime(store: Store) -> None:
    await store.ledger.reserve(hold(0.1, lifetime=60), Limits())
    await store.ledger.reserve(hold(0.1, lifetime=600), Limits())
    assert await store.ledger.release_stale(NOW + 59) == 0
    assert await store.ledger.release_stale(NOW + 60) == 1
    standing = await store.ledger.standing("gpt", DAY, None, NOW + 60)
    assert standing.agent.held_usd == pytest.approx(0.1)


async def test_months_and_top_tasks(store: Store) -> None:
    for day, task, cost in [
        ("2026-11-30", 1, 0.5),
        ("2026-12-01", 2, 0.2),
        ("2026-12-31", 3, 0.3),
        ("2027-01-01", 4, 0.9),
    ]:
        await settled(store, cost, day=day, task=task)
    month = await store.ledger.by_agent("2026-12-01", "2026-12-31", NOW)
    assert month["gpt"].settled_usd == pytest.approx(0.5)
    top = await store.ledger.top_tasks("2026-12-01", "2026-12-31", 5)
    assert [(task, round(usd, 6)) for task, usd in top] == [(3, 0.3), (2, 0.2)]


async def test_benching_is_once_until_unbenched(store: Store) -> None:
    assert await store.ledger.bench("gpt", "quota", NOW)
    assert not await store.ledger.bench("gpt", "quota again", NOW)
    assert await store.ledger.bench_reason("gpt") == "quota"
    assert await store.ledger.unbench("gpt")
    assert not await store.ledger.unbench("gpt")
    assert await store.ledger.benched() == {}


async def test_a_raised_task_cap_is_kept(store: Store) -> None:
    assert await store.ledger.task_cap(12) is None
    await store.ledger.set_task_cap(12, 1.5, NOW)
    await store.ledger.set_task_cap(12, 2.0, NOW)
    assert await store.ledger.task_cap(12) == 2.0
    assert await store.ledger.alert_once("task-cap/12/2.0", NOW)
    assert not await store.ledger.alert_once("task-cap/12/2.0", NOW)


async def test_two_processes_sharing_the_file_never_overspend(tmp_path: Path) -> None:
    """Forty holds of $0.03 from two connections under a $0.50 cap: exactly 16 fit."""
    path = tmp_path / "shared.db"
    async with await Store.open(path) as one, await Store.open(path) as two:
        limits = Limits(agent_usd=0.50)
        results = await asyncio.gather(
            *(
                (one if i % 2 else two).ledger.reserve(replace(hold(0.03), at=NOW + i), limits)
                for i in range(40)
            )
        )
        assert sum(r is not None for r in results) == 16
        standing = await one.ledger.standing("gpt", DAY, None, NOW)
        assert standing.agent.held_usd <= 0.50 + 1e-9
