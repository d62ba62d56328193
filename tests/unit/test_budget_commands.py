"""`!budget` (today and this month per agent and task), `!budget 12`, `!budget 12 +0.50` (the
master's) and `!unbench <agent>` (the master's): arguments as a table, what the coordinator
answers from the store's ledger, who may change what."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bots.agents.budget import local_day
from bots.coordinator.budget_commands import BudgetQuery, read_budget_args
from bots.coordinator.commands import coordinator_commands
from bots.errors import CommandError
from bots.ids import EventID, RoomID, UserID
from bots.message import Message
from bots.routing.dispatch import Dispatcher
from bots.settings.loading import load_settings
from bots.settings.paths import EXAMPLE_CONFIG
from bots.store.ledger import Hold, Limits
from bridge.llm.base import Usage
from tests.support.task_engine import Bench, open_bench

SETTINGS = load_settings(EXAMPLE_CONFIG)
ROOM = RoomID("!council:localhost")
MASTER = SETTINGS.master_user_id
GUEST = UserID("@guest:localhost")
EVENTS = itertools.count()
BAD = "Send !budget, !budget 12 or !budget 12 +0.50"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("", BudgetQuery()),
        ("12", BudgetQuery(12)),
        ("#12", BudgetQuery(12)),
        ("12 +0.50", BudgetQuery(12, 0.5)),
        ("12 +$2", BudgetQuery(12, 2.0)),
        ("12 + .25", BudgetQuery(12, 0.25)),
        ("0", CommandError(BAD)),
        ("twelve", CommandError(BAD)),
        ("12 0.50", CommandError(BAD)),
        ("12 -0.50", CommandError(BAD)),
        ("12 +0", CommandError("Raise a cap by more than $0")),
        ("12 +5000", CommandError("Raise a cap by more than $0")),
    ],
    ids=lambda value: repr(value) if isinstance(value, str) else "",
)
def test_budget_reads_a_task_and_a_raise(args: str, expected: object) -> None:
    if isinstance(expected, CommandError):
        with pytest.raises(CommandError) as raised:
            read_budget_args(args)
        assert str(expected) in str(raised.value)
        return
    assert read_budget_args(args) == expected


@pytest.fixture
async def coordinator(tmp_path: Path) -> AsyncIterator[tuple[Bench, Dispatcher]]:
    engine = await open_bench(tmp_path)
    yield engine, Dispatcher(engine.bot, coordinator_commands(engine.service, clock=engine.clock))
    await engine.store.close()


async def say(
    dispatcher: Dispatcher, body: str, *, sender: UserID = MASTER, power: int = 100
) -> list[str]:
    message = Message(ROOM, EventID(f"$m{next(EVENTS)}"), sender, body, sender_power=power)
    return [r.body for r in await dispatcher.handle(message)]


async def spend(bench: Bench, agent: str, cost: float, *, task: int | None, day: str) -> None:
    now = bench.clock()
    hold = Hold(agent, "m", day, task, 10, cost, now, now + 300)
    reservation = await bench.store.ledger.reserve(hold, Limits())
    assert reservation is not None
    await bench.store.ledger.settle(
        reservation, model="m", usage=Usage(100, 20), cost_usd=cost, event_id=None, at=now
    )


async def test_budget_shows_today_and_the_month_per_agent_and_task(
    coordinator: tuple[Bench, Dispatcher],
) -> None:
    bench, dispatcher = coordinator
    # The bench's clock reads 1970-01-12 22:46 in Seoul.
    today = local_day(datetime.fromtimestamp(bench.clock(), UTC), SETTINGS.timezone)
    assert today == "1970-01-12"
    await spend(bench, "gpt", 0.25, task=12, day=today)
    await spend(bench, "gpt", 0.50, task=9, day="1970-01-01")
    await spend(bench, "gpt", 4.00, task=3, day="1969-12-31")  # last month: not shown
    await bench.store.ledger.reserve(
        Hold("claude", "m", today, None, 10, 0.10, bench.clock(), bench.clock() + 300), Limits()
    )
    await bench.store.ledger.bench("gemini", "Google says the account has run out", 0.0)
    [report] = await say(dispatcher, "!budget")
    lines = report.splitlines()
    assert lines[0].startswith(f"Spend today ({today}, resets in ")
    gpt = next(line for line in lines if line.startswith("• GPT"))
    assert (
        gpt == "• GPT: today $0.25 (cap $5.00, $4.75 left), 120 of 200,000 tokens; this month $0.75"
    )
    claude = next(line for line in lines if line.startswith("• Claude"))
    assert "today $0.00, $0.10 reserved" in claude
    assert any(line.startswith("• Gemini [benched: Google says") for line in lines)
    assert lines[-1].startswith("Top tasks this month: #9 $0.50, #12 $0.25")
    assert "Council: today $0.35 of $10.00 ($9.65 left); this month $0.75" in lines
    assert await say(dispatcher, "!budget 12") == [
        "Task #12: $0.25 spent, 120 tokens (cap $2.00, $1.75 left)."
    ]


async def test_raising_a_task_cap_is_the_masters(coordinator: tuple[Bench, Dispatcher]) -> None:
    bench, dispatcher = coordinator
    [refused] = await say(dispatcher, "!budget 12 +0.50", sender=GUEST, power=0)
    assert refused == "Only the master raises a task's cap."
    assert await bench.store.ledger.task_cap(12) is None
    [raised] = await say(dispatcher, "!budget 12 +0.50")
    # The example config caps a task at $2.00.
    assert raised.startswith("Task #12's cap is now $2.50 (was $2.00);")
    [again] = await say(dispatcher, "!budget 12 +0.25")
    assert again.startswith("Task #12's cap is now $2.75 (was $2.50);")
    assert await bench.store.ledger.task_cap(12) == 2.75


async def test_unbench_is_the_masters_and_says_what_it_did(
    coordinator: tuple[Bench, Dispatcher],
) -> None:
    bench, dispatcher = coordinator
    await bench.store.ledger.bench("gpt", "quota", 0.0)
    assert await say(dispatcher, "!unbench gpt", sender=GUEST, power=0) == [
        "Not allowed: !unbench needs power level 100 (you have 0)."
    ]
    assert await say(dispatcher, "!unbench GPT") == ["GPT is back on the council."]
    assert await say(dispatcher, "!unbench gpt") == ["GPT is not benched."]
    [unknown] = await say(dispatcher, "!unbench bard")
    assert unknown.startswith("Name an agent: !unbench <agent> (the agents are: claude, gpt")
    assert await bench.store.ledger.benched() == {}
