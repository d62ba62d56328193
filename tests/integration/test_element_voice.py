"""Voice messages between a bot and the Element stack itself (issue 20): matrix-js-sdk with its
Rust crypto, as Element Web runs it, excluding insecure devices (MSC4153), in an encrypted room.

A bot's voice message arrives decrypted, with no shield, as a voice message Element draws
(m.audio, the voice marker, the duration and waveform) whose file decrypts, by Element's own
check of the hash, to the clip; a voice message Element records reaches the bot as
`Message.audio` and downloads to the same bytes. The bot is a real `MatrixBot` on its own
cross-signed account (`ProbeBot`); nothing mocked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bots.events import AUDIO_KEY, VOICE_MARKER
from bots.ids import RoomID, UserID
from bots.message import Reply
from tests.support.council import ThrowawayCouncil
from tests.support.element import ElementClient
from tests.support.person import Person
from tests.support.probe_bot import ProbeBot, probe_bot
from tests.support.voice_sample import SAMPLE_DURATION_MS, SAMPLE_OGG, SAMPLE_WAVEFORM, sample_clip

pytestmark = pytest.mark.integration

LIMIT = 1024 * 1024


@pytest.fixture(scope="module")
async def element(
    council: ThrowawayCouncil, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ElementClient]:
    """The master's Element session, excluding insecure devices, as Element makes mandatory."""
    client = await ElementClient.start(tmp_path_factory.mktemp("element-voice"))
    master = council.provisioned.master
    try:
        await client.login(council.url, master.user_id, master.password)
        await client.isolation("only_signed")
        yield client
    finally:
        await client.close()


@pytest.fixture(scope="module")
async def probe(
    council: ThrowawayCouncil,
    master: Person,
    element: ElementClient,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[ProbeBot]:
    """Started once the master's Element device exists: it is in the bot's first key query."""
    async with probe_bot(
        council, tmp_path_factory.mktemp("element-probe"), "elementprobe", invited_by=master.user_id
    ) as started:
        yield started


@pytest.fixture(scope="module")
async def room(master: Person, element: ElementClient, probe: ProbeBot) -> str:
    """An encrypted room of the master's with the bot in it, seen by his Element session."""
    made = await master.create_room([probe.user_id], encrypted=True)
    await master.wait_member(made, probe.user_id)
    await element.wait_for(
        lambda e: e.room_id == made and e.type == "m.room.member" and e.state_key == probe.user_id
    )
    # The bot's own sync must have the room too before it sends there (its join returns
    # before its next sync brings the room): a message it hears proves that.
    hello = await master.say(made, "hello, probe")
    await probe.wait_for(lambda m: m.event_id == hello)
    devices = await element.devices(probe.user_id)
    assert devices, "Element sees no device of the bot"
    assert all(d["signed_by_owner"] for d in devices), devices
    return made


async def test_a_bots_voice_message_plays_in_element_decrypted_with_no_shield(
    master: Person, element: ElementClient, probe: ProbeBot, room: str
) -> None:
    sent = await probe.matrix.send_voice(
        Reply(
            RoomID(room), "The disk is 40% full.", notice=False, mention=(UserID(master.user_id),)
        ),
        sample_clip(),
    )
    [shown] = await element.wait_for(lambda e: e.event_id == sent and e.failure is None)
    assert shown.encrypted
    assert shown.type == "m.room.message"
    content = shown.content
    assert content["msgtype"] == "m.audio"
    assert content[VOICE_MARKER] == {}
    assert content["info"]["mimetype"] == "audio/ogg"
    assert content["info"]["duration"] == SAMPLE_DURATION_MS
    assert content[AUDIO_KEY] == {"duration": SAMPLE_DURATION_MS, "waveform": list(SAMPLE_WAVEFORM)}
    shield = (await element.shields([sent]))[sent]
    assert shield is not None  # None: not encrypted, or not decrypted
    assert not shield.warns, shield
    assert await element.download(shown) == SAMPLE_OGG


async def test_a_voice_message_recorded_in_element_is_read_by_the_bot_as_audio(
    element: ElementClient, probe: ProbeBot, room: str
) -> None:
    sent = await element.send_voice(
        room, SAMPLE_OGG, duration_ms=SAMPLE_DURATION_MS, waveform=SAMPLE_WAVEFORM
    )
    message = await probe.wait_for(lambda m: m.event_id == sent)
    assert (message.sender, message.msgtype, message.body) == (
        element.user_id,
        "m.audio",
        "Voice message",
    )
    audio = message.audio
    assert audio is not None
    assert (audio.mimetype, audio.size, audio.duration_ms, audio.voice) == (
        "audio/ogg",
        len(SAMPLE_OGG),
        SAMPLE_DURATION_MS,
        True,
    )
    assert audio.encryption is not None
    assert await probe.matrix.download(audio, LIMIT) == SAMPLE_OGG
