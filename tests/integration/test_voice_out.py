"""The council speaks back (issue 20), end to end: a real Synapse, the task bots, the fake
LLM server answering chat, transcription and speech (`tts.backend: openai` pointed at it,
the WAV it answers encoded to Ogg/Opus here), the master's encrypted nio client.

- A task's report arrives as text, then as a voice message from the agent that led it,
  with Element's keys; the master's client downloads it: Ogg/Opus. The text is never later.
- `!voice off` silences it, `!voice on` brings it back.
- A plan waiting for the master is read out; his spoken "승인" (heard by the coordinator, the
  transcriber) approves it and the executor runs it, audited as his approval by voice.
- After the plan changed, "승인" is refused and the plan is read out again.
- With `tts.backend: local` (espeak-ng, when installed) the report is spoken too.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bots.events import AUDIO_KEY, TRANSCRIPT_KEY, VOICE_MARKER
from bots.execution.ledger import RequestLedger
from bots.execution.spoken_verdicts import SPOKEN_VERDICT_KIND
from bots.ids import RequestID
from bots.store import Store
from tests.fakes.llm_server import FakeLLMServer
from tests.support.council import InProcessBots, ThrowawayCouncil
from tests.support.council_script import CouncilScript, plan_json, step
from tests.support.person import Person, Seen
from tests.support.tasks import (
    KEY_ENV,
    TaskBots,
    TaskMaster,
    TaskRef,
    council_of,
    running_task_bots,
    task_config,
)
from tests.support.voice_sample import SAMPLE_DURATION_MS, SAMPLE_OGG, SAMPLE_WAVEFORM

pytestmark = pytest.mark.integration


def voice_config(path: Path, llm: FakeLLMServer, tts: str = "openai") -> Path:
    """The task config with voice: heard and spoken through the fake server (or espeak-ng)."""
    config: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["voice"] = {
        "language": "ko",
        "transcriber": "coordinator",
        "stt": {"backend": "openai", "base_url": llm.openai_base_url, "api_key_env": KEY_ENV},
        "tts": {"backend": tts, "base_url": llm.openai_base_url, "api_key_env": KEY_ENV},
        "speech_chars": 4000,
        "reports": True,
        "answers": True,
    }
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
async def bots(
    council: ThrowawayCouncil,
    coordinator: InProcessBots,
    master: Person,
    llm: FakeLLMServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[TaskBots]:
    path = tmp_path_factory.mktemp("voice-out") / "chavion.yaml"
    config = voice_config(task_config(council, llm, path), llm)
    async with running_task_bots(council, coordinator, master, config) as started:
        yield started


# ---- helpers -------------------------------------------------------------------------------


def marker(name: str) -> Path:
    """A file a plan's step makes: not read-only, so only an approval runs it."""
    return Path(tempfile.gettempdir()) / f"cvx-voice-{name}-{secrets.token_hex(4)}"


def is_voice(seen: Seen) -> bool:
    return seen.content.get("msgtype") == "m.audio" and VOICE_MARKER in seen.content


async def voice_answering(boss: TaskMaster, task: TaskRef, event_id: str, sender: str) -> Seen:
    """The voice message that replies to `event_id` in the task's thread."""
    return await boss.in_thread(
        task,
        lambda s: is_voice(s) and s.in_reply_to == event_id and s.sender == sender,
        what=f"a voice message answering {event_id}",
        timeout=60,
    )


def index_of(person: Person, event_id: str) -> int:
    return next(i for i, s in enumerate(person.seen) if s.event_id == event_id)


async def assert_element_voice(person: Person, voice: Seen) -> None:
    """Element's keys, and the file is Ogg/Opus as stated."""
    info = voice.content["info"]
    assert info["mimetype"].startswith("audio/ogg")
    assert info["duration"] > 0
    audio = voice.content[AUDIO_KEY]
    assert audio["duration"] == info["duration"]
    assert 30 <= len(audio["waveform"]) <= 120
    assert all(0 <= point <= 1024 for point in audio["waveform"])
    assert voice.body.startswith("🔊 ")
    data = await person.download_audio(voice)
    assert data.startswith(b"OggS")
    assert b"OpusHead" in data[:200]


async def run_to_report(boss: TaskMaster, mission: str) -> tuple[TaskRef, Seen]:
    task = await boss.order(f"//chavion_task: {mission}")
    plan = await boss.plan(task)
    await boss.react(plan.event_id, "✅")
    return task, await boss.report(task)


async def say_by_voice(boss: TaskMaster, llm: FakeLLMServer, task: TaskRef, words: str) -> str:
    """The master records `words` in the task's thread; the transcriber hears them."""
    llm.enqueue_transcript(words)
    return await boss.person.send_voice(
        boss.room,
        SAMPLE_OGG,
        duration_ms=SAMPLE_DURATION_MS,
        waveform=SAMPLE_WAVEFORM,
        thread_root=task.root,
    )


async def transcript_of(boss: TaskMaster, task: TaskRef, voice: str) -> Seen:
    return await boss.in_thread(
        task,
        lambda s: (
            s.sender == boss.coordinator
            and s.content.get(TRANSCRIPT_KEY, {}).get("audio_event") == voice
        ),
        what="the transcript",
    )


async def readouts(council: ThrowawayCouncil, task: TaskRef) -> str | None:
    async with await Store.open(council.data.store) as store:
        last = await store.voice.last_readout(task.id)
        return None if last is None else last.plan_digest


# ---- reports ---------------------------------------------------------------------------------


async def test_a_report_arrives_as_text_then_as_voice_and_voice_off_silences_it(
    boss: TaskMaster, script: CouncilScript, llm: FakeLLMServer
) -> None:
    await boss.command("!voice on")
    task, report = await run_to_report(boss, "report disk usage of local")
    speaker = boss.council.user_id(str(council_of(report)["speaker"]))
    voice = await voice_answering(boss, task, report.event_id, speaker)
    await assert_element_voice(boss.person, voice)
    assert voice.relates_to.get("event_id") == task.root  # in the task's thread
    assert index_of(boss.person, report.event_id) < index_of(boss.person, voice.event_id)
    spoken = [r.input for r in llm.speech_requests]
    assert any(f"#{task.id}" in text for text in spoken), spoken

    await boss.command("!voice off")
    quiet, quiet_report = await run_to_report(boss, "report disk usage of local again")
    line = await boss.wait(
        lambda s: s.sender == boss.coordinator and not s.relates_to,
        lambda s: s.body.startswith(f"#{quiet.id} "),
        what="the main-timeline line",
    )
    await boss.person.settle(3)
    assert not [s for s in boss.thread(quiet) if is_voice(s)], "spoke with voice off"
    assert line.event_id

    status = await boss.command("!voice")
    shown = await boss.wait(
        lambda s: s.in_reply_to == status, lambda s: "Voice is off" in s.body, what="!voice"
    )
    assert "set by !voice" in shown.body

    await boss.command("!voice on")
    back, back_report = await run_to_report(boss, "report disk usage of local once more")
    speaker = boss.council.user_id(str(council_of(back_report)["speaker"]))
    await voice_answering(boss, back, back_report.event_id, speaker)
    assert quiet_report.event_id


async def test_voice_on_and_off_is_the_masters_and_bad_words_get_an_example(
    boss: TaskMaster,
) -> None:
    asked = await boss.command("!voice loud")
    refusal = await boss.wait(
        lambda s: s.in_reply_to == asked, lambda s: s.sender == boss.coordinator, what="refusal"
    )
    assert "!voice off, !voice on claude" in refusal.body
    asked = await boss.command("!voice off nobody")
    refusal = await boss.wait(
        lambda s: s.in_reply_to == asked, lambda s: s.sender == boss.coordinator, what="refusal"
    )
    assert "No agent named 'nobody'" in refusal.body


async def test_an_answer_to_a_voice_question_comes_as_voice_too(
    council: ThrowawayCouncil, boss: TaskMaster, bots: TaskBots, llm: FakeLLMServer
) -> None:
    await boss.command("!voice on")
    llm.enqueue_transcript("Claude, how is the disk?")
    spoken = await boss.person.send_voice(
        boss.room, SAMPLE_OGG, duration_ms=SAMPLE_DURATION_MS, waveform=SAMPLE_WAVEFORM
    )
    heard = await boss.wait(
        lambda s: s.sender == boss.coordinator,
        lambda s: s.content.get(TRANSCRIPT_KEY, {}).get("audio_event") == spoken,
        what="the transcript",
    )
    claude = council.user_id("claude")
    answer = await boss.wait(
        lambda s: s.sender == claude and s.in_reply_to == heard.event_id,
        lambda s: "m.new_content" not in s.content,
        what="Claude's answer",
    )
    voice = await boss.wait(
        lambda s: s.sender == claude and s.in_reply_to == answer.event_id,
        is_voice,
        what="Claude's answer as voice",
    )
    await assert_element_voice(boss.person, voice)
    assert index_of(boss.person, answer.event_id) < index_of(boss.person, voice.event_id)


# ---- spoken approval -------------------------------------------------------------------------


async def test_a_plan_is_read_out_and_a_spoken_approval_runs_it(
    council: ThrowawayCouncil, boss: TaskMaster, script: CouncilScript, llm: FakeLLMServer
) -> None:
    made = marker("approved")
    script.set("plan", "*", plan_json(step("local", f"touch {made}", purpose="Leave a mark")))
    await boss.command("!voice on")
    task = await boss.order("//chavion_task: leave a mark on local")
    plan = await boss.plan(task)
    readout = await voice_answering(boss, task, plan.event_id, boss.coordinator)
    await assert_element_voice(boss.person, readout)
    assert index_of(boss.person, plan.event_id) < index_of(boss.person, readout.event_id)
    assert await readouts(council, task) == council_of(plan)["digest"]

    spoken = await say_by_voice(boss, llm, task, "승인.")
    await transcript_of(boss, task, spoken)
    verdict = await boss.in_thread(
        task,
        lambda s: council_of(s).get("kind") == SPOKEN_VERDICT_KIND,
        what="the spoken verdict",
    )
    assert council_of(verdict)["plan_event"] == plan.event_id
    assert council_of(verdict)["audio_event"] == spoken
    report = await boss.report(task)
    assert report.body.startswith(f"#{task.id} ✅ Done")
    assert made.exists()
    assert any("Leave a mark" in r.input for r in llm.speech_requests)  # read out
    assert not boss.person.matching(lambda s: "Approval needed" in s.body and made.name in s.body)
    audit = await RequestLedger.open(council.data.store)
    try:
        [approval] = [
            e for e in await audit.history(RequestID(f"t{task.id}-a1-s1")) if e.kind == "approval"
        ]
    finally:
        await audit.close()
    assert approval.actor == boss.person.user_id
    assert approval.event_id == verdict.event_id
    assert approval.detail["plan_event"] == plan.event_id


async def test_after_the_plan_changed_a_spoken_approval_is_refused_and_it_is_read_again(
    council: ThrowawayCouncil, boss: TaskMaster, script: CouncilScript, llm: FakeLLMServer
) -> None:
    first_mark, second_mark = marker("first"), marker("second")
    script.set(
        "plan",
        "*",
        plan_json(step("local", f"touch {first_mark}")),
        plan_json(step("local", f"touch {second_mark}")),
    )
    await boss.command("!voice on")
    task = await boss.order("//chavion_task: leave a mark on local, twice planned")
    first = await boss.plan(task)
    await voice_answering(boss, task, first.event_id, boss.coordinator)
    await boss.command("!voice off")
    await boss.command(f"!deny {task.id} only the root filesystem please")

    def second_plan(s: Seen) -> bool:
        return council_of(s).get("kind") == "plan" and s.event_id != first.event_id

    second = await boss.in_thread(task, second_plan, what="the changed plan")
    assert await readouts(council, task) == council_of(first)["digest"]

    # Spoken while voice is still off, so the engine's next tick cannot read the changed
    # plan out before the words arrive (with voice on, that raced the transcription).
    spoken = await say_by_voice(boss, llm, task, "승인")
    refused = await boss.in_thread(
        task,
        lambda s: s.sender == boss.coordinator and "not approved" in s.body,
        what="the refusal",
    )
    assert "changed since it was read out" in refused.body
    # With voice off nothing was read; on again, the same words are refused again and the
    # changed plan is read out.
    await boss.command("!voice on")
    await say_by_voice(boss, llm, task, "승인")
    again = await voice_answering(boss, task, second.event_id, boss.coordinator)
    assert again.event_id
    assert await readouts(council, task) == council_of(second)["digest"]
    assert await boss.db.state(task.id) == "awaiting_approval"
    assert spoken

    await say_by_voice(boss, llm, task, "승인")
    report = await boss.report(task)
    assert report.body.startswith(f"#{task.id} ✅ Done")
    assert second_mark.exists()
    assert not first_mark.exists()


# ---- the local voice -------------------------------------------------------------------------


@pytest.mark.skipif(
    shutil.which("espeak-ng") is None
    or (shutil.which("opusenc") is None and shutil.which("ffmpeg") is None),
    reason="the local voice needs espeak-ng and opusenc or ffmpeg (scripts/bootstrap installs)",
)
async def test_the_local_voice_speaks_a_report_too(
    council: ThrowawayCouncil,
    bots: TaskBots,
    llm: FakeLLMServer,
    tmp_path_factory: pytest.TempPathFactory,
    boss: TaskMaster,
    script: CouncilScript,
) -> None:
    """Last in the module: the module's bots stop, bots on the local voice run one task, and
    the module's bots come back (into the same `bots`, which its fixture stops)."""
    await bots.stop()
    path = tmp_path_factory.mktemp("voice-local") / "chavion.yaml"
    config = voice_config(task_config(council, llm, path), llm, tts="local")
    local = await TaskBots.start(council, config)
    try:
        await boss.command("!voice on")
        task, report = await run_to_report(boss, "report disk usage of local by espeak")
        speaker = boss.council.user_id(str(council_of(report)["speaker"]))
        voice = await voice_answering(boss, task, report.event_id, speaker)
        await assert_element_voice(boss.person, voice)
        assert not [r for r in llm.speech_requests if f"#{task.id}" in r.input]
    finally:
        await local.stop()
        fresh = await TaskBots.start(council, bots.config_path)
        bots.others, bots.coordinator = fresh.others, fresh.coordinator
