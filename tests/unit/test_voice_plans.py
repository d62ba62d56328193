"""The coordinator's voice on plans, on the task engine's bench: a waiting plan is read out
once per digest; the master's spoken "승인" approves the one plan waiting, only the plan read
out; a changed or unread plan is refused and read out (again); "거절" denies with the reason;
none or several waiting are said; only the master's transcripts count, once each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from bots.execution.spoken_verdicts import SPOKEN_VERDICT_KIND
from bots.ids import EventID, UserID
from bots.message import Message, Reply
from bots.voice.plan_voice import Heard, PlanVoice, spoken_verdict
from bots.voice.services import SpeechServices
from bots.voice.speaking import Speaker
from bridge.speech import VoiceClip
from tests.support.task_engine import MASTER, ROOM, WRITING_PLAN, Bench, open_bench

CLIP = VoiceClip(b"OggS", 1000, (0, 512) * 20)


@dataclass
class TTS:
    said: list[str]

    async def synthesize(self, text: str, language: str | None) -> VoiceClip:
        self.said.append(text)
        return CLIP


@dataclass
class Voice:
    bench: Bench
    plans: PlanVoice
    said: list[str]


@pytest.fixture
async def voice(tmp_path: Path) -> AsyncIterator[Voice]:
    bench = await open_bench(tmp_path)
    said: list[str] = []
    speaker = Speaker(bench.bot, SpeechServices(None, TTS(said), "off", None))
    plans = PlanVoice(bench.service, speaker, spoken_verdict)
    bench.service.ctx.plan_waits = plans.plan_waits
    yield Voice(bench, plans, said)
    await speaker.work.settle(5)
    await bench.store.close()


def transcript(words: str, sender: UserID = MASTER, n: int = 1) -> Message:
    return Message(ROOM, EventID(f"$transcript{n}"), sender, words, spoken_in=EventID(f"$voice{n}"))


async def hear(voice: Voice, words: str, sender: UserID = MASTER, n: int = 1) -> list[Reply]:
    replies = await voice.plans.observe(transcript(words, sender, n), voice.bench.bot)
    await voice.plans.speaker.work.settle(5)
    return replies


async def readouts(voice: Voice) -> list[str]:
    await voice.plans.speaker.work.settle(5)
    return [s.body for s in voice.bench.matrix.sent if s.kind == "voice"]


@pytest.mark.parametrize(
    ("words", "heard"),
    [
        ("승인", Heard("approve")),
        ("음, 승인합니다.", Heard("approve")),
        ("Approve!", Heard("approve")),
        ("거절, 너무 위험해", Heard("deny", "너무 위험해")),
        ("클로드, 승인 절차가 뭐야?", None),
        ("일번", None),
    ],
    ids=["승인", "filler", "english", "denial with reason", "a question", "a vote"],
)
def test_what_counts_as_a_spoken_verdict(voice: Voice, words: str, heard: Heard | None) -> None:
    assert spoken_verdict(words, voice.bench.settings.voice) == heard


async def test_a_waiting_plan_is_read_out_once_after_it_is_shown(voice: Voice) -> None:
    plan = await voice.bench.to_approval(WRITING_PLAN)
    await voice.bench.service.tick()
    await voice.bench.service.drive(1)
    spoken = await readouts(voice)
    assert len(spoken) == 1
    assert voice.said[0].startswith("1번 작업의 계획입니다. 단계 1개.")
    assert "local에서: mark." in voice.said[0]
    sent = next(s for s in voice.bench.matrix.sent if s.kind == "voice")
    assert sent.reply is not None
    assert sent.reply.reply_to == plan.event_id
    task = await voice.bench.task()
    readout = await voice.bench.store.voice.last_readout(task.id)
    assert readout is not None
    assert readout.plan_digest == task.plan_digest


async def test_voice_off_reads_nothing_out(voice: Voice) -> None:
    await voice.bench.store.voice.set_pref(ROOM, "", False, by=MASTER, now=1.0)
    await voice.bench.to_approval(WRITING_PLAN)
    assert await readouts(voice) == []


async def test_the_masters_approval_of_the_plan_read_out_approves_it_by_a_verdict_event(
    voice: Voice,
) -> None:
    plan = await voice.bench.to_approval(WRITING_PLAN)
    await readouts(voice)
    [reply] = await hear(voice, "승인")
    task = await voice.bench.task()
    assert task.state == "running"
    assert task.approved_by == MASTER
    [verdict] = [s for s in voice.bench.matrix.sent if s.content.get("kind") == SPOKEN_VERDICT_KIND]
    assert task.approval_event == verdict.event_id
    assert verdict.content["plan_event"] == plan.event_id
    assert verdict.content["plan_digest"] == task.plan_digest
    assert verdict.content["audio_event"] == "$voice1"
    assert verdict.content["speaker"] == MASTER
    assert "✅" in reply.body
    assert await hear(voice, "승인") == []  # the same transcript again: once only


async def test_a_plan_never_read_out_is_refused_and_read_out(voice: Voice) -> None:
    await voice.bench.store.voice.set_pref(ROOM, "", False, by=MASTER, now=1.0)
    await voice.bench.to_approval(WRITING_PLAN)
    await voice.bench.store.voice.set_pref(ROOM, "", True, by=MASTER, now=2.0)
    [reply] = await hear(voice, "승인")
    assert "not approved: the plan was never read out" in reply.body
    assert (await voice.bench.task()).state == "awaiting_approval"
    assert len(await readouts(voice)) == 1
    [reply] = await hear(voice, "승인", n=2)
    assert (await voice.bench.task()).state == "running"


async def test_a_plan_changed_since_it_was_read_out_is_refused_and_read_again(
    voice: Voice,
) -> None:
    await voice.bench.to_approval(WRITING_PLAN)
    await readouts(voice)
    task = await voice.bench.task()
    await voice.bench.store.voice.record_readout(
        task.id, "another-digest", room_id=ROOM, event_id="$old", now=voice.bench.clock() + 5
    )
    voice.bench.clock.now += 10
    [reply] = await hear(voice, "승인")
    assert "changed since it was read out" in reply.body
    assert (await voice.bench.task()).state == "awaiting_approval"
    assert len(await readouts(voice)) == 2
    last = await voice.bench.store.voice.last_readout(task.id)
    assert last is not None
    assert last.plan_digest == task.plan_digest


async def test_a_spoken_denial_sends_the_plan_back_with_the_reason(voice: Voice) -> None:
    await voice.bench.to_approval(WRITING_PLAN)
    await hear(voice, "거절, 너무 위험해")
    task = await voice.bench.task()
    assert task.state == "planning"
    moves = await voice.bench.store.tasks.moves(task.id)
    assert moves[-1].reason.endswith("너무 위험해")


async def test_with_no_plan_waiting_it_is_said(voice: Voice) -> None:
    [reply] = await hear(voice, "승인")
    assert reply.body == "🎙️ No plan is waiting for your approval."


async def test_only_the_masters_words_count(voice: Voice) -> None:
    await voice.bench.to_approval(WRITING_PLAN)
    assert await hear(voice, "승인", sender=UserID("@eve:localhost")) == []
    typed = Message(ROOM, EventID("$typed"), MASTER, "승인")
    assert await voice.plans.observe(typed, voice.bench.bot) == []
    assert (await voice.bench.task()).state == "awaiting_approval"


async def test_spoken_approval_is_refused_when_another_bot_transcribes(voice: Voice) -> None:
    bench = voice.bench
    bench.bot.settings = replace(
        bench.settings, voice=replace(bench.settings.voice, transcriber="claude")
    )
    await bench.to_approval(WRITING_PLAN)
    await readouts(voice)
    [reply] = await hear(voice, "승인")
    assert "needs the coordinator to transcribe" in reply.body
    assert (await bench.task()).state == "awaiting_approval"
