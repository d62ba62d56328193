"""The master in the Element stack itself: matrix-js-sdk with its Rust crypto, as Element Web.

The nio `Person` trusts every device; Element does not. This client logs in as the master,
sets up its own cross-signing as Element does at first login, and talks to the real bots in
the encrypted council room, first in Element's older default mode (keys for every device,
shields on what is doubtful), then in the mode Element makes mandatory ("exclude insecure
devices", MSC4153), where an unsigned bot device gets no room keys and what it sends is not
shown. Last, a bot whose crypto store was wiped comes back with a new device, cross-signed,
that this mode accepts.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bots.events import STREAM_KEY
from tests.fakes.llm_server import FakeLLMServer, reply
from tests.integration.test_agents import AGENTS, KEY_ENV, QUIET, pointed_at
from tests.integration.test_cross_signing import current_device
from tests.support.council import InProcessBots, ThrowawayCouncil
from tests.support.element import ElementClient, ElementEvent, IsolationMode, replies_to

pytestmark = pytest.mark.integration

BOTS = ("coordinator", *AGENTS)


@pytest.fixture(scope="module")
async def llm() -> AsyncIterator[FakeLLMServer]:
    async with FakeLLMServer() as server:
        yield server


@pytest.fixture(scope="module")
async def agents(
    council: ThrowawayCouncil, coordinator: InProcessBots, llm: FakeLLMServer
) -> AsyncIterator[InProcessBots]:
    """The three agents on the fake LLM, in the council room beside the coordinator."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_ENV, "test-key")
        bots = await InProcessBots.start(pointed_at(council.settings, llm), AGENTS)
        yield bots
        await bots.stop()


@pytest.fixture(scope="module")
async def element(
    council: ThrowawayCouncil, agents: InProcessBots, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ElementClient]:
    client = await ElementClient.start(tmp_path_factory.mktemp("element"))
    master = council.provisioned.master
    try:
        assert await client.login(council.url, master.user_id, master.password), (
            "cross-signing is not ready after bootstrapCrossSigning"
        )
        yield client
    finally:
        await client.close()


def from_bots(council: ThrowawayCouncil) -> Callable[[ElementEvent], bool]:
    users = {council.user_id(name) for name in BOTS}
    return lambda e: e.room_id == council.council_room and e.sender in users and e.state_key is None


async def final_text(element: ElementClient, answer: ElementEvent) -> str:
    """What Element shows once the agent has finished: its final edit, or the whole message."""
    if answer.content.get(STREAM_KEY, "done") == "done":
        return answer.body

    def is_final_edit(e: ElementEvent) -> bool:
        new = e.content.get("m.new_content")
        return (
            e.relates_to.get("rel_type") == "m.replace"
            and e.relates_to.get("event_id") == answer.event_id
            and isinstance(new, dict)
            and new.get(STREAM_KEY) == "done"
        )

    [edit] = await element.wait_for(is_final_edit)
    return str(edit.content["m.new_content"]["body"])


async def round_trips(
    element: ElementClient, council: ThrowawayCouncil, llm: FakeLLMServer, mode: IsolationMode
) -> list[ElementEvent]:
    """`!ping`, an agent by name, a broadcast and a thread reply; returns the bots' answers."""
    room, user = council.council_room, council.user_id
    llm.reset()
    await element.isolation(mode)

    ping = await element.say(room, "!ping")
    [pong] = await element.wait_for(replies_to(ping, user("coordinator")))
    assert pong.body.startswith("pong"), pong.body

    llm.enqueue(reply("4"), protocol="anthropic")
    named = await element.say(room, "claude, 2+2?")
    [by_name] = await element.wait_for(replies_to(named, user("claude")))
    assert await final_text(element, by_name) == "4"

    broadcast = await element.say(room, f"everyone, say hello ({mode})")
    answers = [(await element.wait_for(replies_to(broadcast, user(n))))[0] for n in AGENTS]

    root = await element.say(room, f"Plan ({mode}): step one is a backup.")
    thread = {
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": root},
    }
    question = await element.say(room, "claude, what is missing?", **{"m.relates_to": thread})
    [in_thread] = await element.wait_for(
        lambda e: (
            e.sender == user("claude")
            and e.relates_to.get("rel_type") == "m.thread"
            and e.in_reply_to == question
        )
    )
    assert in_thread.relates_to["event_id"] == root
    await element.wait_until_in_thread(room, root, in_thread.event_id)

    await element.settle(QUIET)
    for name in AGENTS:
        assert len(element.matching(replies_to(broadcast, user(name)))) == 1, name
    return [pong, by_name, *answers, in_thread]


async def test_element_default_mode_round_trips_and_every_bot_event_decrypts(
    council: ThrowawayCouncil, llm: FakeLLMServer, element: ElementClient
) -> None:
    answers = await round_trips(element, council, llm, "all")
    assert {a.sender for a in answers} == {council.user_id(n) for n in BOTS}
    bot_events = element.matching(from_bots(council))
    assert bot_events, "the client saw no bot event"
    undecrypted = [(e.sender, e.event_id, e.failure) for e in bot_events if e.failure]
    assert undecrypted == []
    assert all(e.encrypted for e in bot_events)
    # The bots' devices are cross-signed by their owners: no red "Encrypted by a device not
    # verified by its owner" (UNSIGNED_DEVICE) on any of them.
    shields = await element.shields([e.event_id for e in bot_events])
    warned = {k: v for k, v in shields.items() if v is None or v.warns}
    assert warned == {}


async def test_element_exclude_insecure_devices_round_trips_with_no_shield(
    council: ThrowawayCouncil, llm: FakeLLMServer, element: ElementClient
) -> None:
    # Without the owner's signature on a bot's device, this mode withholds the room keys
    # from it: it could not read the master and would never answer. Said first, and plainly.
    for name in BOTS:
        devices = await element.devices(council.user_id(name))
        assert devices, f"no device for {name}"
        unsigned = [d["device_id"] for d in devices if not d["signed_by_owner"]]
        assert unsigned == [], f"{name}'s devices not signed by {name}: {unsigned}"

    seen_before = {e.event_id for e in element.events}
    answers = await round_trips(element, council, llm, "only_signed")
    assert {a.sender for a in answers} == {council.user_id(n) for n in BOTS}
    bot_events = [e for e in element.matching(from_bots(council)) if e.event_id not in seen_before]
    undecrypted = [(e.sender, e.event_id, e.failure) for e in bot_events if e.failure]
    assert undecrypted == []
    shields = await element.shields([e.event_id for e in bot_events])
    warned = {k: v for k, v in shields.items() if v is None or v.warns}
    assert warned == {}


def test_the_lock_file_pins_what_the_client_runs_on() -> None:
    """The install is reproducible: package-lock.json pins matrix-js-sdk 43 and Node 22."""
    lock = json.loads(
        (Path(__file__).parents[1] / "element" / "package-lock.json").read_text(encoding="utf-8")
    )
    packages = lock["packages"]
    assert packages["node_modules/matrix-js-sdk"]["version"].startswith("43.")
    assert packages["node_modules/node"]["version"].startswith("22.")
    assert "node_modules/@matrix-org/matrix-sdk-crypto-wasm" in packages


async def test_element_accepts_the_new_signed_device_of_a_bot_whose_store_was_wiped(
    council: ThrowawayCouncil, element: ElementClient
) -> None:
    """A bot that lost its crypto store comes back with a new device, signed by its owner:
    Element, excluding insecure devices, shares its room key with that device and shows the
    answer decrypted and with no shield."""
    executor = council.user_id("executor")
    first = council.bot_process("executor")
    await first.online()
    assert await first.stop() == 0
    before = current_device(council, "executor")
    shutil.rmtree(council.data.crypto_store(council.settings.account("executor").localpart))

    again = council.bot_process("executor")
    await again.online()
    try:
        after = current_device(council, "executor")
        assert after != before, "a lost device is replaced"
        # Element learns of the change through /sync's device lists: wait until it has.
        deadline = time.monotonic() + 30
        while True:
            devices = {d["device_id"]: d for d in await element.devices(executor)}
            if after in devices and before not in devices:
                break
            assert time.monotonic() < deadline, f"Element still sees {sorted(devices)}"
            await asyncio.sleep(0.2)
        assert devices[after]["signed_by_owner"], devices[after]

        await element.isolation("only_signed")
        ping = await element.say(council.council_room, "executor !ping")
        [pong] = await element.wait_for(replies_to(ping, executor))
        assert pong.failure is None, pong.failure
        assert pong.encrypted
        assert pong.body.startswith("pong"), pong.body
        [shield] = (await element.shields([pong.event_id])).values()
        assert shield is not None
        assert not shield.warns, shield
    finally:
        assert await again.stop() == 0
