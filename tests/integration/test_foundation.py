"""The foundation, end to end: a real Synapse, real bots, the master as an Element user."""

from __future__ import annotations

import asyncio
import json
import secrets

import pytest

from bots.settings.data_dir import read_json
from tests.support.council import InProcessBots, ThrowawayCouncil
from tests.support.person import Person, replies_to

pytestmark = pytest.mark.integration


@pytest.mark.backend
async def test_ping_in_the_encrypted_council(council: ThrowawayCouncil, master: Person) -> None:
    event = await master.say(council.council_room, "!ping")
    [reply] = await master.wait_for(replies_to(event, council.user_id("coordinator")))
    assert reply.body.startswith("pong")
    assert reply.content["msgtype"] == "m.notice"


async def test_events_of_the_wrong_shape_are_skipped_and_the_bot_answers_on(
    council: ThrowawayCouncil, master: Person
) -> None:
    room = council.council_room
    for content in (
        {"msgtype": "m.text", "body": "!ping", "m.relates_to": ["x"]},
        {"msgtype": "m.text", "body": "!ping", "m.relates_to": {"m.in_reply_to": "$x"}},
        {"msgtype": "m.text", "body": "!ping", "m.mentions": {"user_ids": None}},
        {"msgtype": "m.text", "body": "!ping", "m.mentions": {"user_ids": "@chavion:localhost"}},
        {"msgtype": "m.text", "body": "!ping", "origin_server_ts": "yesterday"},
        {
            "msgtype": "m.text",
            "body": "* !ping",
            "m.relates_to": {"rel_type": "m.replace", "event_id": 5},
            "m.new_content": "!ping",
        },
    ):
        await master.send_event(room, "m.room.message", content)
    await master.send_event(room, "m.reaction", {"m.relates_to": "👍"})
    probe = await master.say(room, "!ping after the odd ones")
    await master.wait_for(replies_to(probe, council.user_id("coordinator")))


async def test_ping_in_an_unencrypted_room(council: ThrowawayCouncil, master: Person) -> None:
    coordinator = council.user_id("coordinator")
    room = await master.create_room([coordinator], encrypted=False)
    await master.wait_member(room, coordinator)
    event = await master.say(room, "!ping")
    [reply] = await master.wait_for(replies_to(event, coordinator))
    assert reply.body.startswith("pong")


async def test_all_command_prefixes_work(council: ThrowawayCouncil, master: Person) -> None:
    coordinator = council.user_id("coordinator")
    for typed in ("/ping", "//ping", "!PING"):
        event = await master.say(council.council_room, typed)
        [reply] = await master.wait_for(replies_to(event, coordinator))
        assert reply.body.startswith("pong"), typed


@pytest.mark.backend
async def test_direct_chat_opened_from_element_is_joined_and_answered(
    council: ThrowawayCouncil, master: Person
) -> None:
    coordinator = council.user_id("coordinator")
    room = await master.create_room([coordinator], encrypted=True, direct=True)
    await master.wait_member(room, coordinator)
    event = await master.say(room, "!ping")
    [reply] = await master.wait_for(replies_to(event, coordinator))
    assert reply.body.startswith("pong")


@pytest.mark.backend
async def test_invites_from_strangers_are_refused(
    council: ThrowawayCouncil, master: Person, person_store
) -> None:
    await council.register_user("stranger", "stranger-pass")
    stranger = await Person.login(council.url, "@stranger:localhost", "stranger-pass", person_store)
    try:
        coordinator = council.user_id("coordinator")
        room = await stranger.create_room([coordinator], encrypted=False)
        with pytest.raises(TimeoutError):
            await stranger.wait_member(room, coordinator, timeout=4)
    finally:
        await stranger.close()


async def test_help_lists_fewer_commands_to_a_guest_than_to_the_master(
    council: ThrowawayCouncil, master: Person, person_store
) -> None:
    coordinator = council.user_id("coordinator")
    event = await master.say(council.council_room, "!help")
    [master_help] = await master.wait_for(replies_to(event, coordinator))

    await council.register_user("guest", "guest-pass")
    await master.client.room_invite(council.council_room, "@guest:localhost")
    guest = await Person.login(council.url, "@guest:localhost", "guest-pass", person_store)
    try:
        await guest.join(council.council_room)
        await guest.wait_member(council.council_room, "@guest:localhost")
        event = await guest.say(council.council_room, "!help")
        [guest_help] = await guest.wait_for(replies_to(event, coordinator))
        event = await guest.say(council.council_room, "!status")
        [refusal] = await guest.wait_for(replies_to(event, coordinator))
    finally:
        await guest.close()
    master_lines = master_help.body.count("•")
    guest_lines = guest_help.body.count("•")
    assert "!status" in master_help.body
    assert "!status" not in guest_help.body
    assert 0 < guest_lines < master_lines
    assert "power level 50" in refusal.body


@pytest.mark.backend
async def test_power_in_a_room_of_ones_own_is_no_power_over_the_council(
    council: ThrowawayCouncil, master: Person, person_store
) -> None:
    """A person who made a room has power 100 in it; the master invites the coordinator
    there. That person still may not run commands that need power in the council."""
    coordinator = council.user_id("coordinator")
    await council.register_user("host", "host-pass")
    host = await Person.login(council.url, "@host:localhost", "host-pass", person_store)
    try:
        room = await host.create_room([master.user_id], encrypted=False)
        await master.join(room)
        await master.client.room_invite(room, coordinator)
        await master.wait_member(room, coordinator)
        event = await host.say(room, "!status")
        [refusal] = await host.wait_for(replies_to(event, coordinator))
        whoami = await host.say(room, "!whoami")
        [answer] = await host.wait_for(replies_to(whoami, coordinator))
    finally:
        await host.close()
    assert "needs power level 50" in refusal.body
    assert "power level 0 in the council" in answer.body


async def test_status_lists_every_bot(council: ThrowawayCouncil, master: Person) -> None:
    event = await master.say(council.council_room, "!status")
    [reply] = await master.wait_for(replies_to(event, council.user_id("coordinator")))
    assert "reachable" in reply.body
    assert "Chavion (coordinator): online" in reply.body
    for account in council.settings.accounts:
        assert account.display_name in reply.body


async def test_unknown_command_gets_a_hint(council: ThrowawayCouncil, master: Person) -> None:
    event = await master.say(council.council_room, "!frobnicate now")
    [reply] = await master.wait_for(replies_to(event, council.user_id("coordinator")))
    assert "Unknown command !frobnicate" in reply.body
    assert "!help" in reply.body


async def test_two_bots_in_their_own_processes_both_answer(
    council: ThrowawayCouncil, master: Person
) -> None:
    executor, claude = council.bot_process("executor"), council.bot_process("claude")
    await asyncio.gather(executor.online(), claude.online())
    await master.sees_devices_of(council.user_id("executor"), council.user_id("claude"))
    try:
        event = await master.say(council.council_room, "everyone !ping")
        for name in ("executor", "claude", "coordinator"):
            [reply] = await master.wait_for(replies_to(event, council.user_id(name)))
            assert reply.body.startswith("pong")
    finally:
        assert await executor.stop() == 0
        assert await claude.stop() == 0


async def test_a_bot_restarted_answers_what_came_while_it_was_down_exactly_once(
    council: ThrowawayCouncil, master: Person
) -> None:
    gpt = council.user_id("gpt")
    first = council.bot_process("gpt")
    await first.online()
    await master.sees_devices_of(gpt)
    assert await first.stop() == 0

    event = await master.say(council.council_room, f"gpt !ping {secrets.token_hex(3)}")
    second = council.bot_process("gpt")
    await second.online()
    await master.wait_for(replies_to(event, gpt))
    assert await second.stop() == 0

    third = council.bot_process("gpt")
    await third.online()
    probe = await master.say(council.council_room, "gpt !ping again")
    await master.wait_for(replies_to(probe, gpt))
    assert await third.stop() == 0
    assert len(master.matching(replies_to(event, gpt))) == 1


async def test_messages_from_before_a_bot_first_started_are_never_answered(
    council: ThrowawayCouncil, master: Person
) -> None:
    local = council.user_id("local")
    called = council.settings.account("local").display_name
    old = await master.say(council.council_room, f"{called} !ping (sent before it ever ran)")
    bot = council.bot_process("local")
    await bot.online()
    await master.sees_devices_of(local)
    try:
        new = await master.say(council.council_room, f"{called} !ping")
        await master.wait_for(replies_to(new, local))
        assert master.matching(replies_to(old, local)) == []
    finally:
        assert await bot.stop() == 0


@pytest.mark.backend
async def test_provisioning_again_changes_nothing(council: ThrowawayCouncil) -> None:
    before = {p.name: p.read_bytes() for p in council.data.accounts.iterdir()}
    again = await ThrowawayCouncil.provision_with(council.settings, council.secret)
    after = {p.name: p.read_bytes() for p in council.data.accounts.iterdir()}
    assert again.changes == ()
    assert again.council == council.provisioned.council
    assert after == before
    council_file = read_json(council.data.council_file)
    assert council_file == {"room_id": council.council_room, "alias": "#council:localhost"}


async def test_credentials_are_private(council: ThrowawayCouncil) -> None:
    for path in [*council.data.accounts.iterdir(), *council.data.secrets.iterdir()]:
        assert path.stat().st_mode & 0o077 == 0, path
    assert json.loads(next(council.data.accounts.iterdir()).read_text())["password"]


async def test_in_process_bots_stop_cleanly(council: ThrowawayCouncil) -> None:
    bots = await InProcessBots.start(council.settings, ["executor"])
    await bots.stop()
    assert bots.task.exception() is None
