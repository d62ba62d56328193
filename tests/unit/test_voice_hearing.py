"""The transcriber on the task engine's bench: the real store, a recording homeserver that
serves the voice message's bytes, and a speech-to-text that says what it is told to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from bots.errors import MatrixError
from bots.events import TRANSCRIPT_KEY
from bots.ids import EventID, RoomID
from bots.message import AudioAttachment, Message
from bots.voice.hearing import Hearing
from bridge.errors import SpeechError
from tests.support.task_engine import MASTER, ROOM, Bench, RecordingMatrix, open_bench
from tests.support.voice_sample import SAMPLE_OGG

AUDIO = AudioAttachment("mxc://localhost/voice", "audio/ogg", 3427, 1500, voice=True)


class ServingMatrix(RecordingMatrix):
    """Serves the voice message's bytes (a real Ogg/Opus clip, or what a test puts in
    `data`); a stated size over the limit is refused."""

    data: bytes = SAMPLE_OGG

    async def download(self, audio: AudioAttachment, max_bytes: int) -> bytes:
        if audio.size > max_bytes:
            raise MatrixError(f"the file is {audio.size} bytes, more than the {max_bytes} allowed")
        return self.data


@dataclass
class Ears:
    """Speech-to-text that hears `said`, or fails with `error`; counts its calls."""

    said: str = "클로드, 디스크 상태 어때?"
    error: str | None = None
    calls: int = 0
    language: str | None = None

    async def transcribe(self, audio: bytes, mimetype: str, language: str | None) -> str:
        self.calls += 1
        self.language = language
        if self.error is not None:
            raise SpeechError(self.error)
        return self.said


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    found = await open_bench(tmp_path)
    found.matrix = ServingMatrix()
    found.bot.matrix = found.matrix
    try:
        yield found
    finally:
        await found.store.close()


def voice(n: int = 1, audio: AudioAttachment | None = AUDIO, **changes: object) -> Message:
    message = Message(
        room_id=ROOM,
        event_id=EventID(f"$voice{n}"),
        sender=MASTER,
        body="Voice message",
        msgtype="m.audio",
        audio=audio,
        sender_power=100,
    )
    return replace(message, **changes)  # type: ignore[arg-type]


def transcripts(bench: Bench) -> list[dict[str, object]]:
    return [s.content for s in bench.matrix.sent if TRANSCRIPT_KEY in s.content]


async def test_a_voice_message_is_posted_once_as_what_he_said(bench: Bench) -> None:
    ears = Ears()
    hearing = Hearing(bench.bot, ears, None)
    assert hearing.wants(voice())
    assert await hearing.hear(voice()) == []
    [content] = transcripts(bench)
    assert content["body"] == "🎙️ 클로드, 디스크 상태 어때?"
    assert content["msgtype"] == "m.notice"
    assert content["m.mentions"] == {}
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": "$voice1"}}
    assert content[TRANSCRIPT_KEY] == {
        "speaker": MASTER,
        "audio_event": "$voice1",
        "text": "클로드, 디스크 상태 어때?",
    }
    assert ears.language == "ko"
    assert await hearing.hear(voice()) == []  # seen again (a restart's catch-up): not heard
    assert ears.calls == 1
    assert len(transcripts(bench)) == 1


async def test_a_spoken_task_is_posted_as_the_typed_command(bench: Bench) -> None:
    await Hearing(bench.bot, Ears("차비온 태스크, 디스크 확인해."), None).hear(voice())
    [content] = transcripts(bench)
    assert content[TRANSCRIPT_KEY]["text"] == "//chavion_task: 디스크 확인해"  # type: ignore[index]
    assert content["body"] == "🎙️ 차비온 태스크, 디스크 확인해."


async def test_a_spoken_letter_is_a_vote_only_where_a_vote_is_open(bench: Bench) -> None:
    async def open_here(room: RoomID, thread: EventID | None) -> bool:
        return thread is None

    async def none_open(room: RoomID, thread: EventID | None) -> bool:
        return False

    await Hearing(bench.bot, Ears("일번이요"), None, votes_open=open_here).hear(voice(1))
    await Hearing(bench.bot, Ears("일번이요"), None, votes_open=none_open).hear(voice(2))
    texts = [c[TRANSCRIPT_KEY]["text"] for c in transcripts(bench)]  # type: ignore[index]
    assert texts == ["!vote A", "일번이요"]


REFUSALS = [
    ("too long", voice(audio=replace(AUDIO, duration_ms=601_000)), Ears(), "at most 600 s"),
    ("too large", voice(audio=replace(AUDIO, size=30_000_000)), Ears(), "at most 20.0 MB"),
    ("undecodable", voice(), Ears(error="the audio could not be decoded"), "could not make out"),
    ("silence", voice(), Ears(said="  "), "heard no words"),
]


@pytest.mark.parametrize(
    ("message", "ears", "said"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
async def test_what_cannot_be_heard_is_said_clearly(
    bench: Bench, message: Message, ears: Ears, said: str
) -> None:
    [reply] = await Hearing(bench.bot, ears, None).hear(message)
    assert said in reply.body
    assert reply.reply_to == message.event_id
    assert transcripts(bench) == []


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"not audio at all", "does not start with an Ogg page"),
        (SAMPLE_OGG[:-40], "cut off"),
        (SAMPLE_OGG[:200] + b"x" + SAMPLE_OGG[201:], "damaged"),
    ],
    ids=["not ogg", "truncated", "damaged"],
)
async def test_a_corrupt_file_is_said_and_not_sent_to_speech_to_text(
    bench: Bench, data: bytes, said: str
) -> None:
    assert isinstance(bench.matrix, ServingMatrix)
    bench.matrix.data = data
    ears = Ears()
    [reply] = await Hearing(bench.bot, ears, None).hear(voice())
    assert said in reply.body
    assert "could not make out" in reply.body
    assert ears.calls == 0
    assert transcripts(bench) == []


async def test_the_length_the_stream_carries_counts_not_the_stated_one(bench: Bench) -> None:
    bench.bot.settings = replace(
        bench.bot.settings, voice=replace(bench.bot.settings.voice, max_seconds=1)
    )
    [reply] = await Hearing(bench.bot, Ears(), None).hear(
        voice(audio=replace(AUDIO, duration_ms=900))
    )
    assert "is 2 s long; I take at most 1 s" in reply.body


async def test_speech_to_text_off_says_why(bench: Bench) -> None:
    [reply] = await Hearing(bench.bot, None, "local speech-to-text needs faster-whisper").hear(
        voice()
    )
    assert reply.body == "local speech-to-text needs faster-whisper"
    [off] = await Hearing(bench.bot, None, None).hear(voice(2))
    assert "voice.stt.backend" in off.body


async def test_only_people_are_heard(bench: Bench) -> None:
    hearing = Hearing(bench.bot, Ears(), None)
    agent = bench.bot.settings.user_id(bench.bot.settings.account("claude"))
    assert not hearing.wants(voice(sender=agent))
    assert not hearing.wants(voice(audio=None))
    assert not hearing.wants(voice(replaces=EventID("$old")))


async def test_voice_with_one_plan_waiting_goes_to_its_thread(bench: Bench) -> None:
    await bench.to_approval()
    task = await bench.task()
    assert task.thread_root is not None
    await Hearing(bench.bot, Ears("좋아 보여"), None).hear(voice())
    [content] = transcripts(bench)
    relates = content["m.relates_to"]
    assert relates["rel_type"] == "m.thread"  # type: ignore[index]
    assert relates["event_id"] == task.thread_root  # type: ignore[index]
    assert relates["m.in_reply_to"] == {"event_id": "$voice1"}  # type: ignore[index]
    await Hearing(bench.bot, Ears("클로드야, 안녕"), None).hear(voice(2))
    assert "m.rel_type" not in transcripts(bench)[1]["m.relates_to"]  # type: ignore[operator]
    assert transcripts(bench)[1]["m.relates_to"] == {"m.in_reply_to": {"event_id": "$voice2"}}


async def test_a_voice_reply_to_a_task_message_goes_to_its_thread(bench: Bench) -> None:
    plan = await bench.to_approval()
    task = await bench.task()
    await Hearing(bench.bot, Ears("클로드야, 이거 안전해?"), None).hear(
        voice(reply_to=plan.event_id, reply_to_sender=bench.bot.identity.user_id)
    )
    [content] = transcripts(bench)
    assert content["m.relates_to"]["event_id"] == task.thread_root  # type: ignore[index]
    assert "mentions" not in content[TRANSCRIPT_KEY]  # type: ignore[operator]
    assert await bench.store.tasks.by_event(EventID("$unrelated")) is None


async def test_closing_closes_the_speech_to_text_client(bench: Bench) -> None:
    class ClosableEars(Ears):
        closed = False

        async def aclose(self) -> None:
            self.closed = True

    ears = ClosableEars()
    await Hearing(bench.bot, ears, None).aclose()
    assert ears.closed
    await Hearing(bench.bot, None, "off").aclose()  # nothing to close: no error
