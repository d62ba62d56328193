"""Speaking a sent text: short ones as they are, long ones by one summary (trimmed when that
fails), in the background, replying in the same thread; a failure said once, never raised."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from bots.context import BotContext
from bots.ids import EventID, RoomID
from bots.message import Reply
from bots.settings.loading import load_settings
from bots.store import Store
from bots.voice.services import SpeechServices
from bots.voice.speaking import Speaker, Utterance
from bots.voice.speech_text import CUT_WORDS
from bridge.errors import SpeechError
from bridge.speech import VoiceClip

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "chavion.example.yaml"
ROOM = RoomID("!council:hs")
CLIP = VoiceClip(b"OggS", 1500, (0, 512, 1024) * 10)


@dataclass
class FakeTTS:
    fails: bool = False
    said: list[tuple[str, str | None]] = field(default_factory=list)

    async def synthesize(self, text: str, language: str | None) -> VoiceClip:
        if self.fails:
            raise SpeechError("the speech service is down")
        self.said.append((text, language))
        return CLIP


@dataclass
class FakeMatrix:
    voices: list[tuple[Reply, VoiceClip]] = field(default_factory=list)
    texts: list[Reply] = field(default_factory=list)

    async def send_voice(self, reply: Reply, clip: VoiceClip) -> EventID:
        self.voices.append((reply, clip))
        return EventID(f"$voice{len(self.voices)}")

    async def send(self, reply: Reply) -> EventID:
        self.texts.append(reply)
        return EventID(f"$text{len(self.texts)}")


def speaker(store: Any, tts: FakeTTS | None, **voice: Any) -> tuple[Speaker, FakeMatrix]:
    settings = load_settings(EXAMPLE_CONFIG)
    settings = replace(settings, voice=replace(settings.voice, language="ko", **voice))
    matrix = FakeMatrix()
    bot = SimpleNamespace(
        settings=settings, store=store, matrix=matrix, account=SimpleNamespace(name="claude")
    )
    services = SpeechServices(None, tts, "off", None if tts else "off")
    return Speaker(cast(BotContext, bot), services), matrix


def utterance(text: str, **more: Any) -> Utterance:
    return Utterance(ROOM, text, EventID("$report"), EventID("$root"), key="report/1", **more)


async def test_a_short_text_is_spoken_as_it_is_in_the_same_thread() -> None:
    tts = FakeTTS()
    voice, matrix = speaker(None, tts)
    event = await voice.speak(utterance("**#12 ✅ 완료.** 디스크 40%"))
    assert event == "$voice1"
    assert tts.said == [("#12 ✅ 완료. 디스크 40%", "ko")]
    reply, clip = matrix.voices[0]
    assert (reply.room_id, reply.thread_root, reply.reply_to) == (ROOM, "$root", "$report")
    assert reply.body == "🔊 #12 ✅ 완료. 디스크 40%"
    assert reply.key == "voice/report/1"
    assert clip == CLIP


async def test_a_long_text_is_summarised_by_one_call_and_the_summary_spoken() -> None:
    tts = FakeTTS()
    voice, _ = speaker(None, tts, speech_chars=40)
    calls: list[str] = []

    async def summarise(text: str) -> str:
        calls.append(text)
        return "요약: 디스크 점검이 끝났습니다."

    await voice.speak(utterance("긴 보고서입니다. " * 20, summarise=summarise))
    assert len(calls) == 1
    assert tts.said == [("디스크 점검이 끝났습니다.", "ko")]


@pytest.mark.parametrize("answer", ["", "boom"], ids=["empty summary", "failed call"])
async def test_a_failed_summary_falls_back_to_the_trimmed_text_said_as_cut(answer: str) -> None:
    tts = FakeTTS()
    voice, _ = speaker(None, tts, speech_chars=40)

    async def summarise(text: str) -> str:
        if answer == "boom":
            raise RuntimeError("the model is down")
        return answer

    await voice.speak(utterance("긴 보고서입니다. " * 20, summarise=summarise))
    said = tts.said[0][0]
    assert said.startswith("긴 보고서입니다.")
    assert said.endswith(CUT_WORDS["ko"])


async def test_a_speech_failure_is_said_once_per_room_and_never_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    voice, matrix = speaker(None, FakeTTS(fails=True))
    assert await voice.speak(utterance("보고서")) is None
    assert await voice.speak(replace(utterance("보고서"), key="report/2")) is None
    assert [r.body for r in matrix.texts] == ["🔇 Could not speak this: the speech service is down"]
    assert matrix.voices == []
    assert "the speech service is down" in caplog.text


async def test_it_speaks_in_the_background_only_where_voice_is_on(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "c.db") as store:
        voice, matrix = speaker(store, FakeTTS())
        assert await voice.speaks(ROOM, "claude")
        await store.voice.set_pref(ROOM, "claude", False, by="@master:hs", now=1.0)
        assert not await voice.speaks(ROOM, "claude")
        assert await voice.speaks(ROOM)
        done: list[EventID] = []

        async def after(event: EventID) -> None:
            done.append(event)

        voice.later(utterance("보고서"), after)
        assert matrix.voices == []  # not yet: the caller goes on first
        assert await voice.work.settle(5)
        assert done == ["$voice1"]
        silent, _ = speaker(store, None)
        assert not await silent.speaks(ROOM)
