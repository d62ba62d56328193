"""`!model <agent> <model>|reset`: its arguments as a table, what the coordinator answers and
stores, `!agents` showing the switch, and the agent itself calling the switched model (the
real OpenAI SDK against the fake LLM server, the real store)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.coordinator.commands import coordinator_commands
from bots.coordinator.model_commands import model_line, read_model_args
from bots.errors import CommandError
from bots.ids import EventID, RoomID, UserID
from bots.message import Message
from bots.routing.dispatch import Dispatcher
from bots.settings.loading import load_settings
from bots.settings.paths import EXAMPLE_CONFIG
from bots.store import Store
from tests.fakes.llm_server import FakeLLMServer, reply
from tests.support.task_engine import Bench, open_bench
from tests.unit.test_council_member import KEY_ENV, make_bench

SETTINGS = load_settings(EXAMPLE_CONFIG)
AGENTS = SETTINGS.agents
SERVER = SETTINGS.homeserver.server_name
ROOM = RoomID("!council:localhost")
MASTER = SETTINGS.master_user_id
GUEST = UserID("@guest:localhost")
NAME_CLAUDE = "Name the model for Claude: {USAGE} (e.g. !model claude claude-sonnet-4-6)."
KNOWN = (
    "The agents are: Claude (claude), GPT (gpt), Gemini (gemini), Perplexity (perplexity), "
    "Llama (local)."
)
EVENTS = itertools.count()
USAGE = "!model <agent> <model> or !model <agent> reset"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("", (None, None)),
        ("claude gpt-5", ("claude", "gpt-5")),
        ("Claude claude-opus-4-1", ("claude", "claude-opus-4-1")),
        ("클로드 claude-opus-4-1", ("claude", "claude-opus-4-1")),
        ("@gpt:localhost o3", ("gpt", "o3")),
        ("gpt, o3", ("gpt", "o3")),
        ("gpt reset", ("gpt", None)),
        ("gpt RESET", ("gpt", None)),
        ("gpt default", ("gpt", None)),
        ('gpt "o4-mini"', ("gpt", "o4-mini")),
        ("llama qwen2.5:14b", ("local", "qwen2.5:14b")),
        ("bard gpt-5", CommandError(f"Unknown agent 'bard'. {KNOWN} Send {USAGE}.")),
        ("executor gpt-5", CommandError(f"Unknown agent 'executor'. {KNOWN} Send {USAGE}.")),
        (
            "claude",
            CommandError(NAME_CLAUDE.format(USAGE=USAGE)),
        ),
        (
            'claude ""',
            CommandError(NAME_CLAUDE.format(USAGE=USAGE)),
        ),
        ("claude gpt 5", CommandError(f"A model name has no spaces. Send {USAGE}.")),
        ("claude " + "m" * 201, CommandError("That model name is over 200 characters.")),
    ],
)
def test_model_names_an_agent_as_people_call_it_and_one_model(args: str, expected: object) -> None:
    if isinstance(expected, CommandError):
        with pytest.raises(CommandError) as raised:
            read_model_args(args, AGENTS, SERVER)
        assert str(raised.value) == str(expected)
        return
    agent, model = read_model_args(args, AGENTS, SERVER)
    assert (agent.name if agent else None, model) == expected


@pytest.mark.parametrize(
    ("override", "shown"),
    [(None, "gpt-4.1"), ("gpt-4.1", "gpt-4.1"), ("gpt-5", "gpt-5 (config: gpt-4.1)")],
)
def test_a_switched_model_is_shown_with_the_configured_one(
    override: str | None, shown: str
) -> None:
    assert model_line(SETTINGS.agent("gpt"), override) == shown


# ---- the coordinator's command -----------------------------------------------------------


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


async def test_model_switches_resets_and_agents_shows_it(
    coordinator: tuple[Bench, Dispatcher],
) -> None:
    bench, dispatcher = coordinator
    models = bench.store.agent_models
    assert await say(dispatcher, "!model gpt gpt-5") == [
        "GPT now uses gpt-5 (openai; config: gpt-4.1), from its next answer on, also after "
        "a restart. !model gpt reset goes back."
    ]
    assert await models.all() == {"gpt": "gpt-5"}
    [agents] = await say(dispatcher, "!agents")
    assert "— openai gpt-5 (config: gpt-4.1), role" in agents
    assert "— anthropic claude-sonnet-4-6, role" in agents
    [listing] = await say(dispatcher, "!model")
    assert listing.splitlines()[:3] == [
        "Models:",
        "• Claude: anthropic claude-sonnet-4-6",
        "• GPT: openai gpt-5 (config: gpt-4.1)",
    ]
    assert await say(dispatcher, "!model gpt reset") == [
        "GPT is back on its configured model, gpt-4.1."
    ]
    assert await say(dispatcher, "!model gpt reset") == [
        "GPT already uses its configured model, gpt-4.1."
    ]
    assert await say(dispatcher, "!model gpt gpt-4.1") == [
        "GPT uses gpt-4.1: that is its configured model."
    ]
    assert await models.all() == {}


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("!model bard gpt-5", f"Unknown agent 'bard'. {KNOWN} Send {USAGE}."),
        ("!model gpt", f"Name the model for GPT: {USAGE} (e.g. !model gpt gpt-4.1)."),
    ],
)
async def test_bad_model_commands_are_refused_clearly_and_change_nothing(
    coordinator: tuple[Bench, Dispatcher], body: str, said: str
) -> None:
    bench, dispatcher = coordinator
    [answer] = await say(dispatcher, body)
    assert said in answer
    assert await bench.store.agent_models.all() == {}


async def test_switching_a_model_is_the_masters(coordinator: tuple[Bench, Dispatcher]) -> None:
    bench, dispatcher = coordinator
    assert await say(dispatcher, "!model gpt gpt-5", sender=GUEST, power=0) == [
        "Not allowed: !model needs power level 100 (you have 0)."
    ]
    assert await bench.store.agent_models.all() == {}


# ---- the agent follows the switch ---------------------------------------------------------


@pytest.fixture(scope="module")
async def llm() -> AsyncIterator[FakeLLMServer]:
    async with FakeLLMServer() as server:
        yield server


async def test_the_agent_calls_the_switched_model_and_goes_back_after_reset(
    tmp_path: Path, llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "test-key")
    bench = await make_bench(tmp_path, llm)
    agent = bench.member.agent
    try:
        for _ in range(3):
            llm.enqueue(reply("ok"))
        await agent.complete([])
        await bench.store.agent_models.set("gpt", "gpt-5", MASTER)
        await agent.complete([])
        assert agent.model == "gpt-5"
        await bench.store.agent_models.reset("gpt")
        await agent.complete([])
        assert [r.model for r in llm.requests[-3:]] == ["gpt-4.1", "gpt-5", "gpt-4.1"]
        assert agent.model == "gpt-4.1"
    finally:
        await agent.aclose()
        await bench.store.close()


async def test_a_switched_model_is_kept_in_the_store_across_a_reopen(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "s.db")
    await store.agent_models.set("claude", "claude-opus-4-1", MASTER)
    await store.close()
    store = await Store.open(tmp_path / "s.db")
    try:
        assert await store.agent_models.get("claude") == "claude-opus-4-1"
        assert await store.agent_models.get("gpt") is None
    finally:
        await store.close()
