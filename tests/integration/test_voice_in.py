"""The master's voice, heard and handled as if typed (issue 20), end to end.

Real Synapse, the master's nio client sending voice messages exactly as Element Web records
them (`Person.send_voice`), the coordinator as the transcriber with the real `openai` SDK
against the fake server's transcription endpoint (scripted transcripts), and the agents on
the fake LLM. Assertions are on what the master's client receives and the task store.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bots.events import POLL_START, TRANSCRIPT_KEY
from tests.fakes.llm_server import FakeLLMServer
from tests.support.council import InProcessBots, ThrowawayCouncil
from tests.support.council_script import CouncilScript
from tests.support.person import Person, Seen
from tests.support.tasks import (
    AGENTS,
    KEY_ENV,
    TaskBots,
    TaskMaster,
    TaskRef,
    cancel_open_tasks,
    council_of,
    in_thread,
    running_task_bots,
    task_config,
)
from tests.support.voice_sample import SAMPLE_DURATION_MS, SAMPLE_OGG, SAMPLE_WAVEFORM

pytestmark = pytest.mark.integration

MAX_BYTES = 64 * 1024
QUIET = 3.0
"""How long nothing more must arrive for "only" to hold."""


def voice_config(llm: FakeLLMServer, path: Path) -> None:
    """The task config with voice input on the fake server's transcription endpoint."""
    config: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["voice"] = {
        "language": "ko",
        "stt": {"backend": "openai", "base_url": llm.openai_base_url, "api_key_env": KEY_ENV},
        "tts": {"backend": "off"},
        "max_bytes": MAX_BYTES,
    }
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")


@pytest.fixture(scope="module")
async def bots(
    council: ThrowawayCouncil,
    coordinator: InProcessBots,
    master: Person,
    llm: FakeLLMServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[TaskBots]:
    path = tmp_path_factory.mktemp("voice_in") / "chavion.yaml"
    task_config(council, llm, path, tasks={"auto_approve_readonly": False})
    voice_config(llm, path)
    async with running_task_bots(council, coordinator, master, path) as started:
        yield started


@pytest.fixture(autouse=True)
def scripted(script: CouncilScript) -> CouncilScript:
    """Every test on a fresh script (and fresh transcription records)."""
    return script


@pytest.fixture
async def no_tasks(bots: TaskBots) -> AsyncIterator[None]:
    """No task left waiting from one test to the next (it would draw the next one's voice)."""
    assert bots.coordinator is not None
    await cancel_open_tasks(bots.coordinator, bots.settings)
    yield
    await cancel_open_tasks(bots.coordinator, bots.settings)


@pytest.fixture(scope="module")
async def plain_room(council: ThrowawayCouncil, master: Person, bots: TaskBots) -> str:
    """An unencrypted room with the coordinator and the agents."""
    members = [council.user_id(name) for name in ("coordinator", *AGENTS)]
    room = await master.create_room(members, encrypted=False)
    for member in members:
        await master.wait_member(room, member)
    return room


async def speak(master: Person, room: str, data: bytes = SAMPLE_OGG, **extra: Any) -> str:
    return await master.send_voice(
        room, data, duration_ms=SAMPLE_DURATION_MS, waveform=SAMPLE_WAVEFORM, **extra
    )


def transcript_of(voice: str, coordinator: str) -> Callable[[Seen], bool]:
    return lambda s: (
        s.sender == coordinator and TRANSCRIPT_KEY in s.content and s.in_reply_to == voice
    )


async def heard(boss: TaskMaster, voice: str, timeout: float = 30) -> Seen:
    [seen] = await boss.person.wait_for(transcript_of(voice, boss.coordinator), timeout=timeout)
    return seen


async def said_back(boss: TaskMaster, voice: str, timeout: float = 30) -> Seen:
    """The coordinator's one sentence about a voice message it could not hear."""
    [seen] = await boss.person.wait_for(
        lambda s: s.sender == boss.coordinator and s.in_reply_to == voice, timeout=timeout
    )
    return seen


def replies_to(event: str, sender: str | None = None) -> Callable[[Seen], bool]:
    return lambda s: (
        s.in_reply_to == event
        and (sender is None or s.sender == sender)
        and "m.new_content" not in s.content
    )


async def waiting_task(boss: TaskMaster, order: str) -> TaskRef:
    """A task whose plan waits for the master's approval."""
    task = await boss.order(order)
    await boss.state(task, "awaiting_approval", timeout=120)
    return task


# ---- addressing by spoken name, plain and encrypted -----------------------------------------


@pytest.mark.parametrize("kind", ["plain", "encrypted"])
async def test_a_spoken_question_to_claude_is_answered_by_claude_alone(
    kind: str,
    council: ThrowawayCouncil,
    boss: TaskMaster,
    llm: FakeLLMServer,
    plain_room: str,
    no_tasks: None,
) -> None:
    room = plain_room if kind == "plain" else boss.room
    llm.enqueue_transcript("클로드, 디스크 상태 어때?")
    voice = await speak(boss.person, room)
    transcript = await heard(boss, voice)
    assert transcript.body == "🎙️ 클로드, 디스크 상태 어때?"
    assert transcript.content["msgtype"] == "m.notice"
    assert transcript.content[TRANSCRIPT_KEY] == {
        "speaker": boss.person.user_id,
        "audio_event": voice,
        "text": "클로드, 디스크 상태 어때?",
    }
    claude = council.user_id("claude")
    await boss.person.wait_for(replies_to(transcript.event_id, claude), timeout=30)
    await boss.person.settle(QUIET)
    answered = {s.sender for s in boss.person.matching(replies_to(transcript.event_id))}
    assert answered == {claude}
    assert boss.person.matching(replies_to(voice)) == [transcript]  # no agent answers audio
    [request] = llm.transcription_requests
    assert request.language == "ko"
    assert request.file == SAMPLE_OGG  # decrypted in the encrypted room


# ---- spoken commands ---------------------------------------------------------------------------


async def test_a_spoken_task_phrase_registers_a_task(
    boss: TaskMaster, llm: FakeLLMServer, no_tasks: None
) -> None:
    voice = await speak_with(llm, boss, "차비온 태스크, 디스크 사용량 확인해.")
    transcript = await heard(boss, voice)
    assert transcript.content[TRANSCRIPT_KEY]["text"] == "//chavion_task: 디스크 사용량 확인해"
    ack = await boss.wait(
        lambda s: in_thread(transcript.event_id)(s) or s.in_reply_to == transcript.event_id,
        lambda s: s.sender == boss.coordinator and council_of(s).get("task") is not None,
        what="the task's ack",
    )
    task = await boss.db.task(int(council_of(ack)["task"]))
    assert task is not None
    assert task["mission"] == "디스크 사용량 확인해"
    assert task["requester"] == boss.person.user_id


async def test_a_spoken_vote_counts_on_the_masters_poll(
    boss: TaskMaster, llm: FakeLLMServer, no_tasks: None
) -> None:
    await boss.command("!poll Which database? | PostgreSQL | SQLite")
    await boss.person.wait_for_event(
        POLL_START,
        lambda s: s.sender == boss.coordinator and "Which database?" in s.body,
        timeout=30,
    )
    voice = await speak_with(llm, boss, "이번이요.")
    transcript = await heard(boss, voice)
    assert transcript.content[TRANSCRIPT_KEY]["text"] == "!vote B"
    [counted] = await boss.person.wait_for(
        replies_to(transcript.event_id, boss.coordinator), timeout=30
    )
    assert "Your vote on 📊 Poll #" in counted.body
    assert "B — SQLite" in counted.body
    rows = await boss.db.rows(
        "SELECT choice FROM poll_votes WHERE voter = ? AND event_id = ?",
        boss.person.user_id,
        transcript.event_id,
    )
    assert rows == [{"choice": "B"}]
    await boss.command("!poll close")


# ---- thread routing --------------------------------------------------------------------------


async def test_a_voice_reply_to_a_task_message_lands_in_its_thread(
    boss: TaskMaster, llm: FakeLLMServer, no_tasks: None
) -> None:
    task = await boss.order("!task check the disk usage on local")
    ack = await boss.wait(
        in_thread(task.root),
        lambda s: s.sender == boss.coordinator and council_of(s).get("task") == task.id,
        what="the ack",
    )
    voice = await speak_with(llm, boss, "이거 얼마나 걸려?", reply_to=ack.event_id)
    transcript = await heard(boss, voice)
    assert in_thread(task.root)(transcript)


async def test_top_level_voice_goes_to_the_one_waiting_task_and_asks_between_two(
    boss: TaskMaster, llm: FakeLLMServer, no_tasks: None
) -> None:
    first = await waiting_task(boss, "!task check the disk usage on local")
    voice = await speak_with(llm, boss, "좋아 보이네")
    transcript = await heard(boss, voice)
    assert in_thread(first.root)(transcript)
    second = await waiting_task(boss, "!task check the memory on local")
    voice = await speak_with(llm, boss, "좋아 보이네")
    asked = await said_back(boss, voice)
    assert TRANSCRIPT_KEY not in asked.content
    assert f"Which task? #{first.id}" in asked.body
    assert f"#{second.id}" in asked.body
    assert asked.relates_to.get("rel_type") != "m.thread"


# ---- what cannot be heard ------------------------------------------------------------------


async def test_oversized_and_corrupt_audio_are_said_and_the_next_voice_works(
    boss: TaskMaster, llm: FakeLLMServer, no_tasks: None
) -> None:
    big = await speak(boss.person, boss.room, SAMPLE_OGG * (MAX_BYTES // len(SAMPLE_OGG) + 2))
    assert "voice.max_bytes" in (await said_back(boss, big)).body
    broken = await speak(boss.person, boss.room, b"this is not audio" * 20)
    assert "could not make out your voice message" in (await said_back(boss, broken)).body
    assert llm.transcription_requests == []  # neither reached speech-to-text
    voice = await speak_with(llm, boss, "얘들아, 다시 해 볼게")
    assert (await heard(boss, voice)).body == "🎙️ 얘들아, 다시 해 볼게"


async def test_local_speech_to_text_without_a_model_says_so(
    bots: TaskBots, boss: TaskMaster, tmp_path: Path, no_tasks: None
) -> None:
    assert bots.coordinator is not None
    settings = bots.settings
    stt = dataclasses.replace(settings.voice.stt, backend="local", model_dir=tmp_path / "none")
    local = dataclasses.replace(settings, voice=dataclasses.replace(settings.voice, stt=stt))
    await bots.coordinator.stop()
    swapped = await InProcessBots.start(local, ["coordinator"])
    try:
        voice = await speak(boss.person, boss.room)
        said = (await said_back(boss, voice)).body
        assert "faster-whisper" in said or "model" in said, said
        assert TRANSCRIPT_KEY not in (await said_back(boss, voice)).content
    finally:
        with contextlib.suppress(Exception):
            await swapped.stop()
        bots.coordinator = await InProcessBots.start(settings, ["coordinator"])


async def speak_with(llm: FakeLLMServer, boss: TaskMaster, transcript: str, **extra: Any) -> str:
    """A voice message the fake speech-to-text hears as `transcript`."""
    llm.enqueue_transcript(transcript)
    return await speak(boss.person, boss.room, **extra)


async def test_a_restart_does_not_hear_a_voice_message_twice(
    bots: TaskBots, boss: TaskMaster, llm: FakeLLMServer, no_tasks: None
) -> None:
    assert bots.coordinator is not None
    voice = await speak_with(llm, boss, "메모 하나, 나중에 볼 것")
    await heard(boss, voice)
    await bots.coordinator.stop()
    bots.coordinator = await InProcessBots.start(bots.settings, ["coordinator"])
    after = await speak_with(llm, boss, "메모 둘, 나중에 볼 것")
    await heard(boss, after)
    await boss.person.settle(QUIET)
    assert len(boss.person.matching(transcript_of(voice, boss.coordinator))) == 1
    assert len(llm.transcription_requests) == 2
