"""An agent answering the coordinator's asks: which asks it answers, refuses or leaves alone,
and how it votes.

The agent is the real `Agent` with its real OpenAI SDK pointed at the fake LLM server, the
store is real (SQLite in a temp dir), and so are the settings and roster; only the
homeserver side is a recorder of what the agent sends.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from bots.agents.agent import Agent
from bots.agents.budget import local_day
from bots.agents.council import POLL_START_TYPES, CouncilMember
from bots.app.assembly import build_roster
from bots.context import BotContext, MatrixSide
from bots.events import COUNCIL_KEY, POLL_RESPONSE, POLL_START
from bots.ids import EventID, RoomID, UserID
from bots.message import Message, Reply, RoomEvent
from bots.settings import BudgetSettings, Settings
from bots.settings.loading import load_settings
from bots.settings.paths import EXAMPLE_CONFIG
from bots.store import Store
from tests.fakes.llm_server import FakeLLMServer, Scripted, error, reply

KEY_ENV = "CHAVION_TEST_COUNCIL_KEY"
ROOM = RoomID("!council:localhost")
ROOT = EventID("$intake")
ASK_EVENT = EventID("$ask")
POLL_EVENT = EventID("$poll")


@dataclass
class Homeserver:
    """What the agent sent through its outbox (poll responses, typing)."""

    events: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)
    typing_calls: list[bool] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    async def send(self, reply: Reply) -> EventID:
        raise AssertionError("answers are returned, not sent by the handler")

    async def send_event(
        self, room_id: RoomID, event_type: str, content: dict[str, Any], key: str
    ) -> EventID:
        self.events.append((event_type, content, key))
        return EventID(f"$event{next(self._ids)}")

    async def typing(self, room_id: RoomID, on: bool) -> None:
        self.typing_calls.append(on)


@dataclass
class Bench:
    settings: Settings
    store: Store
    fake: FakeLLMServer
    homeserver: Homeserver
    context: BotContext
    member: CouncilMember

    @property
    def coordinator(self) -> UserID:
        return self.settings.user_id(self.settings.coordinator)

    def ask(
        self, stage: str = "propose", *, sender: UserID | None = None, **change: Any
    ) -> Message:
        council = ask_object(stage, **change)
        return Message(
            ROOM,
            ASK_EVENT,
            sender or self.coordinator,
            f"#12 📋 {stage}",
            thread_root=ROOT,
            council=council,
        )

    def poll(self, *, sender: UserID | None = None, **change: Any) -> RoomEvent:
        council = ask_object(
            "vote",
            ask="t12-vote-1",
            context={
                "options": [
                    {"key": "A", "text": "Run df -h on local."},
                    {"key": "B", "text": "Run du -sh / on local."},
                ],
                "own": {"gpt": "A", "claude": "B"},
            },
        )
        council.update(change)
        return RoomEvent(
            ROOM,
            POLL_EVENT,
            sender or self.coordinator,
            POLL_START,
            {
                POLL_START: {"question": {"org.matrix.msc1767.text": "#12 Which plan?"}},
                "m.relates_to": {"rel_type": "m.thread", "event_id": ROOT},
                COUNCIL_KEY: council,
            },
        )


def ask_object(stage: str, **change: Any) -> dict[str, Any]:
    council: dict[str, Any] = {
        "v": 1,
        "kind": "ask",
        "task": 12,
        "ask": f"t12-{stage}-1",
        "stage": stage,
        "agents": ["claude", "gpt", "gemini"],
        "deadline_ms": int((time.time() + 180) * 1000),
        "mission": "report disk usage of local",
        "context": {},
    }
    council.update(change)
    return council


@pytest.fixture(scope="module")
async def llm() -> AsyncIterator[FakeLLMServer]:
    async with FakeLLMServer() as server:
        yield server


async def make_bench(
    tmp_path: Path,
    fake: FakeLLMServer,
    *,
    self_vote: bool = False,
    budget: BudgetSettings | None = None,
) -> Bench:
    loaded = load_settings(EXAMPLE_CONFIG)
    agents = tuple(
        dataclasses.replace(
            a,
            base_url=fake.openai_base_url,
            api_key_env=KEY_ENV,
            timeout_seconds=5.0,
            budget=budget or BudgetSettings(),
        )
        if a.name == "gpt"
        else a
        for a in loaded.agents
    )
    settings = dataclasses.replace(loaded, agents=agents)
    roster = build_roster(settings)
    account = settings.account("gpt")
    identity = roster.get(settings.user_id(account))
    assert identity is not None
    store = await Store.open(tmp_path / "s.db")
    homeserver = Homeserver()
    context = BotContext(settings, account, identity, roster, cast(MatrixSide, homeserver), store)
    agent = Agent(settings, settings.agent("gpt"), store)
    return Bench(
        settings, store, fake, homeserver, context, CouncilMember(agent, self_vote=self_vote)
    )


@pytest.fixture
async def bench(
    tmp_path: Path, llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Bench]:
    llm.reset()
    monkeypatch.setenv(KEY_ENV, "test-key")
    made = await make_bench(tmp_path, llm)
    yield made
    await made.member.agent.aclose()
    await made.store.close()


def council_of(reply: Reply) -> dict[str, Any]:
    assert reply.council is not None
    return dict(reply.council)


# ---- answered --------------------------------------------------------------------------------


async def test_a_proposal_is_one_call_and_one_answer_with_its_usage(bench: Bench) -> None:
    bench.fake.enqueue(
        reply("Run `df -h` on local.\n\nCOMMANDS: yes", input_tokens=300, output_tokens=12)
    )
    [answer] = await bench.member.on_task_message(bench.ask(), bench.context)
    assert answer.body == "#12 💡 Run `df -h` on local.\n\nCOMMANDS: yes"
    assert (answer.room_id, answer.thread_root, answer.reply_to) == (ROOM, ROOT, ASK_EVENT)
    assert not answer.notice
    council = council_of(answer)
    assert council["status"] == "ok"
    assert (council["task"], council["ask"], council["stage"]) == (12, "t12-propose-1", "propose")
    assert council["commands"] is True
    assert council["model"] == "gpt-4.1"
    # gpt-4.1 lists at $2 / $8 per million tokens.
    assert council["usage"] == {"input_tokens": 300, "output_tokens": 12, "cost_usd": 0.000696}
    [request] = bench.fake.requests
    assert request.stream is False
    system, user = request.body["messages"]
    assert "You are GPT" in system["content"]
    assert "# Task #12: your proposal" in system["content"]
    assert user["content"] == "Master: report disk usage of local"
    day = local_day(datetime.now(UTC), bench.settings.timezone)
    tokens, _ = await bench.store.usage.totals("gpt", day)
    assert tokens == 312  # counted against the day's budget, as chat is


@pytest.mark.parametrize(
    ("stage", "context", "said", "emoji", "extra"),
    [
        pytest.param(
            "plan",
            {"proposal": "Run df -h.", "others": [], "hosts": {"local": "this machine"}},
            'Here is the plan.\n```json\n{"steps": [{"host": "local", "command": "df -h"}]}\n```',
            "🛠️",
            {},
            id="plan",
        ),
        pytest.param(
            "review",
            {"plan": {"steps": [{"host": "local", "command": "df -h"}]}, "verdicts": []},
            "Read-only, fine.\nVERDICT: approve",
            "🔎",
            {"verdict": "approve"},
            id="review",
        ),
        pytest.param(
            "fix",
            {"plan": {"steps": []}, "failed_step": 1, "output": "no such file", "attempt": 2},
            '```json\n{"steps": [{"host": "local", "command": "df -h /"}]}\n```',
            "🩹",
            {},
            id="fix",
        ),
        pytest.param(
            "refine",
            {"proposal": "Disks are fine.", "others": ["Disks look fine."]},
            "The disks are fine: 40% used.",
            "📝",
            {},
            id="refine",
        ),
        pytest.param(
            "split",
            {"agents": [{"name": "gpt", "display": "GPT", "role": "judging"}], "max_parts": 6},
            '```json\n{"parts": ["Search", "Write"], "merger": "gpt"}\n```',
            "✂️",
            {},
            id="split",
        ),
        pytest.param(
            "part",
            {"part": {"n": 1, "title": "Search", "commands": False}, "total": 2},
            "Prices: a $3, b $4.",
            "🧩",
            {},
            id="part",
        ),
        pytest.param(
            "part",
            {"part": {"n": 2, "title": "Clean", "commands": True}, "total": 2},
            '```json\n{"steps": [{"host": "local", "command": "apt-get clean"}]}\n```',
            "🧩",
            {},
            id="commands-part",
        ),
        pytest.param(
            "merge",
            {"parts": [{"n": 1, "title": "Search", "result": "a $3"}], "missing": []},
            "Merged: a costs $3.",
            "🔗",
            {},
            id="merge",
        ),
        pytest.param(
            "minutes",
            {"facts": ["Proposals:", "- Claude (A): Run df -h."]},
            "Claude proposed df -h; it ran cleanly.",
            "🗒️",
            {},
            id="minutes",
        ),
    ],
)
async def test_every_stage_is_answered_with_its_emoji(
    bench: Bench,
    stage: str,
    context: dict[str, Any],
    said: str,
    emoji: str,
    extra: dict[str, Any],
) -> None:
    bench.fake.enqueue(reply(said))
    [answer] = await bench.member.on_task_message(bench.ask(stage, context=context), bench.context)
    assert answer.body == f"#12 {emoji} {said}"
    council = council_of(answer)
    assert (council["stage"], council["status"]) == (stage, "ok")
    for key, value in extra.items():
        assert council[key] == value
    [request] = bench.fake.requests
    assert "# Task #12" in request.body["messages"][0]["content"]


async def test_the_minutes_of_a_discussion_are_answered_without_a_task_number(
    bench: Bench,
) -> None:
    bench.fake.enqueue(reply("The master asked; Claude answered."))
    ask = bench.ask("minutes", task=0, context={"discussion": ["Master: nginx or caddy?"]})
    [answer] = await bench.member.on_task_message(ask, bench.context)
    assert answer.body == "🗒️ The master asked; Claude answered."
    assert (council_of(answer)["task"], council_of(answer)["stage"]) == (0, "minutes")
    [request] = bench.fake.requests
    assert "Master: nginx or caddy?" in request.body["messages"][0]["content"]


async def test_an_ask_without_a_thread_is_answered_in_a_thread_rooted_at_it(bench: Bench) -> None:
    message = dataclasses.replace(bench.ask(), thread_root=None)
    [answer] = await bench.member.on_task_message(message, bench.context)
    assert (answer.thread_root, answer.reply_to) == (ASK_EVENT, ASK_EVENT)


async def test_a_korean_mission_is_answered_in_korean(bench: Bench) -> None:
    await bench.member.on_task_message(
        bench.ask(mission="local 서버의 디스크 사용량을 알려줘"), bench.context
    )
    [request] = bench.fake.requests
    assert "Answer in Korean" in request.body["messages"][0]["content"]


async def test_typing_shows_while_a_slow_model_writes(bench: Bench) -> None:
    bench.fake.enqueue(reply("slow but sure", delay_s=0.8))
    await bench.member.on_task_message(bench.ask(), bench.context)
    assert bench.homeserver.typing_calls == [True, False]


async def test_a_quick_answer_shows_no_typing(bench: Bench) -> None:
    await bench.member.on_task_message(bench.ask(), bench.context)
    assert bench.homeserver.typing_calls == []


# ---- refused: an answer with status failed and the reason -------------------------------------


@pytest.mark.parametrize(
    ("scripts", "reason"),
    [
        pytest.param(
            [error(429, error_code="insufficient_quota", message="You exceeded your quota")],
            "quota exhausted",
            id="quota",
        ),
        pytest.param([error(429, retry_after=0)] * 4, "rate limited", id="rate limit"),
        pytest.param([error(401)], "API key rejected", id="key rejected"),
        pytest.param([error(500, retry_after=0)] * 4, "server error (500)", id="server error"),
    ],
)
async def test_a_provider_failure_is_a_failed_answer_with_the_real_reason(
    bench: Bench, scripts: list[Scripted], reason: str
) -> None:
    bench.fake.enqueue(*scripts)
    [answer] = await bench.member.on_task_message(bench.ask(), bench.context)
    council = council_of(answer)
    assert (council["status"], council["reason"]) == ("failed", reason)
    assert answer.body == f"#12 💡 ⚠️ Proposal failed: {reason}."
    assert answer.notice


async def test_a_muted_agent_says_so_without_a_call(bench: Bench) -> None:
    await bench.store.agent_flags.set_muted("gpt", True, by="@master:localhost")
    [answer] = await bench.member.on_task_message(bench.ask(), bench.context)
    assert (council_of(answer)["status"], council_of(answer)["reason"]) == ("failed", "muted")
    assert bench.fake.requests == []


async def test_an_agent_out_of_budget_says_so_without_a_call(
    tmp_path: Path, llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm.reset()
    monkeypatch.setenv(KEY_ENV, "test-key")
    # The first call's worst case fits under the cap (so it is made); the vendor then
    # reports more than the cap, so the day's budget is used up.
    bench = await make_bench(tmp_path, llm, budget=BudgetSettings(daily_tokens=100_000))
    try:
        llm.enqueue(reply("first", input_tokens=99_990, output_tokens=20))
        [first] = await bench.member.on_task_message(bench.ask(), bench.context)
        assert council_of(first)["status"] == "ok"
        [second] = await bench.member.on_task_message(
            bench.ask(ask="t12-plan-1", stage="plan"), bench.context
        )
        reason = council_of(second)["reason"]
        assert reason.startswith("out of budget: daily token budget used up (100,010 of 100,000")
        assert len(llm.requests) == 1
    finally:
        await bench.member.agent.aclose()
        await bench.store.close()


async def test_an_agent_without_its_key_says_so_without_a_call(
    tmp_path: Path, llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm.reset()
    monkeypatch.delenv(KEY_ENV, raising=False)
    bench = await make_bench(tmp_path, llm)
    try:
        [answer] = await bench.member.on_task_message(bench.ask(), bench.context)
        assert council_of(answer)["reason"] == f"no credentials (${KEY_ENV} is not set)"
        assert llm.requests == []
    finally:
        await bench.store.close()


async def test_a_mission_holding_a_secret_never_reaches_the_model(bench: Bench) -> None:
    mission = "deploy with OPENAI_API_KEY=sk-proj-" + "a1B2c3D4e5F6g7H8i9J0" * 3
    [answer] = await bench.member.on_task_message(bench.ask(mission=mission), bench.context)
    assert council_of(answer)["status"] == "failed"
    assert "I did not send it to my model" in council_of(answer)["reason"]
    assert bench.fake.requests == []


async def test_an_empty_answer_is_a_failure(bench: Bench) -> None:
    bench.fake.enqueue(reply("   "))
    [answer] = await bench.member.on_task_message(bench.ask(), bench.context)
    council = council_of(answer)
    assert (council["status"], council["reason"]) == ("failed", "empty answer")
    assert council["usage"]["output_tokens"] == 0


# ---- ignored: nothing said, nothing called ------------------------------------------------


def not_from_the_coordinator(bench: Bench) -> Message:
    return bench.ask(sender=bench.settings.user_id(bench.settings.account("claude")))


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda b: b.ask(agents=["claude", "gemini"]), id="not naming this agent"),
        pytest.param(not_from_the_coordinator, id="from another bot"),
        pytest.param(lambda b: b.ask(sender=b.settings.master_user_id), id="from the master"),
        pytest.param(lambda b: b.ask(deadline_ms=int(time.time() * 1000) - 1), id="too late"),
        pytest.param(lambda b: b.ask(kind="answer"), id="an answer, not an ask"),
        pytest.param(lambda b: b.ask(stage="vote"), id="a vote as a message"),
        pytest.param(lambda b: b.ask(task="twelve"), id="malformed"),
        pytest.param(lambda b: dataclasses.replace(b.ask(), council=None), id="no council object"),
    ],
)
async def test_an_ask_not_for_this_agent_is_left_alone(bench: Bench, make: Any) -> None:
    assert await bench.member.on_task_message(make(bench), bench.context) == []
    assert bench.fake.requests == []


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda b: b.poll(agents=["claude"]), id="not naming this agent"),
        pytest.param(lambda b: b.poll(sender=b.settings.master_user_id), id="from the master"),
        pytest.param(lambda b: b.poll(stage="propose"), id="a poll carrying another stage"),
        pytest.param(
            lambda b: dataclasses.replace(b.poll(), content={POLL_START: {}}),
            id="somebody's own poll",
        ),
        pytest.param(lambda b: dataclasses.replace(b.poll(), type="m.reaction"), id="a reaction"),
    ],
)
async def test_a_poll_not_for_this_agent_is_left_alone(bench: Bench, make: Any) -> None:
    assert await bench.member.on_event(make(bench), bench.context) == []
    assert bench.fake.requests == []
    assert bench.homeserver.events == []


# ---- the vote ----------------------------------------------------------------------------------


async def test_a_vote_answers_the_poll_then_says_why(bench: Bench) -> None:
    bench.fake.enqueue(reply("VOTE: B\nREASON: du shows where the space went."))
    [reason] = await bench.member.on_event(bench.poll(), bench.context)
    [(kind, content, key)] = bench.homeserver.events
    assert kind == POLL_RESPONSE
    assert content == {
        POLL_RESPONSE: {"answers": ["B"]},
        "m.relates_to": {"rel_type": "m.reference", "event_id": POLL_EVENT},
    }
    assert key == f"{POLL_EVENT}/poll-response"
    assert reason.body == "#12 🗳️ B — du shows where the space went."
    assert (reason.thread_root, reason.reply_to) == (ROOT, POLL_EVENT)
    council = council_of(reason)
    assert (council["stage"], council["status"], council["choice"]) == ("vote", "ok", "B")
    assert council["ask"] == "t12-vote-1"
    prompt = bench.fake.requests[0].body["messages"][0]["content"]
    assert "Option A (your own proposal: you may not vote for it)" in prompt


@pytest.mark.parametrize(
    ("said", "self_vote", "choice"),
    [
        pytest.param("VOTE: B\nREASON: safer", False, "B", id="another's option"),
        pytest.param("I vote for option 2, it is safer.", False, "B", id="by number"),
        pytest.param("Claude's proposal: du is the better tool.", False, "B", id="by author"),
        pytest.param("VOTE: A\nREASON: mine is best", False, None, id="own option refused"),
        pytest.param("VOTE: A\nREASON: mine is best", True, "A", id="own option when allowed"),
        pytest.param("Both are fine, I cannot decide.", False, None, id="no choice"),
        pytest.param("VOTE: A or B", False, None, id="ambiguous"),
    ],
)
async def test_vote_choice_rules(
    tmp_path: Path,
    llm: FakeLLMServer,
    monkeypatch: pytest.MonkeyPatch,
    said: str,
    self_vote: bool,
    choice: str | None,
) -> None:
    llm.reset()
    monkeypatch.setenv(KEY_ENV, "test-key")
    bench = await make_bench(tmp_path, llm, self_vote=self_vote)
    try:
        llm.enqueue(reply(said))
        poll = bench.poll(
            context={
                "options": [
                    {"key": "A", "text": "Run df -h on local."},
                    {"key": "B", "text": "Run du -sh / on local.", "author": "claude"},
                ],
                "own": {"gpt": "A"},
            }
        )
        [answer] = await bench.member.on_event(poll, bench.context)
        council = council_of(answer)
        if choice is None:
            assert (council["status"], council["reason"]) == ("failed", "no valid vote")
            assert "choice" not in council
            assert bench.homeserver.events == []
            assert council["usage"]["input_tokens"] > 0  # the call was made and is counted
        else:
            assert (council["status"], council["choice"]) == ("ok", choice)
            [(_, content, _)] = bench.homeserver.events
            assert content[POLL_RESPONSE] == {"answers": [choice]}
    finally:
        await bench.member.agent.aclose()
        await bench.store.close()


async def test_a_vote_the_provider_fails_casts_nothing(bench: Bench) -> None:
    bench.fake.enqueue(error(429, error_code="insufficient_quota"))
    [answer] = await bench.member.on_event(bench.poll(), bench.context)
    assert council_of(answer)["reason"] == "quota exhausted"
    assert bench.homeserver.events == []


async def test_a_poll_without_options_is_a_failed_vote_without_a_call(bench: Bench) -> None:
    [answer] = await bench.member.on_event(bench.poll(context={"options": []}), bench.context)
    assert council_of(answer)["reason"] == "no options to vote on"
    assert bench.fake.requests == []


def test_agents_listen_for_both_poll_start_forms() -> None:
    assert frozenset({"org.matrix.msc3381.poll.start", "m.poll.start"}) == POLL_START_TYPES


# ---- the master's own poll --------------------------------------------------------------------


def masters_poll(bench: Bench, *, thread: bool, **change: Any) -> RoomEvent:
    """The coordinator's start of `!poll Which database? | PostgreSQL | SQLite | MySQL`."""
    council: dict[str, Any] = {
        "v": 1,
        "kind": "ask",
        "stage": "poll",
        "task": 0,
        "poll": 3,
        "ask": "p3-vote",
        "agents": ["claude", "gpt", "gemini"],
        "deadline_ms": int((time.time() + 600) * 1000),
        "mission": "Which database for the new app?",
        "context": {
            "options": [
                {"key": "A", "text": "PostgreSQL"},
                {"key": "B", "text": "SQLite"},
                {"key": "C", "text": "MySQL"},
            ]
        },
    }
    council.update(change)
    content: dict[str, Any] = {
        POLL_START: {"question": {"org.matrix.msc1767.text": "📊 Poll #3: Which database?"}},
        COUNCIL_KEY: council,
    }
    if thread:
        content["m.relates_to"] = {"rel_type": "m.thread", "event_id": ROOT}
    return RoomEvent(ROOM, POLL_EVENT, bench.coordinator, POLL_START, content)


@pytest.mark.parametrize(
    ("thread", "root"),
    [pytest.param(False, None, id="main timeline"), pytest.param(True, ROOT, id="in a thread")],
)
async def test_the_masters_poll_is_answered_with_a_response_and_a_reason_line(
    bench: Bench, thread: bool, root: EventID | None
) -> None:
    bench.fake.enqueue(reply("VOTE: B\nREASON: one file, nothing to run."))
    [reason] = await bench.member.on_event(masters_poll(bench, thread=thread), bench.context)
    [(kind, content, _)] = bench.homeserver.events
    assert kind == POLL_RESPONSE
    assert content[POLL_RESPONSE] == {"answers": ["B"]}
    assert content["m.relates_to"] == {"rel_type": "m.reference", "event_id": POLL_EVENT}
    assert reason.body == "🗳️ B — one file, nothing to run."
    assert (reason.thread_root, reason.reply_to) == (root, POLL_EVENT)
    council = council_of(reason)
    assert (council["stage"], council["poll"], council["choice"], council["status"]) == (
        "poll",
        3,
        "B",
        "ok",
    )
    prompt = bench.fake.requests[0].body["messages"][0]["content"]
    assert "# Poll #3:" in prompt
    assert "Which database for the new app?" in prompt
    assert "C. MySQL" in prompt
    assert "own proposal" not in prompt


@pytest.mark.parametrize(
    ("said", "choice"),
    [
        pytest.param("VOTE: C\nREASON: the team knows it", "C", id="letter"),
        pytest.param("I would pick option 1: PostgreSQL scales.", "A", id="number"),
        pytest.param("A or B, hard to say.", None, id="no choice"),
    ],
)
async def test_poll_choice_rules(bench: Bench, said: str, choice: str | None) -> None:
    bench.fake.enqueue(reply(said))
    [answer] = await bench.member.on_event(masters_poll(bench, thread=False), bench.context)
    council = council_of(answer)
    assert council.get("choice") == choice
    if choice is None:
        assert council["reason"] == "no valid vote"
        assert answer.body == "🗳️ ⚠️ Poll vote failed: no valid vote."
        assert bench.homeserver.events == []


async def test_a_korean_poll_is_answered_in_korean(bench: Bench) -> None:
    bench.fake.enqueue(reply("VOTE: A\nREASON: 확장성이 좋습니다."))
    event = masters_poll(bench, thread=False, mission="새 앱에 어떤 DB를 쓸까요?")
    await bench.member.on_event(event, bench.context)
    assert "Korean" in bench.fake.requests[0].body["messages"][0]["content"]


async def test_a_poll_not_naming_this_agent_is_left_alone(bench: Bench) -> None:
    event = masters_poll(bench, thread=False, agents=["claude"])
    assert await bench.member.on_event(event, bench.context) == []
    assert bench.fake.requests == []
