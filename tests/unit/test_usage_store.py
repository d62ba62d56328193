"""Usage in the store: calls recorded, totals per agent and local day, the spend inside a
window of time (a night's), a notice said once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from bots.store import Store
from bots.store.migrations import STEPS, v01_initial
from bots.store.usage import UsageStore, UsageTotals
from bridge.llm.base import Usage


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "s.db") as opened:
        yield opened


@pytest.fixture
def usage(store: Store) -> UsageStore:
    return store.usage  # how the runtime wires it: the store's own connection


async def test_a_fresh_store_has_the_usage_tables(store: Store) -> None:
    async with store._db.execute("SELECT name FROM sqlite_master") as cursor:
        names = {row[0] for row in await cursor.fetchall()}
    assert {"agent_notices", "agent_usage", "agent_usage_agent_day"} <= names


async def test_a_version_1_store_is_upgraded_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    async with aiosqlite.connect(path) as db:
        await db.executescript(v01_initial.SQL)
        await db.execute("INSERT INTO sync_state VALUES ('claude', 's9', 0)")
        await db.execute("PRAGMA user_version=1")
        await db.commit()
    async with await Store.open(path) as store:
        assert await store.schema_version() == STEPS[-1][0] >= 2
        assert await store.sync_token("claude") == "s9"
        assert await store.usage.totals("claude", "2025-03-01") == (0, 0.0)


async def test_nothing_spent_is_zero(usage: UsageStore) -> None:
    assert await usage.totals("claude", "2025-03-01") == UsageTotals(0, 0.0)
    assert await usage.all_totals("2025-03-01") == {}


# Calls: (agent, day, input tokens, output tokens, cost).
CALLS = [
    ("claude", "2025-03-01", 1_000, 200, 0.006),
    ("claude", "2025-03-01", 3_000, 500, 0.0165),
    ("claude", "2025-03-02", 10, 10, 0.0002),  # after KST midnight: the next day
    ("gpt", "2025-03-01", 5_000, 1_000, 0.018),
    ("local", "2025-03-01", 800, 100, 0.0),
]


@pytest.mark.parametrize(
    ("agent", "day", "tokens", "cost"),
    [
        pytest.param("claude", "2025-03-01", 4_700, 0.0225, id="two calls add up"),
        pytest.param("claude", "2025-03-02", 20, 0.0002, id="days are apart"),
        pytest.param("gpt", "2025-03-01", 6_000, 0.018, id="agents are apart"),
        pytest.param("local", "2025-03-01", 900, 0.0, id="a free model still counts tokens"),
        pytest.param("gemini", "2025-03-01", 0, 0.0, id="an agent that said nothing"),
    ],
)
async def test_totals(usage: UsageStore, agent: str, day: str, tokens: int, cost: float) -> None:
    for name, when, given, taken, spent in CALLS:
        await usage.record(name, "model-x", when, Usage(given, taken), spent, "$event")
    got_tokens, got_cost = await usage.totals(agent, day)
    assert got_tokens == tokens
    assert got_cost == pytest.approx(cost)


async def test_all_totals_lists_every_agent_of_the_day(usage: UsageStore) -> None:
    for name, when, given, taken, spent in CALLS:
        await usage.record(name, "model-x", when, Usage(given, taken), spent, None)
    totals = await usage.all_totals("2025-03-01")
    assert list(totals) == ["claude", "gpt", "local"]
    assert totals["gpt"].tokens == 6_000
    assert totals["gpt"].cost_usd == pytest.approx(0.018)


async def test_a_record_keeps_the_call_details(store: Store, usage: UsageStore) -> None:
    await usage.record(
        "claude", "claude-sonnet-4-5", "2025-03-01", Usage(7, 3), 0.5, "$e1", at=1234.5
    )
    async with store._db.execute(
        "SELECT agent, model, day, input_tokens, output_tokens, cost_usd, event_id, at "
        "FROM agent_usage"
    ) as cursor:
        rows = await cursor.fetchall()
    assert [tuple(row) for row in rows] == [
        ("claude", "claude-sonnet-4-5", "2025-03-01", 7, 3, 0.5, "$e1", 1234.5)
    ]


@pytest.mark.parametrize(
    ("noted_before", "asked", "first_time"),
    [
        pytest.param([], ("claude", "2025-03-01", "budget"), True, id="the first time"),
        pytest.param(
            [("claude", "2025-03-01", "budget")],
            ("claude", "2025-03-01", "budget"),
            False,
            id="never twice",
        ),
        pytest.param(
            [("claude", "2025-03-01", "budget")],
            ("claude", "2025-03-02", "budget"),
            True,
            id="again on a new day",
        ),
        pytest.param(
            [("claude", "2025-03-01", "budget")],
            ("gpt", "2025-03-01", "budget"),
            True,
            id="for another agent",
        ),
        pytest.param(
            [("claude", "2025-03-01", "budget")],
            ("claude", "2025-03-01", "no_credentials"),
            True,
            id="for another kind",
        ),
    ],
)
async def test_notice_once(
    usage: UsageStore,
    noted_before: list[tuple[str, str, str]],
    asked: tuple[str, str, str],
    first_time: bool,
) -> None:
    for agent, day, kind in noted_before:
        assert await usage.notice_once(agent, day, kind)
    assert await usage.notice_once(*asked) is first_time


async def test_notices_survive_a_restart(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "s.db") as store:
        assert await store.usage.notice_once("claude", "2025-03-01", "budget")
    async with await Store.open(tmp_path / "s.db") as store:
        assert not await store.usage.notice_once("claude", "2025-03-01", "budget")


AT = 1_000_000.0


async def test_the_window_spend_counts_only_calls_inside_it(store: Store) -> None:
    usage = Usage(input_tokens=10, output_tokens=5)
    for at, cost in ((AT - 1, 5.0), (AT, 0.25), (AT + 3600.0, 0.5), (AT + 9 * 3600.0, 7.0)):
        await store.usage.record("claude", "m", "2026-12-04", usage, cost, None, at=at)
    assert await store.usage.spent_between(AT, AT + 8 * 3600.0) == pytest.approx(0.75)
    assert await store.usage.spent_between(AT, None) == pytest.approx(7.75)
