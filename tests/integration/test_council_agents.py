"""Agents answering the coordinator's task asks, end to end: real Synapse, real SDKs, the fake
LLM server, an encrypted room.

The coordinator's side is played by a second device of the coordinator's own account (the
coordinator bot of the suite runs too, but a message of its own account is none of its
business), so these tests need nothing of the task engine: they send the design's asks and
poll start as the coordinator will, and read what the agents answer.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bots.events import COUNCIL_KEY, POLL_RESPONSE, POLL_START
from bots.settings import AgentSettings, Settings
from tests.fakes.llm_server import FakeLLMServer, WireProtocol, error, reply
from tests.support.council import InProcessBots, ThrowawayCouncil
from tests.support.person import Person, Seen

pytestmark = pytest.mark.integration

KEY_ENV = "CHAVION_TEST_COUNCIL_KEY"
AGENTS = ("claude", "gpt", "gemini")
PROTOCOL: dict[str, WireProtocol] = {"claude": "anthropic", "gpt": "openai", "gemini": "gemini"}
QUIET = 2.5  # seconds of silence that show nobody else is going to answer


def pointed_at(settings: Settings, server: FakeLLMServer) -> Settings:
    """The council's settings with every agent's provider aimed at the fake server."""
    urls = {
        "anthropic": server.anthropic_base_url,
        "openai": server.openai_base_url,
        "openai-compatible": server.openai_base_url,
        "gemini": server.gemini_base_url,
    }

    def aim(agent: AgentSettings) -> AgentSettings:
        return dataclasses.replace(
            agent, base_url=urls[agent.provider], api_key_env=KEY_ENV, timeout_seconds=10.0
        )

    return dataclasses.replace(settings, agents=tuple(aim(a) for a in settings.agents))


@pytest.fixture
def fake(llm: FakeLLMServer) -> FakeLLMServer:
    llm.reset()
    return llm


@pytest.fixture(scope="module")
async def agents(council: ThrowawayCouncil, llm: FakeLLMServer) -> AsyncIterator[InProcessBots]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_ENV, "test-key")
        bots = await InProcessBots.start(pointed_at(council.settings, llm), AGENTS)
        yield bots
        await bots.stop()


@pytest.fixture(scope="module")
async def coordinator_device(
    council: ThrowawayCouncil, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Person]:
    """The coordinator's account on a device of the test's own, logged out afterwards."""
    creds = council.provisioned.bots[council.settings.coordinator.name]
    store: Path = tmp_path_factory.mktemp("coordinator-device")
    person = await Person.login(council.url, creds.user_id, creds.password, store)
    yield person
    await person.client.logout()
    await person.close()


@pytest.fixture(scope="module")
async def room(
    council: ThrowawayCouncil,
    master: Person,
    agents: InProcessBots,
    coordinator_device: Person,
) -> str:
    """An encrypted room with the three agents and the coordinator's account in it."""
    members = [council.user_id(name) for name in (*AGENTS, "coordinator")]
    room_id = await master.create_room(members, encrypted=True)
    for member in members:
        await master.wait_member(room_id, member)
    await coordinator_device.knows(room_id)
    await master.sees_devices_of(*members)
    await coordinator_device.sees_devices_of(*members[:-1], master.user_id)
    return room_id


def ask(stage: str, *, agents: tuple[str, ...] = AGENTS, **change: Any) -> dict[str, Any]:
    council: dict[str, Any] = {
        "v": 1,
        "kind": "ask",
        "task": 12,
        "ask": f"t12-{stage}-{time.monotonic_ns()}",
        "stage": stage,
        "agents": list(agents),
        "deadline_ms": int((time.time() + 180) * 1000),
        "mission": "report disk usage of local",
        "context": {},
    }
    council.update(change)
    return council


def in_thread(root: str) -> dict[str, Any]:
    return {
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": root},
    }


async def send_ask(
    sender: Person, room: str, root: str, council: dict[str, Any], body: str | None = None
) -> str:
    names = ", ".join(council["agents"])
    return await sender.say(
        room,
        body or f"#12 📋 Task #12 registered. Asking {names} for proposals (3 min).",
        msgtype="m.notice",
        **{"m.relates_to": in_thread(root), COUNCIL_KEY: council},
    )


def answer_from(council: ThrowawayCouncil, name: str, ask_id: str) -> Callable[[Seen], bool]:
    user = council.user_id(name)
    return lambda s: s.sender == user and s.content.get(COUNCIL_KEY, {}).get("ask") == ask_id


def vote_of(council: ThrowawayCouncil, name: str, poll: str) -> Callable[[Seen], bool]:
    user = council.user_id(name)
    return lambda s: s.sender == user and s.relates_to.get("event_id") == poll


async def answers(
    master: Person, council: ThrowawayCouncil, ask_id: str, *names: str
) -> dict[str, Seen]:
    found = {}
    for name in names:
        [seen] = await master.wait_for(answer_from(council, name, ask_id), timeout=45)
        found[name] = seen
    return found


async def test_a_propose_ask_gets_one_answer_from_each_named_agent(
    council: ThrowawayCouncil,
    master: Person,
    coordinator_device: Person,
    fake: FakeLLMServer,
    room: str,
) -> None:
    for name in AGENTS:
        fake.enqueue(
            reply(f"{name} would run df -h.\n\nCOMMANDS: yes", input_tokens=200, output_tokens=9),
            protocol=PROTOCOL[name],
        )
    root = await master.say(room, "Report disk usage of local.")  # no order: the engine stays out
    council_ask = ask("propose")
    event = await send_ask(coordinator_device, room, root, council_ask)
    found = await answers(master, council, council_ask["ask"], *AGENTS)
    await master.settle(QUIET)
    for name, seen in found.items():
        assert seen.body == f"#12 💡 {name} would run df -h.\n\nCOMMANDS: yes"
        assert seen.relates_to["rel_type"] == "m.thread"
        assert seen.relates_to["event_id"] == root
        assert seen.in_reply_to == event
        answer = seen.content[COUNCIL_KEY]
        assert answer["kind"] == "answer"
        assert (answer["task"], answer["stage"], answer["status"]) == (12, "propose", "ok")
        assert answer["commands"] is True
        assert answer["usage"]["input_tokens"] == 200
        assert answer["usage"]["output_tokens"] == 9
        assert answer["usage"]["cost_usd"] > 0
        assert answer["model"]
        assert len(master.matching(answer_from(council, name, council_ask["ask"]))) == 1
    assert sorted(r.protocol for r in fake.requests) == ["anthropic", "gemini", "openai"]
    assert all(r.stream is False for r in fake.requests)


async def test_a_provider_error_is_a_failed_answer_naming_the_quota(
    council: ThrowawayCouncil,
    master: Person,
    coordinator_device: Person,
    fake: FakeLLMServer,
    room: str,
) -> None:
    fake.enqueue(
        error(429, error_code="insufficient_quota", message="You exceeded your current quota"),
        protocol="openai",
    )
    root = await master.say(room, "Report disk usage of local.")  # no order: the engine stays out
    council_ask = ask("propose")
    await send_ask(coordinator_device, room, root, council_ask)
    found = await answers(master, council, council_ask["ask"], *AGENTS)
    gpt = found["gpt"].content[COUNCIL_KEY]
    assert (gpt["status"], gpt["reason"]) == ("failed", "quota exhausted")
    assert "quota" in found["gpt"].body
    assert found["gpt"].content["msgtype"] == "m.notice"
    for name in ("claude", "gemini"):
        assert found[name].content[COUNCIL_KEY]["status"] == "ok"


async def test_a_poll_start_gets_a_poll_response_and_a_reason_from_each_agent(
    council: ThrowawayCouncil,
    master: Person,
    coordinator_device: Person,
    fake: FakeLLMServer,
    room: str,
) -> None:
    # Each agent's own proposal is the option it may not choose; each picks another.
    chosen = {"claude": "B", "gpt": "C", "gemini": "A"}
    for name, key in chosen.items():
        fake.enqueue(
            reply(f"VOTE: {key}\nREASON: {key} is the simplest."),
            protocol=PROTOCOL[name],
        )
    root = await master.say(room, "Report disk usage of local.")  # no order: the engine stays out
    council_ask = ask(
        "vote",
        context={
            "options": [
                {"key": "A", "text": "Run df -h on local."},
                {"key": "B", "text": "Run df -h and du -sh /var on local."},
                {"key": "C", "text": "Run duf on local."},
            ],
            "own": {"claude": "A", "gpt": "B", "gemini": "C"},
        },
    )
    poll = await coordinator_device.send_event(
        room,
        POLL_START,
        {
            POLL_START: {
                "question": {"org.matrix.msc1767.text": "#12 Which proposal?"},
                "kind": "org.matrix.msc3381.poll.disclosed",
                "max_selections": 1,
                "answers": [
                    {"id": key, "org.matrix.msc1767.text": f"{key} · proposal"}
                    for key in ("A", "B", "C")
                ],
            },
            "org.matrix.msc1767.text": "#12 Which proposal?\n1. A\n2. B\n3. C",
            "m.relates_to": in_thread(root),
            COUNCIL_KEY: council_ask,
        },
    )
    found = await answers(master, council, council_ask["ask"], *AGENTS)
    for name, key in chosen.items():
        response = await master.wait_for_event(POLL_RESPONSE, vote_of(council, name, poll))
        assert response.content[POLL_RESPONSE] == {"answers": [key]}
        assert response.relates_to["rel_type"] == "m.reference"
        assert response.received_at <= found[name].received_at  # the vote, then the reason
        reason = found[name]
        assert reason.body == f"#12 🗳️ {key} — {key} is the simplest."
        assert reason.relates_to["event_id"] == root
        assert reason.in_reply_to == poll
        assert reason.content[COUNCIL_KEY]["choice"] == key
        assert reason.content[COUNCIL_KEY]["stage"] == "vote"


async def test_an_ask_not_naming_an_agent_gets_nothing_from_it(
    council: ThrowawayCouncil,
    master: Person,
    coordinator_device: Person,
    fake: FakeLLMServer,
    room: str,
) -> None:
    root = await master.say(room, "Report disk usage of local.")  # no order: the engine stays out
    council_ask = ask("propose", agents=("claude", "gpt"))
    await send_ask(coordinator_device, room, root, council_ask)
    await answers(master, council, council_ask["ask"], "claude", "gpt")
    await master.settle(QUIET)
    assert master.matching(answer_from(council, "gemini", council_ask["ask"])) == []
    gemini = council.user_id("gemini")
    assert (
        master.matching(lambda s: s.sender == gemini and s.relates_to.get("event_id") == root) == []
    )
    assert fake.requests_for("gemini") == []


async def test_an_ask_from_anyone_but_the_coordinator_gets_nothing(
    council: ThrowawayCouncil,
    master: Person,
    fake: FakeLLMServer,
    room: str,
) -> None:
    root = await master.say(room, "Report disk usage of local.")  # no order: the engine stays out
    council_ask = ask("propose")
    await send_ask(master, room, root, council_ask, body="#12 claude, gpt, gemini: propose!")
    await master.settle(QUIET * 2)
    agent_users = {council.user_id(name) for name in AGENTS}
    assert (
        master.matching(
            lambda s: (
                s.sender in agent_users
                and s.room_id == room
                and (s.relates_to.get("event_id") == root)
            )
        )
        == []
    )
    assert fake.requests == []
