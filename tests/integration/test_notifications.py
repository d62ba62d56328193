"""What buzzes the master's phone, as Synapse decides it: one buzz per answer, final text.

The master's own `GET /notifications` lists every event the homeserver pushed to his
devices (push actions including `notify`). In an encrypted room the server reads only the
type, the sender and `m.relates_to`, so it pushes most messages, and the app on the phone
decides again on the decrypted event with the same rules (Element X and Element Web both
do): here the master's nio client decrypts each pushed event and Synapse's own evaluator
runs his rules (fetched from the server, with the one Chavion provisioned) on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from nio import MegolmEvent

from bots.events import ANSWER_PUSH_RULE
from tests.fakes.llm_server import FakeLLMServer, reply
from tests.integration.test_agents import AGENTS, KEY_ENV, QUIET, final_text, pointed_at
from tests.support.council import InProcessBots, ThrowawayCouncil
from tests.support.element import ElementClient, ElementEvent
from tests.support.element import replies_to as element_replies_to
from tests.support.person import Person, replies_to
from tests.support.push import actions_for, notifies, ruleset, sound

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def llm() -> AsyncIterator[FakeLLMServer]:
    async with FakeLLMServer() as server:
        yield server


@pytest.fixture(scope="module")
async def agents(council: ThrowawayCouncil, llm: FakeLLMServer) -> AsyncIterator[InProcessBots]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_ENV, "test-key")
        bots = await InProcessBots.start(pointed_at(council.settings, llm), AGENTS)
        yield bots
        await bots.stop()


async def client_api(master: Person, path: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {master.client.access_token}"}
    url = master.client.homeserver + path
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        assert response.status == 200, await response.text()
        data = await response.json()
    assert isinstance(data, dict)
    return data


async def phone_notifications(master: Person, room: str) -> list[dict[str, Any]]:
    """What the master's phone shows for `room`, oldest first: each pushed event, decrypted
    where needed, that his rules still notify for, with `actions` as the phone applies
    them and `pushed` as the server sent them."""
    rules = ruleset((await client_api(master, "/_matrix/client/v3/pushrules/"))["global"])
    listed = await client_api(master, "/_matrix/client/v3/notifications?limit=100")
    shown = []
    for note in reversed(listed["notifications"]):
        if note["room_id"] != room:
            continue
        event = dict(note["event"])
        if event["type"] == "m.room.encrypted":
            encrypted = MegolmEvent.from_dict({**event, "room_id": room})
            encrypted.room_id = room
            event = {**master.client.decrypt_event(encrypted).source, "type": "m.room.message"}
        actions = actions_for(event, rules, master.user_id)
        if notifies(actions):
            shown.append({"event": event, "actions": actions, "pushed": note["actions"]})
    return shown


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted room", "plain room"])
@pytest.mark.backend
async def test_each_answer_to_the_master_buzzes_once_with_its_final_text(
    council: ThrowawayCouncil,
    master: Person,
    llm: FakeLLMServer,
    agents: InProcessBots,
    encrypted: bool,
) -> None:
    llm.reset()
    members = [council.user_id(name) for name in (*AGENTS, "coordinator")]
    room = await master.create_room(members, encrypted=encrypted)
    for member in members:
        await master.wait_member(room, member)
    await master.sees_devices_of(*members)
    gpt, claude = council.user_id("gpt"), council.user_id("claude")
    finals: list[str] = []

    # A quick answer: one message.
    asked = await master.say(room, "gpt, quick one")
    [quick] = await master.wait_for(replies_to(asked, gpt), timeout=30)
    finals.append(await final_text(master, quick))

    # A streamed answer: a preview, edits, the final edit.
    words = [f"word{i} " for i in range(12)]
    llm.enqueue(reply(chunks=words, chunk_delay_s=0.25), protocol="openai")
    asked = await master.say(room, "gpt, take your time")
    [streamed] = await master.wait_for(replies_to(asked, gpt), timeout=30)
    finals.append(await final_text(master, streamed))
    edits = master.matching(lambda s: s.relates_to.get("event_id") == streamed.event_id)
    assert len(edits) >= 2, "the preview was edited before its final version"

    # A streamed answer to the master that asks GPT at its end: GPT answers Claude, which
    # is agent chatter and must stay silent.
    chunks = ["Let me think. ", *["Then more. "] * 8, "What do you think, GPT?"]
    llm.enqueue(reply(chunks=chunks, chunk_delay_s=0.25), protocol="anthropic")
    llm.set_default(reply("I agree with the plan."), protocol="openai")
    asked = await master.say(room, "claude, how do we start?")
    [first] = await master.wait_for(replies_to(asked, claude), timeout=30)
    finals.append(await final_text(master, first))
    await master.wait_for(replies_to(first.event_id, gpt), timeout=30)

    # Chatter: a command's notice.
    asked = await master.say(room, "!ping")
    await master.wait_for(replies_to(asked, council.user_id("coordinator")), timeout=30)
    await master.settle(QUIET)

    shown = await phone_notifications(master, room)
    # The agents' back-and-forth trips the loop guard (two turns in the test council): the
    # coordinator's word to the master about it is meant to buzz too, once at most.
    guard = [n for n in shown if n["event"]["content"]["body"].startswith("Loop guard")]
    assert len(guard) <= 1
    assert all(n["event"]["sender"] == council.user_id("coordinator") for n in guard)
    answers = [n for n in shown if n not in guard]
    assert [n["event"]["content"]["body"] for n in answers] == finals
    for note in shown:
        assert sound(note["actions"]) == "default", note  # a buzz, not a silent line
        assert "notify" in note["pushed"]
    # The streamed answers notify by their final edit, pushed by the provisioned rule.
    for note in answers[1:]:
        assert note["event"]["content"]["m.relates_to"]["rel_type"] == "m.replace"
        assert sound(note["pushed"]) == "default"


@pytest.mark.backend
async def test_the_master_has_the_answer_rule_once(master: Person) -> None:
    rules = (await client_api(master, "/_matrix/client/v3/pushrules/"))["global"]["override"]
    ours = [r for r in rules if r["rule_id"] == ANSWER_PUSH_RULE]
    assert len(ours) == 1
    assert ours[0]["enabled"]
    # User override rules are checked before the server's own (but after .m.rule.master).
    ids = [r["rule_id"] for r in rules]
    assert ids.index(ANSWER_PUSH_RULE) < ids.index(".m.rule.suppress_edits")


async def element_final(element: ElementClient, answer: ElementEvent) -> ElementEvent:
    """The event that completes `answer` in Element: its final edit, or itself."""
    if answer.content.get("org.chavion.stream", "done") == "done":
        return answer

    def is_final_edit(e: ElementEvent) -> bool:
        new = e.content.get("m.new_content")
        return (
            e.relates_to.get("rel_type") == "m.replace"
            and e.relates_to.get("event_id") == answer.event_id
            and isinstance(new, dict)
            and new.get("org.chavion.stream") == "done"
        )

    [edit] = await element.wait_for(is_final_edit)
    return edit


async def test_element_notifies_once_per_answer_with_its_final_text(
    council: ThrowawayCouncil,
    coordinator: InProcessBots,
    llm: FakeLLMServer,
    agents: InProcessBots,
    tmp_path: Path,
) -> None:
    """The same, judged by Element itself: matrix-js-sdk's push processor (what Element
    Web's notifier asks) on every decrypted bot event in the encrypted council room."""
    llm.reset()
    element = await ElementClient.start(tmp_path)
    creds = council.provisioned.master
    try:
        # Its own device, with no cross-signing set up: that is test_element_client's job.
        await element.login(council.url, creds.user_id, creds.password, cross_signing=False)
        room, gpt = council.council_room, council.user_id("gpt")
        bots = {council.user_id(n) for n in (*AGENTS, "coordinator")}
        since = len(element.events)
        asked = await element.say(room, "gpt, quick one")
        [quick] = await element.wait_for(element_replies_to(asked, gpt))
        words = [f"word{i} " for i in range(12)]
        llm.enqueue(reply(chunks=words, chunk_delay_s=0.25), protocol="openai")
        asked = await element.say(room, "gpt, take your time")
        [streamed] = await element.wait_for(element_replies_to(asked, gpt))
        finals = [await element_final(element, quick), await element_final(element, streamed)]
        ping = await element.say(room, "!ping")
        await element.wait_for(element_replies_to(ping, council.user_id("coordinator")))
        await element.settle(QUIET)

        from_bots = [e for e in element.events[since:] if e.sender in bots and e.room_id == room]
        assert all(e.failure is None for e in from_bots)
        buzzing = [e for e in from_bots if e.push and e.push["notify"]]
        assert [e.event_id for e in buzzing] == [e.event_id for e in finals]
        assert [e.body for e in buzzing] == [
            "This is the fake model speaking.",
            "".join(words).strip(),
        ]
        assert all(e.push and e.push["sound"] == "default" for e in buzzing)
        assert len(from_bots) > 4, "the preview and its edits were seen, silent"
    finally:
        await element.close()
