"""An agent's voice: it speaks the coordinator's report of a task it led (once the report is
in the room), and with `voice.answers` its own answer to a voice question once its final
answer comes back from the homeserver; a long text is shortened by one call of its model."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from bots.agents.agent import Agent
from bots.context import BotContext
from bots.ids import EventID, RoomID, UserID
from bots.message import Message, Reply
from bots.routing.addressing import Identity, Roster
from bots.routing.router import Chat
from bots.settings.loading import load_settings
from bots.voice.agent_voice import AgentVoice
from bots.voice.services import SpeechServices
from bots.voice.speaking import Speaker
from bridge.llm.base import ChatMessage, Completion, Usage
from bridge.speech import VoiceClip

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "chavion.example.yaml"
ROOM = RoomID("!council:hs")
COORD = UserID("@coordinator:hs")
ME = UserID("@claude:hs")
MASTER = UserID("@master:hs")
CLIP = VoiceClip(b"OggS", 1000, (0, 512) * 20)


@dataclass
class Recorder:
    said: list[str] = field(default_factory=list)
    voices: list[Reply] = field(default_factory=list)
    calls: list[list[ChatMessage]] = field(default_factory=list)

    async def synthesize(self, text: str, language: str | None) -> VoiceClip:
        self.said.append(text)
        return CLIP

    async def send_voice(self, reply: Reply, clip: VoiceClip) -> EventID:
        self.voices.append(reply)
        return EventID(f"$v{len(self.voices)}")

    async def speaks(self, room_id: str, agent: str, default: bool) -> bool:
        return default

    async def complete(self, conversation: list[ChatMessage], **_: Any) -> tuple[Completion, float]:
        self.calls.append(conversation)
        return Completion("요약: 짧게 말합니다.", Usage(), "m"), 0.0

    def persona(self, bot: BotContext, language_hint: str) -> str:
        return "You are Claude."


def setup(**voice: Any) -> tuple[AgentVoice, BotContext, Recorder]:
    settings = load_settings(EXAMPLE_CONFIG)
    settings = replace(settings, voice=replace(settings.voice, **voice))
    rec = Recorder()
    roster = Roster((Identity(COORD, "Coordinator", kind="coordinator"), Identity(ME, "Claude")))
    bot = cast(
        BotContext,
        SimpleNamespace(
            settings=settings,
            store=SimpleNamespace(voice=rec),
            matrix=rec,
            account=SimpleNamespace(name="claude"),
            roster=roster,
            identity=roster.get(ME),
        ),
    )
    agent = SimpleNamespace(
        agent=SimpleNamespace(name="claude"), complete=rec.complete, persona=rec.persona
    )
    speaker = Speaker(bot, SpeechServices(None, rec, "off", None))
    return AgentVoice(cast(Agent, agent), speaker), bot, rec


def report(body: str = "#7 ✅ Done. Disk 40%.", **council: Any) -> Message:
    content = {"v": 1, "kind": "report", "task": 7, "state": "completed", "speaker": "claude"}
    content.update(council)
    return Message(
        ROOM, EventID("$report"), COORD, body, thread_root=EventID("$root"), council=content
    )


async def spoken(voice: AgentVoice) -> None:
    assert await voice.speaker.work.settle(5)


async def test_the_agent_that_led_the_task_speaks_its_report_in_the_thread() -> None:
    voice, bot, rec = setup()
    assert await voice.on_task_message(report(), bot) == []
    await spoken(voice)
    assert rec.said == ["#7 ✅ Done. Disk 40%."]
    assert rec.voices[0].reply_to == "$report"
    assert rec.voices[0].thread_root == "$root"
    assert rec.calls == []


@pytest.mark.parametrize(
    ("message", "voice_settings"),
    [
        (report(speaker="gpt"), {}),
        (report(kind="plan"), {}),
        (replace(report(), sender=MASTER), {}),
        (report(), {"reports": False}),
        (report(), {"speak_by_default": False}),
    ],
    ids=[
        "another agent led it",
        "not a report",
        "not from the coordinator",
        "reports off",
        "voice off",
    ],
)
async def test_no_one_else_speaks_it_and_not_when_off(
    message: Message, voice_settings: dict[str, Any]
) -> None:
    voice, bot, rec = setup(**voice_settings)
    await voice.on_task_message(message, bot)
    await spoken(voice)
    assert rec.voices == []


async def test_a_long_report_is_retold_in_one_call_of_the_agents_model() -> None:
    voice, bot, rec = setup(speech_chars=50, language="ko")
    await voice.on_task_message(report("긴 보고서입니다. " * 30), bot)
    await spoken(voice)
    assert len(rec.calls) == 1
    system, user = rec.calls[0]
    assert (system.role, user.role) == ("system", "user")
    assert "in Korean" in user.content
    assert "긴 보고서입니다." in user.content
    assert rec.said == ["짧게 말합니다."]


async def answered(voice: AgentVoice, bot: BotContext, question: Message) -> None:
    async def chat(message: Message, route: Chat, bot: BotContext) -> list[Reply]:
        return []

    await voice.chat(chat)(question, Chat(question.body, broadcast=False), bot)


async def test_an_answer_to_a_voice_question_is_spoken_once_its_final_text_is_back() -> None:
    voice, bot, rec = setup(answers=True)
    question = Message(ROOM, EventID("$q"), MASTER, "클로드, 디스크는?", spoken_in=EventID("$v"))
    await answered(voice, bot, question)
    mine = Message(ROOM, EventID("$a"), ME, "40% 찼습니다.", reply_to=EventID("$q"))
    await voice.observe(replace(mine, stream="partial"), bot)
    await spoken(voice)
    assert rec.voices == []
    await voice.observe(replace(mine, stream="done"), bot)
    await voice.observe(replace(mine, stream="done"), bot)  # seen again: spoken once
    await spoken(voice)
    assert rec.said == ["40% 찼습니다."]
    assert rec.voices[0].reply_to == "$a"


@pytest.mark.parametrize(
    ("answers", "spoken_in"), [(False, EventID("$v")), (True, None)], ids=["answers off", "typed"]
)
async def test_no_voice_for_a_typed_question_or_with_answers_off(
    answers: bool, spoken_in: EventID | None
) -> None:
    voice, bot, rec = setup(answers=answers)
    question = Message(ROOM, EventID("$q"), MASTER, "클로드, 디스크는?", spoken_in=spoken_in)
    await answered(voice, bot, question)
    await voice.observe(Message(ROOM, EventID("$a"), ME, "40%", reply_to=EventID("$q")), bot)
    await spoken(voice)
    assert rec.voices == []
