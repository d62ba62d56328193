"""The spend ledger end to end: agents on their real SDKs (openai, anthropic, google-genai)
speaking HTTP to the fake LLM server, which reports each call's usage, and the real store
file shared by several connections as the bots' processes share it.

What the master relies on: a daily cap holds under a burst of concurrent calls (spend never
passes it by more than one reservation) and the ledger matches what the vendor reported;
credit running out benches that agent with one alert while the others answer; a task's cap
stops its calls with one alert until he raises it; a restart keeps the day's spend.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from bots.agents.agent import Agent
from bots.agents.budget import local_day
from bots.agents.council import CouncilMember
from bots.agents.spending import OutOfBudget
from bots.app.assembly import build_roster
from bots.context import BotContext, MatrixSide
from bots.ids import EventID, RoomID
from bots.message import HistoryEntry, Message, Reply
from bots.settings import BudgetSettings, Settings
from bots.settings.loading import load_settings
from bots.settings.model import SpendSettings
from bots.settings.paths import EXAMPLE_CONFIG
from bots.store import Store
from bridge.llm.base import ChatMessage
from tests.fakes.llm_server import FakeLLMServer, Scripted, WireProtocol, error, reply

KEY_ENV = "CHAVION_TEST_LEDGER_KEY"
ROOM = RoomID("!council:localhost")
ROOT = EventID("$intake")
PROTOCOL: dict[str, WireProtocol] = {"gpt": "openai", "claude": "anthropic", "gemini": "gemini"}
ASKS = itertools.count()
QUESTION = [ChatMessage("system", "Be brief."), ChatMessage("user", "Say hello.")]


@dataclass
class Outbox:
    """What the agents' bots sent (alerts): a real homeserver is not what is tested here."""

    sent: list[Reply] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    async def send(self, reply: Reply) -> EventID:
        self.sent.append(reply)
        return EventID(f"$sent{next(self._ids)}")

    async def send_event(
        self, room_id: RoomID, event_type: str, content: dict[str, Any], key: str
    ) -> EventID:
        return EventID(f"$event{next(self._ids)}")

    async def typing(self, room_id: RoomID, on: bool) -> None:
        return None

    async def history(
        self, room_id: RoomID, thread_root: EventID | None, limit: int
    ) -> list[HistoryEntry]:
        return []


@dataclass
class Council:
    settings: Settings
    path: Path
    outbox: Outbox
    members: dict[str, CouncilMember]
    contexts: dict[str, BotContext]
    stores: list[Store]

    def ask(self, agents: list[str], task: int = 12) -> Message:
        n = next(ASKS)
        council = {
            "v": 1,
            "kind": "ask",
            "task": task,
            "ask": f"t{task}-propose-{n}",
            "stage": "propose",
            "agents": agents,
            "deadline_ms": None,
            "mission": "report disk usage of local",
            "context": {},
        }
        coordinator = self.settings.user_id(self.settings.coordinator)
        return Message(
            ROOM, EventID(f"$ask{n}"), coordinator, "#12 📋 propose", thread_root=ROOT,
            council=council,
        )  # fmt: skip

    async def answer(self, name: str, message: Message) -> dict[str, Any]:
        [reply_] = await self.members[name].on_task_message(message, self.contexts[name])
        assert reply_.council is not None
        return dict(reply_.council)

    async def close(self) -> None:
        for member in self.members.values():
            await member.agent.aclose()
        for store in self.stores:
            await store.close()


@pytest.fixture(scope="module")
async def fake() -> AsyncIterator[FakeLLMServer]:
    async with FakeLLMServer() as server:
        yield server


async def open_council(
    path: Path,
    fake: FakeLLMServer,
    *,
    budget: BudgetSettings | None = None,
    spend: SpendSettings | None = None,
    max_tokens: int = 1024,
) -> Council:
    """gpt, claude and gemini, each with a store connection of its own on one file."""
    loaded = load_settings(EXAMPLE_CONFIG)
    urls = {
        "gpt": fake.openai_base_url,
        "claude": fake.anthropic_base_url,
        "gemini": fake.gemini_base_url,
    }
    agents = tuple(
        dataclasses.replace(
            a,
            base_url=urls[a.name],
            api_key_env=KEY_ENV,
            timeout_seconds=10.0,
            max_tokens=max_tokens,
            budget=budget or BudgetSettings(),
        )
        for a in loaded.agents
        if a.name in urls
    )
    settings = dataclasses.replace(loaded, agents=agents, spend=spend or SpendSettings())
    roster = build_roster(settings)
    outbox = Outbox()
    members, contexts, stores = {}, {}, []
    for agent in agents:
        store = await Store.open(path)
        stores.append(store)
        identity = roster.get(settings.user_id(agent.account))
        assert identity is not None
        contexts[agent.name] = BotContext(
            settings, agent.account, identity, roster, cast(MatrixSide, outbox), store,
            council_room=ROOM,
        )  # fmt: skip
        members[agent.name] = CouncilMember(Agent(settings, agent, store))
    return Council(settings, path, outbox, members, contexts, stores)


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch, fake: FakeLLMServer) -> None:
    monkeypatch.setenv(KEY_ENV, "test-key")
    fake.reset()


@pytest.mark.usefixtures("keyed")
async def test_a_daily_cap_holds_under_twenty_concurrent_calls(
    tmp_path: Path, fake: FakeLLMServer
) -> None:
    """gpt-4.1 at $2 / $8 per million: each call may write 5,000 tokens ($0.04 at worst) and
    the fake reports 1,000 in and 4,000 out ($0.034). Two connections (two processes) call
    at once, twenty calls in all, under a $0.50 daily cap."""
    council = await open_council(
        tmp_path / "s.db", fake, budget=BudgetSettings(daily_cost_usd=0.50), max_tokens=5000
    )
    second = Agent(council.settings, council.settings.agent("gpt"), council.stores[1])
    fake.set_default(
        reply("hello", input_tokens=1000, output_tokens=4000, delay_s=0.2), protocol="openai"
    )
    agents = [council.members["gpt"].agent, second]
    try:
        outcomes = await asyncio.gather(
            *(agents[i % 2].complete(QUESTION, event_id=f"$q{i}") for i in range(20)),
            return_exceptions=True,
        )
        made = [o for o in outcomes if not isinstance(o, BaseException)]
        refused = [o for o in outcomes if isinstance(o, OutOfBudget)]
        assert len(made) + len(refused) == 20
        assert refused, "a burst past the cap must be refused, not made"
        assert len(fake.requests_for("openai")) == len(made)
        day = local_day(datetime.now(UTC), council.settings.timezone)
        _, spent = await council.stores[0].usage.totals("gpt", day)
        one_hold = (50 + 5000 * 8.0) / 1_000_000 * 2  # generous: prompt and output at worst
        assert spent <= 0.50 + one_hold
        reported = len(made) * (1000 * 2.0 + 4000 * 8.0) / 1_000_000
        assert spent == pytest.approx(reported, rel=0.01)
        assert sum(cost for _, cost in made) == pytest.approx(reported, rel=0.01)
        standing = await council.stores[0].ledger.standing("gpt", day, None, 0.0)
        assert standing.agent.held_usd == 0.0  # every hold settled or released
    finally:
        await second.aclose()
        await council.close()


CREDIT_SPENT: list[Any] = [
    pytest.param("gpt", error(402), id="openai-402"),
    pytest.param("gpt", error(429, error_code="insufficient_quota"), id="openai-insufficient"),
    pytest.param("claude", error(402), id="anthropic-billing-error"),
    pytest.param(
        "claude",
        error(
            400,
            message="Your credit balance is too low to access the Anthropic API. Please go to "
            "Plans & Billing to upgrade or purchase credits.",
        ),
        id="anthropic-credit-balance",
    ),
    pytest.param(
        "gemini",
        error(429, quota_id="GenerateRequestsPerDayPerProjectPerModel-FreeTier"),
        id="gemini-daily-quota",
    ),
]


@pytest.mark.usefixtures("keyed")
@pytest.mark.parametrize(("spent", "script"), CREDIT_SPENT)
async def test_spent_credit_benches_that_agent_with_one_alert_while_the_others_answer(
    tmp_path: Path, fake: FakeLLMServer, spent: str, script: Scripted
) -> None:
    council = await open_council(tmp_path / "s.db", fake)
    try:
        fake.enqueue(script, protocol=PROTOCOL[spent])
        ask = council.ask(list(PROTOCOL))
        answers = await asyncio.gather(*(council.answer(name, ask) for name in PROTOCOL))
        by_name = dict(zip(PROTOCOL, answers, strict=True))
        assert by_name[spent]["status"] == "failed"
        assert len(fake.requests_for(PROTOCOL[spent])) == 1  # not retried
        for name in set(PROTOCOL) - {spent}:
            assert by_name[name]["status"] == "ok"
        [alert] = council.outbox.sent
        assert alert.urgent
        assert alert.mention == (council.settings.master_user_id,)
        assert f"!unbench {spent}" in alert.body
        # Benched: the next ask is answered "benched" without a call, and no second alert.
        again = await council.answer(spent, council.ask([spent]))
        assert again["reason"].startswith("benched: ")
        assert len(fake.requests_for(PROTOCOL[spent])) == 1
        assert len(council.outbox.sent) == 1
        await council.stores[0].ledger.unbench(spent)
        back = await council.answer(spent, council.ask([spent]))
        assert back["status"] == "ok"
    finally:
        await council.close()


@pytest.mark.usefixtures("keyed")
async def test_a_rate_limit_is_retried_and_benches_nobody(
    tmp_path: Path, fake: FakeLLMServer
) -> None:
    council = await open_council(tmp_path / "s.db", fake)
    try:
        fake.enqueue(
            error(429, quota_id="GenerateRequestsPerMinutePerProjectPerModel-FreeTier"),
            protocol="gemini",
        )
        answer = await council.answer("gemini", council.ask(["gemini"]))
        assert answer["status"] == "ok"
        assert len(fake.requests_for("gemini")) == 2
        assert await council.stores[0].ledger.benched() == {}
        assert council.outbox.sent == []
    finally:
        await council.close()


@pytest.mark.usefixtures("keyed")
async def test_a_task_at_its_cap_stops_with_one_alert_until_the_master_raises_it(
    tmp_path: Path, fake: FakeLLMServer
) -> None:
    """The task may spend $0.02. Claude (claude-sonnet, $3 / $15 per million) reports 3,000
    tokens in and 500 out: $0.0165. Any next call may write 500 tokens, at least $0.004 (GPT's
    $8 per million), more than the $0.0035 left: the task's calls stop."""
    council = await open_council(
        tmp_path / "s.db", fake, spend=SpendSettings(task_usd=0.02), max_tokens=500
    )
    fake.set_default(reply("ok", input_tokens=3000, output_tokens=500), protocol="anthropic")
    fake.set_default(reply("ok", input_tokens=100, output_tokens=50), protocol="openai")
    try:
        first = await council.answer("claude", council.ask(["claude"], task=7))
        assert first["status"] == "ok"
        refused = await asyncio.gather(
            council.answer("claude", council.ask(["claude"], task=7)),
            council.answer("gpt", council.ask(["gpt"], task=7)),
        )
        assert [r["reason"] for r in refused] == [
            "out of budget: the task's cap ($0.02) would be crossed"
        ] * 2
        [alert] = council.outbox.sent
        assert alert.urgent
        assert "Task #7 reached its spend cap" in alert.body
        assert "!budget 7 +0.50" in alert.body
        other = await council.answer("claude", council.ask(["claude"], task=8))
        assert other["status"] == "ok"  # another task has its own cap
        await council.stores[0].ledger.set_task_cap(7, 0.06, 0.0)
        again = await council.answer("claude", council.ask(["claude"], task=7))
        assert again["status"] == "ok"
    finally:
        await council.close()


@pytest.mark.usefixtures("keyed")
async def test_a_restart_keeps_the_days_spend(tmp_path: Path, fake: FakeLLMServer) -> None:
    """gpt-4.1: each call reports $0.034 and may cost $0.04 at worst; the cap is $0.10."""
    path = tmp_path / "s.db"
    budget = BudgetSettings(daily_cost_usd=0.10)
    fake.set_default(reply("hi", input_tokens=1000, output_tokens=4000), protocol="openai")
    council = await open_council(path, fake, budget=budget, max_tokens=5000)
    try:
        for i in range(2):
            await council.members["gpt"].agent.complete(QUESTION, event_id=f"$a{i}")
    finally:
        await council.close()
    restarted = await open_council(path, fake, budget=budget, max_tokens=5000)
    try:
        day = local_day(datetime.now(UTC), restarted.settings.timezone)
        _, spent = await restarted.stores[0].usage.totals("gpt", day)
        assert spent == pytest.approx(0.068)
        with pytest.raises(OutOfBudget):
            await restarted.members["gpt"].agent.complete(QUESTION, event_id="$a3")
        assert len(fake.requests_for("openai")) == 2
    finally:
        await restarted.close()


def chat(council: Council, name: str, body: str) -> tuple[Message, BotContext]:
    n = next(ASKS)
    message = Message(ROOM, EventID(f"$chat{n}"), council.settings.master_user_id, body)
    return message, council.contexts[name]


@pytest.mark.usefixtures("keyed")
async def test_in_chat_a_call_past_the_cap_is_not_made_and_said_once(
    tmp_path: Path, fake: FakeLLMServer
) -> None:
    """A cap of $0.001 a day: GPT's worst case (1,024 tokens at $8 per million) does not fit."""
    council = await open_council(
        tmp_path / "s.db", fake, budget=BudgetSettings(daily_cost_usd=0.001)
    )
    agent = council.members["gpt"].agent
    try:
        said = await agent.answer(*chat(council, "gpt", "gpt, hello?"))
        assert [r.body[:25] for r in said] == ["I am out of budget until "]
        assert said[0].body.endswith(": daily cost budget ($0.0010) would be crossed.")
        assert await agent.answer(*chat(council, "gpt", "gpt, and now?")) == []
        assert fake.requests_for("openai") == []
    finally:
        await council.close()


@pytest.mark.usefixtures("keyed")
async def test_in_chat_spent_credit_benches_with_one_alert(
    tmp_path: Path, fake: FakeLLMServer
) -> None:
    council = await open_council(tmp_path / "s.db", fake)
    agent = council.members["gpt"].agent
    try:
        fake.enqueue(error(429, error_code="insufficient_quota"), protocol="openai")
        [failure] = await agent.answer(*chat(council, "gpt", "gpt, hello?"))
        assert "run out of quota" in failure.body
        [alert] = council.outbox.sent
        assert alert.urgent
        [benched] = await agent.answer(*chat(council, "gpt", "gpt, still there?"))
        assert benched.body.startswith("I am benched: ")
        assert await agent.answer(*chat(council, "gpt", "gpt, hello again?")) == []
        assert len(fake.requests_for("openai")) == 1
        assert len(council.outbox.sent) == 1
    finally:
        await council.close()
