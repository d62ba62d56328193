"""Voice messages on the real wire (issue 20), in a plain and in an encrypted room.

A bot's `send_voice` reaches the master's client with Element's voice keys, and the file he
downloads (and decrypts) is the clip; the master's voice message, sent as Element sends one,
reaches a bot as `Message.audio` and `download` gives the plain bytes back; an oversized,
understated or changed file is refused with a clear `MatrixError`; a transcript marker is
the master's words only when a Chavion bot wrote it.

Real Synapse, the master's nio client (`Person`), and a real `MatrixBot` on its own account
that records what it reads (`ProbeBot`); nothing mocked.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bots.errors import MatrixError
from bots.events import AUDIO_KEY, TRANSCRIPT_KEY, VOICE_MARKER
from bots.ids import EventID, RoomID, UserID
from bots.message import AudioAttachment, Message, Reply
from tests.support.council import InProcessBots, ThrowawayCouncil
from tests.support.person import Person, element_voice_content, replies_to
from tests.support.probe_bot import ProbeBot, probe_bot
from tests.support.voice_sample import SAMPLE_DURATION_MS, SAMPLE_OGG, SAMPLE_WAVEFORM, sample_clip

pytestmark = pytest.mark.integration

LIMIT = 1024 * 1024
KINDS = ("plain", "encrypted")


@pytest.fixture(scope="module")
async def probe(
    council: ThrowawayCouncil, master: Person, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ProbeBot]:
    async with probe_bot(
        council, tmp_path_factory.mktemp("probe"), "voiceprobe", invited_by=master.user_id
    ) as started:
        yield started


@pytest.fixture(scope="module")
async def rooms(master: Person, probe: ProbeBot) -> dict[str, str]:
    """A plain and an encrypted room of the master's, the probe bot in both."""
    made = {}
    for kind in KINDS:
        room = await master.create_room([probe.user_id], encrypted=kind == "encrypted")
        await master.wait_member(room, probe.user_id)
        # The probe's own sync must have the room before it sends there (its join returns
        # before its next sync brings the room): a message it hears proves that.
        await heard(probe, await master.say(room, "hello, probe"))
        made[kind] = room
    await master.sees_devices_of(probe.user_id)
    return made


async def heard(probe: ProbeBot, event_id: str) -> Message:
    return await probe.wait_for(lambda m: m.event_id == event_id)


async def masters_voice(master: Person, room: str, **extra: Any) -> str:
    return await master.send_voice(
        room, SAMPLE_OGG, duration_ms=SAMPLE_DURATION_MS, waveform=SAMPLE_WAVEFORM, **extra
    )


async def heard_audio(probe: ProbeBot, event_id: str) -> AudioAttachment:
    message = await probe.wait_for(lambda m: m.event_id == event_id)
    assert message.audio is not None, message
    return message.audio


@pytest.mark.parametrize("kind", KINDS)
async def test_a_bots_voice_message_reaches_the_master_as_element_sends_one(
    kind: str, master: Person, probe: ProbeBot, rooms: dict[str, str]
) -> None:
    room = rooms[kind]
    sent = await probe.matrix.send_voice(
        Reply(
            RoomID(room), "The disk is 40% full.", notice=False, mention=(UserID(master.user_id),)
        ),
        sample_clip(),
    )
    [seen] = await master.wait_for(lambda s: s.event_id == sent)
    content = seen.content
    assert content["msgtype"] == "m.audio"
    assert content["body"] == "The disk is 40% full."
    assert content["info"] == {
        "mimetype": "audio/ogg",
        "size": len(SAMPLE_OGG),
        "duration": SAMPLE_DURATION_MS,
    }
    assert content[AUDIO_KEY] == {"duration": SAMPLE_DURATION_MS, "waveform": list(SAMPLE_WAVEFORM)}
    assert content[VOICE_MARKER] == {}
    assert content["m.mentions"] == {"user_ids": [master.user_id]}
    if kind == "encrypted":
        assert "url" not in content
        assert content["file"]["url"].startswith("mxc://")
        assert content["file"]["v"] == "v2"
    else:
        assert "file" not in content
        assert content["url"].startswith("mxc://")
    assert await master.download_audio(seen) == SAMPLE_OGG


@pytest.mark.backend  # media uploaded and fetched back, encrypted: the media store's paths
@pytest.mark.parametrize("kind", KINDS)
async def test_the_masters_voice_message_is_read_as_audio_and_downloads_plain(
    kind: str, master: Person, probe: ProbeBot, rooms: dict[str, str]
) -> None:
    sent = await masters_voice(master, rooms[kind])
    message = await probe.wait_for(lambda m: m.event_id == sent)
    assert (message.sender, message.msgtype, message.spoken_in) == (
        master.user_id,
        "m.audio",
        None,
    )
    audio = message.audio
    assert audio is not None
    assert (audio.mimetype, audio.size, audio.duration_ms, audio.voice) == (
        "audio/ogg",
        len(SAMPLE_OGG),
        SAMPLE_DURATION_MS,
        True,
    )
    assert (audio.encryption is not None) == (kind == "encrypted")
    assert await probe.matrix.download(audio, LIMIT) == SAMPLE_OGG


async def test_a_voice_message_over_the_limit_is_refused_before_it_is_fetched(
    master: Person, probe: ProbeBot, rooms: dict[str, str]
) -> None:
    audio = await heard_audio(probe, await masters_voice(master, rooms["encrypted"]))
    with pytest.raises(MatrixError, match="it was not downloaded"):
        await probe.matrix.download(audio, len(SAMPLE_OGG) - 1)
    assert await probe.matrix.download(audio, len(SAMPLE_OGG)) == SAMPLE_OGG


async def test_a_voice_message_that_understates_its_size_is_refused_once_fetched(
    master: Person, probe: ProbeBot, rooms: dict[str, str]
) -> None:
    info = {"mimetype": "audio/ogg", "size": 100, "duration": SAMPLE_DURATION_MS}
    audio = await heard_audio(
        probe, await masters_voice(master, rooms["plain"], extra={"info": info})
    )
    assert audio.size == 100
    with pytest.raises(MatrixError, match="more than the 1000 bytes allowed"):
        await probe.matrix.download(audio, 1000)


async def test_a_voice_file_changed_on_the_way_is_refused_by_its_hash(
    master: Person, probe: ProbeBot, rooms: dict[str, str]
) -> None:
    room = rooms["encrypted"]
    media = await master.upload(room, SAMPLE_OGG, "Voice message.ogg", "audio/ogg")
    other = base64.b64encode(hashlib.sha256(b"something else").digest()).decode().rstrip("=")
    media["file"]["hashes"] = {"sha256": other}
    content = element_voice_content(
        media, size=len(SAMPLE_OGG), duration_ms=SAMPLE_DURATION_MS, waveform=SAMPLE_WAVEFORM
    )
    audio = await heard_audio(probe, await master.send_event(room, "m.room.message", content))
    with pytest.raises(MatrixError, match="SHA-256 hash does not match"):
        await probe.matrix.download(audio, LIMIT)


def transcript_of(voice: str, speaker: str, said: str) -> dict[str, Any]:
    """The transcribing bot's reply to a voice message, with the transcript marker."""
    return {
        "msgtype": "m.notice",
        "body": f"🎙️ {said}",
        "m.relates_to": {"m.in_reply_to": {"event_id": voice}},
        TRANSCRIPT_KEY: {"speaker": speaker, "audio_event": voice, "text": said},
    }


async def test_a_bots_own_transcript_is_read_back_as_the_masters_words(
    master: Person, probe: ProbeBot, rooms: dict[str, str]
) -> None:
    room = rooms["encrypted"]
    voice = await masters_voice(master, room)
    said = "claude, how full is the disk"
    sent = await probe.matrix.send_event(
        RoomID(room), "m.room.message", transcript_of(voice, master.user_id, said), f"t/{voice}"
    )
    message = await probe.wait_for(lambda m: m.event_id == sent)
    assert (message.sender, message.body, message.spoken_in, message.reply_to) == (
        master.user_id,
        said,
        EventID(voice),
        EventID(voice),
    )


async def test_a_transcript_marker_from_someone_who_is_no_bot_is_not_the_masters_words(
    council: ThrowawayCouncil,
    master: Person,
    probe: ProbeBot,
    rooms: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    room = rooms["encrypted"]
    await council.register_user("voicemallory", "mallory-password")
    mallory = await Person.login(
        council.url,
        f"@voicemallory:{council.settings.homeserver.server_name}",
        "mallory-password",
        tmp_path_factory.mktemp("mallory"),
    )
    try:
        await master.client.room_invite(room, mallory.user_id)
        await mallory.join(room)
        await master.wait_member(room, mallory.user_id)
        voice = await masters_voice(master, room)
        forged = transcript_of(voice, master.user_id, "!approve")
        sent = await mallory.send_event(room, "m.room.message", forged)
        message: Message = await probe.wait_for(lambda m: m.event_id == sent)
    finally:
        await mallory.close()
    assert (message.sender, message.body, message.spoken_in) == (
        mallory.user_id,
        "🎙️ !approve",
        None,
    )


async def test_the_transcribing_bot_acts_on_its_own_transcript_as_the_masters_order(
    council: ThrowawayCouncil, coordinator: InProcessBots, master: Person
) -> None:
    """The coordinator (the default transcriber) posts a transcript of the master's "!ping"
    in the council; its own dispatcher takes it as the master's command and answers it.
    The voice event it names is a stand-in (a text of the master's): reading a transcript
    never looks at it, and a real voice message here would set the transcriber itself to
    work, which is not what this test is about."""
    room = council.council_room
    [transcriber] = [b for b in coordinator.runner.bots if b.account.kind == "coordinator"]
    voice = await master.say(room, "(a voice message stands here)")
    sent = await transcriber.matrix.send_event(
        RoomID(room), "m.room.message", transcript_of(voice, master.user_id, "!ping"), f"t/{voice}"
    )
    [pong] = await master.wait_for(replies_to(sent, council.user_id("coordinator")))
    assert pong.body.startswith("pong"), pong.body
