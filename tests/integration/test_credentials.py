"""A credential pasted into a room, end to end: real Synapse, real SDKs, a fake LLM server.

The master pastes an OpenAI-shaped key (and, later, a private key block) in a message that
addresses an agent. The coordinator redacts the event and says what it removed and why; the
agent sends nothing to the model for it, and a later question to the agent does not carry
it in the prompt. In an encrypted room the redaction is a plain event the homeserver reads.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from nio import (
    RoomGetEventResponse,
    RoomGetStateEventResponse,
    RoomPutStateResponse,
    RoomRedactResponse,
)

from bots.settings import AgentSettings, Settings
from tests.fakes.llm_server import FakeLLMServer
from tests.support.council import InProcessBots, ThrowawayCouncil
from tests.support.person import Person, Seen, replies_to

pytestmark = pytest.mark.integration

KEY_ENV = "CHAVION_TEST_LLM_KEY"
AGENT = "gpt"
QUIET = 2.5
OPENAI_KEY = "sk-proj-" + "Qw3rTy7uIo9pAs1dFg5hJk2lZx8cVb4nM6" + "_-Lk0jHg3fDs2aPo9iUy7tRe"
PEM = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACDx3c1qW8TzvZbq0mC9u4n0n2+gk2l2d3mT0vYq8o7tXwAAAJgAAAAAAAAA\n"
    "-----END OPENSSH PRIVATE KEY-----"
)


@pytest.fixture(scope="module")
async def agent(council: ThrowawayCouncil, llm: FakeLLMServer) -> AsyncIterator[InProcessBots]:
    """One agent on the fake server, as `chavion up` runs it (its own Matrix connection)."""

    def aim(settings: AgentSettings) -> AgentSettings:
        return dataclasses.replace(
            settings, base_url=llm.openai_base_url, api_key_env=KEY_ENV, timeout_seconds=10.0
        )

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_ENV, "test-key")
        settings: Settings = dataclasses.replace(
            council.settings, agents=tuple(aim(a) for a in council.settings.agents)
        )
        bots = await InProcessBots.start(settings, [AGENT])
        yield bots
        await bots.stop()


async def council_like_room(master: Person, council: ThrowawayCouncil, *, encrypted: bool) -> str:
    """A room with the agent and the coordinator, the coordinator given the power to redact
    as `chavion up` gives it in the council room."""
    members = [council.user_id(AGENT), council.user_id("coordinator")]
    room_id = await master.create_room(members, encrypted=encrypted)
    for member in members:
        await master.wait_member(room_id, member)
    levels = await master.client.room_get_state_event(room_id, "m.room.power_levels")
    assert isinstance(levels, RoomGetStateEventResponse), levels
    content: dict[str, Any] = dict(levels.content)
    content["users"] = {**content.get("users", {}), council.user_id("coordinator"): 90}
    put = await master.client.room_put_state(room_id, "m.room.power_levels", content)
    assert isinstance(put, RoomPutStateResponse), put
    await master.sees_devices_of(*members)
    return room_id


def addressing(council: ThrowawayCouncil, body: str) -> dict[str, Any]:
    """What Element sends for "GPT, ..." typed with a pill: an intentional mention."""
    return {"m.mentions": {"user_ids": [council.user_id(AGENT)]}, "body": f"GPT, {body}"}


async def redaction_of(master: Person, event_id: str) -> Seen:
    def names(seen: Seen) -> bool:
        return seen.content.get("redacts") == event_id  # room version 11 on: in the content

    return await master.wait_for_event("m.room.redaction", names, timeout=30)


def prompts(llm: FakeLLMServer) -> str:
    return "\n".join(json.dumps(r.body) for r in llm.requests)


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plain"])
@pytest.mark.backend
async def test_a_pasted_key_is_redacted_the_sender_told_and_no_model_sees_it(
    council: ThrowawayCouncil,
    master: Person,
    coordinator: InProcessBots,
    agent: InProcessBots,
    llm: FakeLLMServer,
    encrypted: bool,
) -> None:
    llm.reset()
    room = await council_like_room(master, council, encrypted=encrypted)
    coordinator_id = council.user_id("coordinator")

    pasted = await master.say(
        room, **addressing(council, f"why does my key {OPENAI_KEY} not work?")
    )
    redaction = await redaction_of(master, pasted)
    assert redaction.sender == coordinator_id
    [notice] = await master.wait_for(replies_to(pasted, coordinator_id), timeout=30)
    assert notice.content["msgtype"] == "m.notice"
    assert "an OpenAI API key" in notice.body
    assert "Rotate" in notice.body
    assert OPENAI_KEY not in notice.body
    assert notice.content["m.mentions"] == {"user_ids": [master.user_id]}

    # On the homeserver: the paste has lost its content, and the redaction is not encrypted
    # (the homeserver has to read which event it removes).
    original = await master.client.room_get_event(room, pasted)
    assert isinstance(original, RoomGetEventResponse), original
    raw = original.event.source
    assert raw["unsigned"]["redacted_because"]["event_id"] == redaction.event_id
    assert "ciphertext" not in raw["content"]
    assert "body" not in raw["content"]
    removal = await master.client.room_get_event(room, redaction.event_id)
    assert isinstance(removal, RoomGetEventResponse), removal
    assert removal.event.source["type"] == "m.room.redaction"

    # The agent was addressed in that very message, yet asked no model.
    await master.settle(QUIET)
    assert llm.requests == []
    assert master.matching(replies_to(pasted, council.user_id(AGENT))) == []

    # A private key block: the same, named as such.
    block = await master.say(room, **addressing(council, f"and this one?\n\n{PEM}"))
    await redaction_of(master, block)
    [notice] = await master.wait_for(replies_to(block, coordinator_id), timeout=30)
    assert "a private key" in notice.body
    assert "OPENSSH" not in notice.body

    # A later question is answered, and its prompt carries neither secret.
    question = await master.say(room, **addressing(council, "what did I send you before?"))
    await master.wait_for(replies_to(question, council.user_id(AGENT)), timeout=30)
    sent = prompts(llm)
    assert len(llm.requests) == 1
    assert "what did I send you before?" in sent
    assert OPENAI_KEY not in sent
    assert "sk-proj-" not in sent
    assert "PRIVATE KEY" not in sent
    assert "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9u" not in sent
    # Exactly one notice per paste: the coordinator said nothing more.
    assert len(master.matching(lambda s: s.room_id == room and s.sender == coordinator_id)) == 2


async def test_a_key_in_an_edit_is_redacted_and_the_agent_forgets_the_edited_text(
    council: ThrowawayCouncil,
    master: Person,
    coordinator: InProcessBots,
    agent: InProcessBots,
    llm: FakeLLMServer,
) -> None:
    """Element sends an edit as a new event: the edit holding the key is what is removed,
    and the agent's history must not keep the edited text under the original's id."""
    llm.reset()
    room = await council_like_room(master, council, encrypted=True)
    coordinator_id = council.user_id("coordinator")
    first = await master.say(room, "the database is down again")
    edited = f"the database is down again, password={OPENAI_KEY[8:30]}"
    edit = await master.say(
        room,
        f"* {edited}",
        **{
            "m.new_content": {"msgtype": "m.text", "body": edited},
            "m.relates_to": {"rel_type": "m.replace", "event_id": first},
        },
    )
    await redaction_of(master, edit)
    [notice] = await master.wait_for(replies_to(edit, coordinator_id), timeout=30)
    assert "a password or secret setting" in notice.body

    question = await master.say(room, **addressing(council, "is it back?"))
    await master.wait_for(replies_to(question, council.user_id(AGENT)), timeout=30)
    sent = prompts(llm)
    assert "is it back?" in sent
    assert OPENAI_KEY[8:30] not in sent


async def test_what_the_master_removes_himself_leaves_the_agents_context(
    council: ThrowawayCouncil,
    master: Person,
    coordinator: InProcessBots,
    agent: InProcessBots,
    llm: FakeLLMServer,
) -> None:
    """The history cache drops any redacted message, not only the coordinator's catches:
    Element's "Remove" must take a message out of what agents are told."""
    llm.reset()
    room = await council_like_room(master, council, encrypted=True)
    regret = await master.say(room, "the merger closes on friday, keep it quiet")
    removed = await master.client.room_redact(room, regret, reason="said too much")
    assert isinstance(removed, RoomRedactResponse), removed
    await redaction_of(master, regret)
    question = await master.say(room, **addressing(council, "anything new?"))
    await master.wait_for(replies_to(question, council.user_id(AGENT)), timeout=30)
    sent = prompts(llm)
    assert "anything new?" in sent
    assert "merger" not in sent
