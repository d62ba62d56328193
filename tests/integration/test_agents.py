"""Agents in the council, end to end: real Synapse, real SDKs, a fake LLM server.

Each test opens its own encrypted room with the agents in it, so what one test says never
reaches another. The agents run in this process as `chavion up` runs them; their providers
are the real openai / anthropic / google-genai SDKs pointed at `FakeLLMServer`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest

from bots.agents.budget import local_day
from bots.events import STREAM_KEY, TURN_KEY
from bots.settings import AgentSettings, BudgetSettings, Settings
from bots.store import Store
from tests.fakes.llm_server import FakeLLMServer, error, reply
from tests.support.council import InProcessBots, ThrowawayCouncil
from tests.support.person import Person, Seen, replies_to

pytestmark = pytest.mark.integration

KEY_ENV = "CHAVION_TEST_LLM_KEY"
AGENTS = ("claude", "gpt", "gemini")
PROTOCOL = {"claude": "anthropic", "gpt": "openai", "gemini": "gemini"}
QUIET = 2.5  # seconds of silence that show nobody else is going to answer


@pytest.fixture
def fake(llm: FakeLLMServer) -> FakeLLMServer:
    llm.reset()
    return llm


def pointed_at(settings: Settings, server: FakeLLMServer, **budgets: BudgetSettings) -> Settings:
    """The council's settings with every agent's provider aimed at the fake server."""
    urls = {
        "anthropic": server.anthropic_base_url,
        "openai": server.openai_base_url,
        "openai-compatible": server.openai_base_url,
        "gemini": server.gemini_base_url,
    }

    def aim(agent: AgentSettings) -> AgentSettings:
        return dataclasses.replace(
            agent,
            base_url=urls[agent.provider],
            api_key_env=KEY_ENV,
            timeout_seconds=10.0,
            budget=budgets.get(agent.name, BudgetSettings()),
        )

    return dataclasses.replace(settings, agents=tuple(aim(a) for a in settings.agents))


StartAgents = Callable[..., Awaitable[InProcessBots]]


@pytest.fixture
async def start_agents(
    council: ThrowawayCouncil, fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[StartAgents]:
    monkeypatch.setenv(KEY_ENV, "test-key")
    running: list[InProcessBots] = []

    async def start(**budgets: BudgetSettings) -> InProcessBots:
        bots = await InProcessBots.start(pointed_at(council.settings, fake, **budgets), AGENTS)
        running.append(bots)
        return bots

    yield start
    for bots in running:
        await bots.stop()


@pytest.fixture
async def room(council: ThrowawayCouncil, master: Person, start_agents: StartAgents) -> str:
    """A fresh encrypted room with the three agents and the coordinator in it."""
    await start_agents()
    members = [council.user_id(name) for name in (*AGENTS, "coordinator")]
    room_id = await master.create_room(members, encrypted=True)
    for member in members:
        await master.wait_member(room_id, member)
    await master.sees_devices_of(*members)
    return room_id


def from_agent(council: ThrowawayCouncil, name: str) -> Callable[[Seen], bool]:
    user = council.user_id(name)
    return lambda seen: seen.sender == user and "m.new_content" not in seen.content


async def final_text(person: Person, seen: Seen) -> str:
    """What Element shows once the agent has finished: the edit marked "done", or the
    message itself when it was sent whole."""
    if seen.content.get(STREAM_KEY, "done") == "done":
        return seen.body

    def is_final_edit(s: Seen) -> bool:
        relates = s.relates_to
        return (
            relates.get("rel_type") == "m.replace"
            and relates.get("event_id") == seen.event_id
            and s.content.get("m.new_content", {}).get(STREAM_KEY) == "done"
        )

    [edit] = await person.wait_for(is_final_edit, timeout=30)
    return str(edit.content["m.new_content"]["body"])


async def answers_to(
    master: Person, council: ThrowawayCouncil, event: str, *names: str
) -> dict[str, Seen]:
    found = {}
    for name in names:
        [seen] = await master.wait_for(replies_to(event, council.user_id(name)), timeout=30)
        found[name] = seen
    return found


async def test_a_broadcast_gets_one_answer_from_each_agent(
    council: ThrowawayCouncil, master: Person, fake: FakeLLMServer, room: str
) -> None:
    event = await master.say(room, "얘들아 안녕")
    await answers_to(master, council, event, *AGENTS)
    await master.settle(QUIET)
    for name in AGENTS:
        assert len(master.matching(replies_to(event, council.user_id(name)))) == 1, name
    assert sorted(r.protocol for r in fake.requests) == ["anthropic", "gemini", "openai"]
    # More agents answered than the loop guard allows agent-to-agent turns: answers to a
    # person are no loop, so the coordinator has nothing to say.
    assert len(AGENTS) > council.settings.runtime.agent_turn_limit
    assert master.matching(lambda s: s.room_id == room and "Loop guard" in s.body) == []


async def test_an_unaddressed_message_costs_nothing(
    council: ThrowawayCouncil, master: Person, fake: FakeLLMServer, room: str
) -> None:
    event = await master.say(room, "just thinking aloud about the weather")
    await master.settle(QUIET)
    assert master.matching(replies_to(event)) == []
    assert fake.requests == []


async def test_the_coordinators_notices_do_not_call_the_agents_they_name(
    council: ThrowawayCouncil, master: Person, fake: FakeLLMServer, room: str
) -> None:
    ask = await master.say(room, "!agents")
    [listing] = await master.wait_for(replies_to(ask, council.user_id("coordinator")))
    assert all(name in listing.body for name in ("Claude", "GPT", "Gemini"))
    await master.settle(QUIET)
    assert master.matching(replies_to(listing.event_id)) == []
    assert fake.requests == []


async def test_a_name_calls_only_that_agent(
    council: ThrowawayCouncil, master: Person, fake: FakeLLMServer, room: str
) -> None:
    fake.enqueue(reply("4"), protocol="anthropic")
    event = await master.say(room, "claude, 2+2?")
    answer = (await answers_to(master, council, event, "claude"))["claude"]
    await master.settle(QUIET)
    assert [s.sender for s in master.matching(replies_to(event))] == [council.user_id("claude")]
    assert await final_text(master, answer) == "4"
    assert [r.protocol for r in fake.requests] == ["anthropic"]


async def test_a_reply_to_an_agent_calls_only_that_agent(
    council: ThrowawayCouncil, master: Person, fake: FakeLLMServer, room: str
) -> None:
    first = await master.say(room, "gpt, name a colour")
    gpt_answer = (await answers_to(master, council, first, "gpt"))["gpt"]
    fake.reset()
    # Classic mobile: a reply with no m.mentions at all.
    second = await master.say(
        room,
        "why that one?",
        **{"m.relates_to": {"m.in_reply_to": {"event_id": gpt_answer.event_id}}},
    )
    await answers_to(master, council, second, "gpt")
    await master.settle(QUIET)
    assert [s.sender for s in master.matching(replies_to(second))] == [council.user_id("gpt")]
    assert [r.protocol for r in fake.requests] == ["openai"]


@pytest.mark.parametrize(
    ("shape", "extra"),
    [
        (
            "Element X markdown pill with m.mentions",
            {
                "body": "[Gemini](https://matrix.to/#/@gemini:localhost) what is 3+3?",
                "m.mentions": {"user_ids": ["@gemini:localhost"]},
            },
        ),
        (
            "classic mobile HTML pill without m.mentions",
            {
                "body": "Gemini: what is 3+3?",
                "format": "org.matrix.custom.html",
                "formatted_body": '<a href="https://matrix.to/#/@gemini:localhost">Gemini</a>: '
                "what is 3+3?",
            },
        ),
    ],
)
async def test_element_mention_shapes_reach_the_agent(
    council: ThrowawayCouncil,
    master: Person,
    fake: FakeLLMServer,
    room: str,
    shape: str,
    extra: dict[str, object],
) -> None:
    body = str(extra.pop("body"))
    event = await master.say(room, body, **extra)
    await answers_to(master, council, event, "gemini")
    await master.settle(QUIET)
    assert [s.sender for s in master.matching(replies_to(event))] == [council.user_id("gemini")]


async def test_a_thread_answer_stays_in_the_thread_and_sees_the_thread(
    council: ThrowawayCouncil, master: Person, fake: FakeLLMServer, room: str
) -> None:
    root = await master.say(room, "Plan for the migration: step one is a backup.")
    thread = {
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": root},
    }
    await master.say(room, "Step two is the schema change.", **{"m.relates_to": thread})
    question = await master.say(room, "claude, what is missing?", **{"m.relates_to": thread})
    [answer] = await master.wait_for(
        lambda s: (
            s.room_id == room
            and s.sender == council.user_id("claude")
            and s.relates_to.get("rel_type") == "m.thread"
        ),
        timeout=30,
    )
    assert answer.content["m.relates_to"]["event_id"] == root
    assert answer.content["m.relates_to"]["m.in_reply_to"]["event_id"] == question
    [request] = fake.requests_for("anthropic")
    sent = str(request.body["messages"])
    assert "Master: Plan for the migration: step one is a backup." in sent
    assert "Master: Step two is the schema change." in sent
    assert "claude, what is missing?" in sent
    assert "You are Claude" in str(request.body["system"])


async def test_a_rate_limit_is_retried_and_answered_once(
    council: ThrowawayCouncil, master: Person, fake: FakeLLMServer, room: str
) -> None:
    fake.enqueue(error(429, retry_after=0), reply("after the retry"), protocol="openai")
    event = await master.say(room, "gpt, are you there?")
    answer = (await answers_to(master, council, event, "gpt"))["gpt"]
    await master.settle(QUIET)
    assert len(master.matching(replies_to(event))) == 1
    assert await final_text(master, answer) == "after the retry"
    assert len(fake.requests_for("openai")) == 2


async def test_a_broken_provider_says_so_and_the_others_still_answer(
    council: ThrowawayCouncil, master: Person, fake: FakeLLMServer, room: str
) -> None:
    fake.set_default(error(500, retry_after=0), protocol="anthropic")
    event = await master.say(room, "everyone, status report please")
    answers = await answers_to(master, council, event, *AGENTS)
    claude = await final_text(master, answers["claude"])
    assert "Claude" in claude
    assert "Anthropic" in claude
    assert "retried" in claude
    for name in ("gpt", "gemini"):
        assert await final_text(master, answers[name]) == "This is the fake model speaking."


async def test_budget_cap_says_so_once_then_stays_silent(
    council: ThrowawayCouncil,
    master: Person,
    fake: FakeLLMServer,
    start_agents: StartAgents,
) -> None:
    day = local_day(datetime.now(UTC), council.settings.timezone)
    async with await Store.open(council.data.store) as store:
        used_before, _ = await store.usage.totals("gemini", day)
    # The first call's worst case (prompt and max output) fits, so it is made; the vendor
    # then reports more than the cap, so the day's budget is used up.
    await start_agents(gemini=BudgetSettings(daily_tokens=used_before + 20_000))
    gemini = council.user_id("gemini")
    room_id = await master.create_room([gemini, council.user_id("coordinator")], encrypted=True)
    await master.wait_member(room_id, gemini)
    await master.sees_devices_of(gemini)

    fake.enqueue(reply("first answer", input_tokens=19_990, output_tokens=30), protocol="gemini")
    first = await master.say(room_id, "gemini, first question")
    await master.wait_for(replies_to(first, gemini), timeout=30)
    second = await master.say(room_id, "gemini, second question")
    [notice] = await master.wait_for(replies_to(second, gemini), timeout=30)
    assert "out of budget until" in notice.body
    third = await master.say(room_id, "gemini, third question")
    await master.settle(QUIET)
    assert master.matching(replies_to(third, gemini)) == []
    assert len(fake.requests_for("gemini")) == 1

    ask = await master.say(room_id, "!budget")
    [report] = await master.wait_for(replies_to(ask, council.user_id("coordinator")))
    # The coordinator runs with the council's own caps; the use is what the fake reported.
    [gemini_line] = [line for line in report.body.splitlines() if line.startswith("• Gemini")]
    assert f", {used_before + 20_020:,} of " in gemini_line  # "of <its configured cap> tokens"


async def test_spent_credit_benches_the_agent_with_one_alert_while_the_others_answer(
    council: ThrowawayCouncil, master: Person, fake: FakeLLMServer, room: str
) -> None:
    claude = council.user_id("claude")
    fake.set_default(
        error(402, message="Your credit balance is too low to access the Anthropic API."),
        protocol="anthropic",
    )

    def bench_alert(seen: Seen) -> bool:
        return seen.sender == claude and "is benched" in seen.body

    first = await master.say(room, "everyone, one word for the sea?")
    await answers_to(master, council, first, "gpt", "gemini")
    [alert] = await master.wait_for(bench_alert, timeout=30)
    assert alert.room_id == council.council_room  # an alert, in the council room
    assert council.settings.master_user_id in alert.content["m.mentions"]["user_ids"]
    assert "!unbench claude" in alert.body
    second = await master.say(room, "everyone, one word for the sky?")
    await answers_to(master, council, second, "gpt", "gemini")
    await master.settle(QUIET)
    assert len(master.matching(bench_alert)) == 1
    assert len(fake.requests_for("anthropic")) == 1  # benched: no call for the second
    # (the suite's `no_agent_stays_benched` unbenches it for the next test)


async def test_agents_talking_to_each_other_stop_at_the_loop_guard(
    council: ThrowawayCouncil, master: Person, fake: FakeLLMServer, room: str
) -> None:
    fake.set_default(reply("GPT, what do you think?"), protocol="anthropic")
    fake.set_default(reply("Claude, over to you."), protocol="openai")
    await master.say(room, "claude and gpt, discuss backups with each other")
    limit = council.settings.runtime.agent_turn_limit
    [guard] = await master.wait_for(
        lambda s: s.sender == council.user_id("coordinator") and "Loop guard" in s.body,
        timeout=60,
    )
    await master.settle(QUIET)
    said = [
        s
        for s in master.seen
        if s.room_id == room
        and s.sender in (council.user_id("claude"), council.user_id("gpt"))
        and "m.new_content" not in s.content
    ]
    to_master = [s for s in said if TURN_KEY not in s.content]
    to_each_other = [s for s in said if s.content.get(TURN_KEY) == "agent-to-agent"]
    assert len(to_master) == 2  # each answered the master once: that is not a turn
    # Each agent checks the guard when it starts an answer; two answers started in the same
    # instant can both pass at the last free turn, so one more is the most there can be.
    assert limit <= len(to_each_other) <= limit + 1
    assert len(master.matching(lambda s: s.room_id == room and "Loop guard" in s.body)) == 1
    assert guard.content["m.mentions"]["user_ids"] == [master.user_id]


async def test_a_slow_answer_is_shown_while_it_is_written(
    council: ThrowawayCouncil, master: Person, fake: FakeLLMServer, room: str
) -> None:
    words = [f"word{i} " for i in range(12)]
    fake.enqueue(reply(chunks=words, chunk_delay_s=0.25), protocol="openai")
    event = await master.say(room, "gpt, take your time")
    [first] = await master.wait_for(replies_to(event, council.user_id("gpt")), timeout=30)
    assert first.content[STREAM_KEY] == "partial"
    assert first.body.endswith(" …")
    assert await final_text(master, first) == "".join(words).strip()
    edits = master.matching(lambda s: s.relates_to.get("event_id") == first.event_id)
    assert 1 <= len(edits) <= 12
    # The preview and its edits are silent notices; the final version is the text that
    # names the master (and makes his phone buzz: tests/integration/test_notifications.py).
    *partial, final = edits
    assert first.content["msgtype"] == "m.notice"
    assert all(e.content["m.new_content"]["msgtype"] == "m.notice" for e in partial)
    assert final.content["m.new_content"]["msgtype"] == "m.text"
    assert final.content["m.new_content"]["m.mentions"] == {"user_ids": [master.user_id]}


async def test_an_agent_asked_at_the_end_of_a_streamed_answer_reads_it_whole(
    council: ThrowawayCouncil, master: Person, fake: FakeLLMServer, room: str
) -> None:
    # Claude writes slowly: the first words go out as a placeholder that names no one; GPT
    # is asked only in the last words, which arrive in the final edit.
    words = ["Let me think. ", "It is tricky. ", "Backups first. ", *["Then more. "] * 5]
    chunks = [*words, "What do you think, GPT?"]
    fake.enqueue(reply(chunks=chunks, chunk_delay_s=0.25), protocol="anthropic")
    fake.set_default(reply("I agree with the plan."), protocol="openai")
    event = await master.say(room, "claude, how do we start?")
    claude, gpt = council.user_id("claude"), council.user_id("gpt")
    [first] = await master.wait_for(replies_to(event, claude), timeout=30)
    assert first.content[STREAM_KEY] == "partial"
    [answer] = await master.wait_for(replies_to(first.event_id, gpt), timeout=30)
    await master.settle(QUIET)
    from_gpt = [s for s in master.seen if s.room_id == room and s.sender == gpt]
    assert from_gpt == [answer]
    assert answer.content.get(TURN_KEY) == "agent-to-agent"
    [request] = fake.requests_for("openai")
    assert "What do you think, GPT?" in str(request.body["messages"])


async def test_an_answer_too_long_for_one_event_arrives_in_parts(
    council: ThrowawayCouncil, master: Person, fake: FakeLLMServer, room: str
) -> None:
    # Korean costs six bytes a character in the JSON nio encrypts, and a code block with
    # quotes grows in HTML: far over what one encrypted event can carry, in several chunks.
    prose = "\n\n".join(
        f"{n}번 문단: 백업은 매일 새벽에 돌고, 복구 시험은 매주 한다." * 6 for n in range(60)
    )
    code = "```json\n" + "\n".join(f'{{"key{n}": "value \\"{n}\\""}}' for n in range(400)) + "\n```"
    text = f"{prose}\n\n{code}"
    fake.enqueue(
        reply(chunks=[text[i : i + 4000] for i in range(0, len(text), 4000)]), protocol="openai"
    )
    event = await master.say(room, "gpt, write it all down")
    gpt = council.user_id("gpt")
    await master.wait_for(
        lambda s: s.room_id == room and s.sender == gpt and "m.new_content" not in s.content,
        count=3,
        timeout=60,
    )
    await master.settle(QUIET)
    parts = [
        s
        for s in master.seen
        if s.room_id == room and s.sender == gpt and "m.new_content" not in s.content
    ]
    assert parts[0].in_reply_to == event
    shown = "".join([await final_text(master, parts[0]), *(p.body for p in parts[1:])])
    assert "59번 문단" in shown
    assert '"key399"' in shown
    assert all(p.content.get("formatted_body") for p in parts)  # each part kept its HTML


async def test_a_quick_answer_arrives_whole_as_one_message(
    council: ThrowawayCouncil, master: Person, fake: FakeLLMServer, room: str
) -> None:
    event = await master.say(room, "gpt, quick one")
    [answer] = await master.wait_for(replies_to(event, council.user_id("gpt")), timeout=30)
    await master.settle(QUIET)
    assert answer.content[STREAM_KEY] == "done"
    assert answer.content["m.mentions"] == {"user_ids": [master.user_id]}
    assert answer.content["msgtype"] == "m.text"
    edits = master.matching(lambda s: s.relates_to.get("event_id") == answer.event_id)
    assert edits == []


async def test_an_agent_without_credentials_says_so_once_and_nothing_breaks(
    council: ThrowawayCouncil,
    master: Person,
    fake: FakeLLMServer,
    start_agents: StartAgents,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(KEY_ENV)
    await start_agents()
    claude = council.user_id("claude")
    coordinator = council.user_id("coordinator")
    room_id = await master.create_room([claude, coordinator], encrypted=True)
    await master.wait_member(room_id, claude)
    await master.sees_devices_of(claude)
    first = await master.say(room_id, "claude, hello?")
    [notice] = await master.wait_for(replies_to(first, claude), timeout=30)
    assert f"set ${KEY_ENV}" in notice.body
    second = await master.say(room_id, "claude, hello again?")
    ask = await master.say(room_id, "!agents")
    [overview] = await master.wait_for(replies_to(ask, coordinator), timeout=30)
    await master.settle(QUIET)
    assert master.matching(replies_to(second, claude)) == []
    assert "no credentials" in overview.body
    assert fake.requests == []
