"""Nothing said to a bot is lost silently: a long absence, a crash in the middle of an answer.

Bots run as their own processes (`chavion bot NAME`), stopped and killed as in production.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from nio import AsyncClient, MessageDirection, RoomMessagesResponse

from bots.agents.streaming import RESUMED_MARK
from bots.events import STREAM_KEY
from bots.store import Store
from tests.fakes.llm_server import FakeLLMServer, reply
from tests.support.council import BotProcess, ThrowawayCouncil
from tests.support.person import Person, Seen, replies_to

pytestmark = pytest.mark.integration

GAP = 300  # three times the sync filter's page of 100 events


async def replies_by_target(
    client: AsyncClient, room_id: str, sender: str, oldest: str
) -> Counter[str]:
    """How many replies `sender` sent to each event, read back with /messages down to
    `oldest`: the test's own sync would skip events in a burst, as the bot's did."""
    counts: Counter[str] = Counter()
    start = client.next_batch
    while True:
        response = await client.room_messages(
            room_id, start=start, direction=MessageDirection.back, limit=100
        )
        assert isinstance(response, RoomMessagesResponse), response
        for event in response.chunk:
            source = getattr(event, "source", {})
            if source.get("sender") == sender:
                relates = source.get("content", {}).get("m.relates_to", {})
                target = relates.get("m.in_reply_to", {}).get("event_id")
                if target:
                    counts[target] += 1
        if any(getattr(e, "event_id", None) == oldest for e in response.chunk):
            return counts
        if not response.chunk or not response.end:
            return counts
        start = response.end


@pytest.mark.backend
async def test_a_bot_down_while_more_than_a_sync_page_arrived_handles_every_event_once(
    council: ThrowawayCouncil, master: Person
) -> None:
    gpt = council.user_id("gpt")
    room = council.council_room
    first = council.bot_process("gpt")
    await first.online()
    await master.sees_devices_of(gpt)
    assert await first.stop() == 0

    tag = secrets.token_hex(3)
    sent = [await master.say(room, f"gpt !ping {tag} {n}") for n in range(GAP)]
    logs_before = set(council.root.glob("bot-gpt-*.log"))
    second = council.bot_process("gpt")
    try:
        await second.online()
        deadline = time.monotonic() + 120
        while True:
            counts = await replies_by_target(master.client, room, gpt, sent[0])
            if all(counts[event] >= 1 for event in sent) or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
        await master.settle(2)
        counts = await replies_by_target(master.client, room, gpt, sent[0])
    finally:
        assert await second.stop() == 0
    missing = [n for n, event in enumerate(sent) if counts[event] == 0]
    twice = [n for n, event in enumerate(sent) if counts[event] > 1]
    assert missing == [], f"{len(missing)} of {GAP} never answered, e.g. {missing[:5]}"
    assert twice == [], f"answered more than once: {twice[:5]}"
    [log] = set(council.root.glob("bot-gpt-*.log")) - logs_before
    assert " caught up " in log.read_text(encoding="utf-8")


# ---- an agent killed in the middle of an answer ----------------------------------------

KEY_ENV = "CHAVION_TEST_LLM_KEY"


@pytest.fixture(scope="module")
async def fake() -> AsyncIterator[FakeLLMServer]:
    async with FakeLLMServer() as server:
        yield server


@pytest.fixture
def claude_config(
    council: ThrowawayCouncil, fake: FakeLLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The council's config with Claude aimed at the fake server, for `chavion bot claude`."""
    monkeypatch.setenv(KEY_ENV, "test-key")
    fake.reset()
    config = yaml.safe_load(council.config_path.read_text(encoding="utf-8"))
    for agent in config["agents"]:
        if agent["name"] == "claude":
            agent.update(base_url=fake.anthropic_base_url, api_key_env=KEY_ENV, timeout_seconds=90)
    path = tmp_path / "chavion.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def claude_process(council: ThrowawayCouncil, config: Path) -> BotProcess:
    log = (council.root / f"bot-claude-{time.monotonic_ns()}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "bots", "-v", "--config", str(config), "bot", "claude"],
        stdout=subprocess.PIPE,
        stderr=log,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    council.processes.append(process)
    return BotProcess("claude", process)


async def until(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def kill(bot: BotProcess) -> None:
    bot.process.kill()  # SIGKILL: no clean stop, no last word
    bot.process.wait()


def final_edit_of(event_id: str) -> Callable[[Seen], bool]:
    def matches(seen: Seen) -> bool:
        relates = seen.relates_to
        new = seen.content.get("m.new_content", {})
        return (
            relates.get("rel_type") == "m.replace"
            and relates.get("event_id") == event_id
            and new.get(STREAM_KEY) == "done"
        )

    return matches


async def test_an_agent_killed_during_a_slow_call_answers_once_after_the_restart(
    council: ThrowawayCouncil, master: Person, fake: FakeLLMServer, claude_config: Path
) -> None:
    claude = council.user_id("claude")
    fake.enqueue(reply("never said", delay_s=60), reply("Four."), protocol="anthropic")
    first = claude_process(council, claude_config)
    await first.online()
    await master.sees_devices_of(claude)
    question = await master.say(
        council.council_room, f"Claude, what is 2 + 2? {secrets.token_hex(3)}"
    )
    await until(lambda: len(fake.requests_for("anthropic")) == 1)
    kill(first)

    second = claude_process(council, claude_config)
    try:
        await second.online()
        [answer] = await master.wait_for(replies_to(question, claude), timeout=30)
        if answer.content.get(STREAM_KEY) == "partial":
            [edit] = await master.wait_for(final_edit_of(answer.event_id))
            text = str(edit.content["m.new_content"]["body"])
        else:
            text = answer.body
        assert text.startswith(RESUMED_MARK.strip())
        assert "Four." in text
        await master.settle(2)
        assert len(master.matching(replies_to(question, claude))) == 1
        assert len(fake.requests_for("anthropic")) == 2
    finally:
        assert await second.stop() == 0
    async with await Store.open(council.data.store) as store:
        assert await store.pending_answers.unfinished("claude") == []


async def test_a_half_streamed_answer_cut_off_by_a_kill_is_finished_in_place(
    council: ThrowawayCouncil, master: Person, fake: FakeLLMServer, claude_config: Path
) -> None:
    claude = council.user_id("claude")
    slow = reply(chunks=[f"word{n} " for n in range(60)], chunk_delay_s=0.5)
    fake.enqueue(slow, reply("The whole answer."), protocol="anthropic")
    first = claude_process(council, claude_config)
    await first.online()
    await master.sees_devices_of(claude)
    question = await master.say(
        council.council_room, f"Claude, tell me a long story {secrets.token_hex(3)}"
    )
    [placeholder] = await master.wait_for(replies_to(question, claude), timeout=30)
    assert placeholder.content.get(STREAM_KEY) == "partial"
    async with await Store.open(council.data.store) as store:

        async def noted() -> bool:
            owed = await store.pending_answers.unfinished("claude")
            return any(o.placeholder == placeholder.event_id for o in owed)

        deadline = time.monotonic() + 10
        while not await noted():
            assert time.monotonic() < deadline, "the placeholder was never recorded"
            await asyncio.sleep(0.05)
    kill(first)

    second = claude_process(council, claude_config)
    try:
        await second.online()
        [edit] = await master.wait_for(final_edit_of(placeholder.event_id), timeout=30)
        text = str(edit.content["m.new_content"]["body"])
        assert text.startswith(RESUMED_MARK.strip())
        assert "The whole answer." in text
        await master.settle(2)
        assert len(master.matching(replies_to(question, claude))) == 1  # no second message
        assert len(master.matching(final_edit_of(placeholder.event_id))) == 1
        assert len(fake.requests_for("anthropic")) == 2
    finally:
        assert await second.stop() == 0


# ---- a message no key opens -------------------------------------------------------------


async def put(master: Person, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A raw client-API PUT as the master: what nio would not send as it is."""
    client = master.client
    url = f"{client.homeserver}/_matrix/client/v3/{path}"
    headers = {"Authorization": f"Bearer {client.access_token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.put(url, json=body, headers=headers) as response,
    ):
        assert response.status == 200, await response.text()
        return dict(await response.json())


async def send_unreadable(master: Person, room: str, *, withheld_from: str | None = None) -> str:
    """An encrypted event whose session key the master's client never shares with anyone,
    as Element's "exclude insecure devices" mode leaves it for bots it does not trust; with
    `withheld_from`, it says so to that user's devices first, as Element does."""
    client = master.client
    session_id = "withheld" + secrets.token_hex(8)
    sender_key = client.olm.account.identity_keys["curve25519"] if client.olm else "x"
    if withheld_from is not None:
        notice = {
            "algorithm": "m.megolm.v1.aes-sha2",
            "room_id": room,
            "session_id": session_id,
            "sender_key": sender_key,
            "code": "m.unverified",
            "reason": "Device not verified",
        }
        txn = secrets.token_hex(8)
        await put(
            master,
            f"sendToDevice/m.room_key.withheld/{txn}",
            {"messages": {withheld_from: {"*": notice}}},
        )
    content = {
        "algorithm": "m.megolm.v1.aes-sha2",
        "sender_key": sender_key,
        "device_id": client.device_id,
        "session_id": session_id,
        "ciphertext": "AwgAEnACg" + secrets.token_hex(40),
    }
    txn = secrets.token_hex(8)
    sent = await put(master, f"rooms/{room}/send/m.room.encrypted/{txn}", content)
    return str(sent["event_id"])


async def test_a_message_no_key_opens_is_reported_to_the_master_once(
    council: ThrowawayCouncil, master: Person
) -> None:
    coordinator = council.user_id("coordinator")
    event = await send_unreadable(master, council.council_room)
    [notice] = await master.wait_for(replies_to(event, coordinator), timeout=40)
    assert notice.body.startswith("I could not read your message from ")
    assert "send it again" in notice.body
    assert notice.content["msgtype"] == "m.text"
    assert notice.content["m.mentions"]["user_ids"] == [master.user_id]
    # Still readable messages are answered as before, and the notice comes once.
    probe = await master.say(council.council_room, "!ping")
    await master.wait_for(replies_to(probe, coordinator))
    await master.settle(2)
    assert len(master.matching(replies_to(event, coordinator))) == 1


@pytest.mark.backend
async def test_a_key_the_masters_app_withheld_is_reported_with_its_reason(
    council: ThrowawayCouncil, master: Person
) -> None:
    coordinator = council.user_id("coordinator")
    event = await send_unreadable(master, council.council_room, withheld_from=coordinator)
    [notice] = await master.wait_for(replies_to(event, coordinator), timeout=40)
    assert "withheld its key from the bots' devices because it does not trust them" in notice.body
    assert "send it again" in notice.body
