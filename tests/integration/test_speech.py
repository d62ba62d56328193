"""The speech backends for real: the `openai` SDK against the fake server's audio endpoints,
espeak-ng and opusenc/ffmpeg on this machine, checked with ffprobe; the local transcriber's
clear refusals (no model, no faster-whisper, damaged audio)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shutil
from dataclasses import replace
from pathlib import Path

import openai
import pytest

from bots.settings.loading import load_settings
from bots.settings.paths import EXAMPLE_CONFIG
from bots.settings.voice import SpeechToTextSettings, TextToSpeechSettings, VoiceSettings
from bots.voice.services import speech_services
from bridge.errors import SpeechError
from bridge.speech import VoiceClip
from bridge.speech.local_stt import LocalTranscriber
from bridge.speech.local_tts import LocalSpeaker
from bridge.speech.ogg import read_ogg_opus
from bridge.speech.openai_stt import OpenAITranscriber
from bridge.speech.openai_tts import OpenAISpeaker
from bridge.speech.opus import Encoder, run_tool
from bridge.speech.waveform import point_count
from tests.fakes.audio_routes import speech_duration_ms
from tests.fakes.llm_server import FakeLLMServer, Scripted, error, reply

pytestmark = pytest.mark.integration

TOOLS_HINT = "needs espeak-ng, opusenc and ffprobe: run scripts/voice-tools --test as root"
needs_tools = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("espeak-ng", "opusenc", "ffprobe")),
    reason=TOOLS_HINT,
)
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason=TOOLS_HINT)
TONE = (Path(__file__).parents[1] / "unit" / "speech_data" / "tone-1s.opus").read_bytes()
KOREAN = "클로드의 보고입니다. 서버 세 대의 디스크 사용량을 확인했고, 모두 정상입니다."
ENGLISH = "Claude reporting. Disk usage on all three servers was checked; all are fine."


@pytest.fixture(autouse=True)
def fresh(llm: FakeLLMServer) -> None:
    llm.reset()


def transcriber(
    llm: FakeLLMServer, *, timeout_s: float = 30.0, max_retries: int = 1
) -> OpenAITranscriber:
    return OpenAITranscriber(
        model="whisper-1",
        base_url=llm.openai_base_url,
        api_key="sk-test",
        timeout_s=timeout_s,
        max_retries=max_retries,
    )


async def ffprobe(data: bytes, tmp_path: Path) -> tuple[str, int]:
    """(codec, duration in ms) as ffprobe reads the file."""
    path = tmp_path / "clip.ogg"
    path.write_bytes(data)
    process = await asyncio.create_subprocess_exec(
        "ffprobe", "-v", "error", "-show_entries", "stream=codec_name:format=duration",
        "-of", "json", str(path),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await process.communicate()
    assert process.returncode == 0
    probed = json.loads(out)
    return probed["streams"][0]["codec_name"], round(float(probed["format"]["duration"]) * 1000)


async def assert_voice_clip(clip: VoiceClip, tmp_path: Path) -> None:
    """What Element needs to play it inline: Ogg/Opus, the stated length, its waveform."""
    assert clip.mimetype == "audio/ogg"
    codec, probed_ms = await ffprobe(clip.data, tmp_path)
    assert codec == "opus"
    assert abs(probed_ms - clip.duration_ms) <= 20, (probed_ms, clip.duration_ms)
    assert clip.duration_ms == read_ogg_opus(clip.data).duration_ms
    assert len(clip.waveform) == point_count(clip.duration_ms)
    assert all(0 <= point <= 1024 for point in clip.waveform)
    assert max(clip.waveform) == 1024


# -- speech-to-text through the openai SDK ---------------------------------------------------


async def test_the_transcript_comes_back_and_the_request_carries_audio_and_language(
    llm: FakeLLMServer,
) -> None:
    llm.enqueue_transcript("클로드, 디스크 확인해 줘")
    stt = transcriber(llm)
    try:
        text = await stt.transcribe(TONE, "audio/ogg", "ko")
    finally:
        await stt.aclose()
    assert text == "클로드, 디스크 확인해 줘"
    [sent] = llm.transcription_requests
    assert (sent.file, sent.filename, sent.content_type) == (TONE, "voice.ogg", "audio/ogg")
    assert (sent.model, sent.language, sent.response_format) == ("whisper-1", "ko", "json")
    assert sent.headers["authorization"] == "Bearer sk-test"


async def test_without_a_language_hint_none_is_sent_and_the_text_is_trimmed(
    llm: FakeLLMServer,
) -> None:
    llm.enqueue_transcript("  option one \n")
    stt = transcriber(llm)
    try:
        assert await stt.transcribe(b"\x00\x00\x00\x1cftypM4A ", "audio/mp4", None) == "option one"
    finally:
        await stt.aclose()
    [sent] = llm.transcription_requests
    assert sent.language is None
    assert sent.filename == "voice.m4a"


@pytest.mark.parametrize(
    ("scripted", "message"),
    [
        (error(401), "rejected the API key (401)."),
        (
            error(429, error_code="insufficient_quota", message="You exceeded your quota."),
            "says the account has run out of quota (429).",
        ),
        (
            error(404, message="The model `whisper-9` does not exist"),
            "has no model 'whisper-1' (404): "
            "The model `whisper-9` does not exist.",
        ),
        (error(400, message="Audio file is too short."),
         "rejected the request (400): Audio file is too short."),
        (error(503), "is overloaded (503)."),
    ],
    ids=["bad-key", "quota", "no-model", "bad-audio", "down"],
)  # fmt: skip
async def test_api_failures_become_one_sentence_for_the_room(
    llm: FakeLLMServer, scripted: Scripted, message: str
) -> None:
    llm.set_default_transcript(scripted)
    stt = transcriber(llm, max_retries=0)
    try:
        with pytest.raises(SpeechError) as raised:
            await stt.transcribe(TONE, "audio/ogg", "ko")
    finally:
        await stt.aclose()
    port = llm.openai_base_url.split(":")[2].split("/")[0]
    assert str(raised.value) == f"Speech-to-text: the server at 127.0.0.1:{port} {message}"


async def test_a_slow_transcription_times_out_with_a_word(llm: FakeLLMServer) -> None:
    llm.enqueue_transcript(reply("late", delay_s=5))
    stt = transcriber(llm, timeout_s=0.3, max_retries=0)
    try:
        with pytest.raises(SpeechError, match=r"did not answer in time"):
            await stt.transcribe(TONE, "audio/ogg", "ko")
    finally:
        await stt.aclose()


async def test_an_empty_recording_is_refused_before_any_request(llm: FakeLLMServer) -> None:
    stt = transcriber(llm)
    try:
        with pytest.raises(SpeechError, match="empty"):
            await stt.transcribe(b"", "audio/ogg", "ko")
    finally:
        await stt.aclose()
    assert llm.transcription_requests == []


# -- text-to-speech through the openai SDK ---------------------------------------------------


@needs_tools
async def test_the_speech_api_wav_becomes_an_ogg_opus_voice_clip(
    llm: FakeLLMServer, tmp_path: Path
) -> None:
    tts = OpenAISpeaker(
        model="gpt-4o-mini-tts", voice="alloy", base_url=llm.openai_base_url, api_key="sk-test"
    )
    try:
        clip = await tts.synthesize(ENGLISH, "en")
    finally:
        await tts.aclose()
    [sent] = llm.speech_requests
    assert (sent.model, sent.voice, sent.input, sent.response_format) == (
        "gpt-4o-mini-tts", "alloy", ENGLISH, "wav"
    )  # fmt: skip
    await assert_voice_clip(clip, tmp_path)
    assert abs(clip.duration_ms - speech_duration_ms(ENGLISH)) <= 20


async def test_a_speech_api_failure_is_one_sentence(llm: FakeLLMServer) -> None:
    llm.enqueue_speech(error(429, error_code="insufficient_quota"))
    tts = OpenAISpeaker(model="tts-1", voice="alloy", base_url=llm.openai_base_url, max_retries=0)
    try:
        with pytest.raises(SpeechError) as raised:
            await tts.synthesize("Hello", "en")
    finally:
        await tts.aclose()
    assert str(raised.value).startswith("Text-to-speech: the server at 127.0.0.1:")
    assert str(raised.value).endswith("says the account has run out of quota (429).")


# -- local text-to-speech --------------------------------------------------------------------


@needs_tools
@pytest.mark.parametrize(("text", "language"), [(KOREAN, "ko"), (ENGLISH, "en")], ids=["ko", "en"])
async def test_local_speech_is_ogg_opus_of_the_stated_length(
    text: str, language: str, tmp_path: Path
) -> None:
    clip = await LocalSpeaker().synthesize(text, language)
    await assert_voice_clip(clip, tmp_path)
    assert 2_000 < clip.duration_ms < 15_000


@needs_tools
@needs_ffmpeg
async def test_ffmpeg_encodes_when_opusenc_is_absent(tmp_path: Path) -> None:
    ffmpeg = Encoder("ffmpeg", shutil.which("ffmpeg") or "ffmpeg")
    clip = await LocalSpeaker(encoder=ffmpeg).synthesize(ENGLISH, "en")
    await assert_voice_clip(clip, tmp_path)


@needs_tools
async def test_a_voice_espeak_does_not_know_is_refused_not_spoken_in_english() -> None:
    with pytest.raises(SpeechError) as raised:
        await LocalSpeaker(voice="no-such-voice").synthesize("안녕하세요", "ko")
    assert str(raised.value) == (
        "espeak-ng has no voice 'no-such-voice': set voice.tts.local_voice to one that "
        "`espeak-ng --voices` lists (e.g. ko, en-us), or voice.language to its language."
    )


@needs_tools
async def test_an_encoder_that_fails_is_named_with_its_exit_and_words() -> None:
    broken = Encoder("opusenc", "/bin/false")
    with pytest.raises(SpeechError, match=r"^opusenc failed \(exit 1\)\.$"):
        await LocalSpeaker(encoder=broken).synthesize("Hello", "en")


async def test_a_tool_that_hangs_is_stopped_at_its_timeout() -> None:
    with pytest.raises(SpeechError, match=r"^espeak-ng took longer than 0\.2 s and was stopped\.$"):
        await run_tool(["sleep", "30"], b"", timeout_s=0.2, what="espeak-ng")


async def test_a_tool_that_is_not_there_is_named() -> None:
    with pytest.raises(SpeechError, match=r"^opusenc could not start \(/nonexistent/opusenc: "):
        await run_tool(["/nonexistent/opusenc"], b"", timeout_s=5, what="opusenc")


# -- local speech-to-text --------------------------------------------------------------------


async def test_a_missing_model_directory_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "whisper-small"
    with pytest.raises(SpeechError) as raised:
        await LocalTranscriber(missing).transcribe(TONE, "audio/ogg", "ko")
    assert str(raised.value) == (
        f"Local speech-to-text: the model directory {missing} does not exist."
    )


@pytest.mark.skipif(
    importlib.util.find_spec("faster_whisper") is not None, reason="faster-whisper is installed"
)
async def test_without_faster_whisper_the_message_says_how_to_install_it(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"weights")
    with pytest.raises(SpeechError) as raised:
        await LocalTranscriber(tmp_path).transcribe(TONE, "audio/ogg", "ko")
    assert str(raised.value) == (
        "Local speech-to-text needs faster-whisper: pip install faster-whisper "
        "(in Chavion's virtualenv), and voice.stt.model_dir set to a model directory."
    )


@pytest.mark.parametrize(
    ("audio", "mimetype", "says"),
    [
        (TONE[: len(TONE) // 2], "audio/ogg", "it is cut off"),
        (b"OggS" + bytes(200), "audio/ogg", "page 1 is damaged"),
        (b"\xff\xfb\x90\x00 not really ogg", "audio/ogg", "does not start with an Ogg page"),
        (b"", "audio/ogg", "The voice message is empty"),
    ],
    ids=["truncated", "garbage-after-capture", "mp3-labelled-ogg", "empty"],
)
async def test_damaged_audio_is_refused_before_the_model(
    tmp_path: Path, audio: bytes, mimetype: str, says: str
) -> None:
    (tmp_path / "model.bin").write_bytes(b"weights")
    with pytest.raises(SpeechError, match=says):
        await LocalTranscriber(tmp_path).transcribe(audio, mimetype, "ko")


# -- the fake's audio endpoints, as other modules' tests use them ----------------------------


async def test_the_fake_answers_each_response_format_and_a_responder_picks_by_request(
    llm: FakeLLMServer,
) -> None:
    llm.respond_transcript(lambda r: "승인" if r.file == b"approve" else None)
    llm.enqueue_transcript("first")
    llm.set_default_transcript("always")
    client = openai.AsyncOpenAI(base_url=llm.openai_base_url, api_key="sk-test", max_retries=0)
    try:
        text = await client.audio.transcriptions.create(
            model="whisper-1", file=("v.ogg", b"approve", "audio/ogg"), response_format="text"
        )
        verbose = await client.audio.transcriptions.create(
            model="whisper-1", file=("v.ogg", b"x", "audio/ogg"), response_format="verbose_json"
        )
        plain = await client.audio.transcriptions.create(
            model="whisper-1", file=("v.ogg", b"y", "audio/ogg")
        )
        pcm = await client.audio.speech.create(
            model="tts-1", voice="alloy", input="abcdefghij", response_format="pcm"
        )
        with pytest.raises(openai.BadRequestError, match="only wav and pcm"):
            await client.audio.speech.create(
                model="tts-1", voice="alloy", input="hi", response_format="mp3"
            )
    finally:
        await client.close()
    assert (text.strip(), verbose.text, plain.text) == ("승인", "first", "always")
    assert len(pcm.content) == 24_000 * 2 * speech_duration_ms("abcdefghij") // 1000
    assert [r.response_format for r in llm.speech_requests] == ["pcm", "mp3"]


async def test_the_fake_refuses_a_wrong_key_on_audio_too() -> None:
    async with FakeLLMServer(api_key="sk-right") as server:
        stt = OpenAITranscriber(model="whisper-1", base_url=server.openai_base_url, api_key="x")
        try:
            with pytest.raises(SpeechError, match=r"rejected the API key \(401\)"):
                await stt.transcribe(TONE, "audio/ogg", "ko")
        finally:
            await stt.aclose()
        assert len(server.transcription_requests) == 1


async def test_services_honour_openai_base_url_and_read_the_key_the_config_names(
    llm: FakeLLMServer,
) -> None:
    settings = replace(
        load_settings(EXAMPLE_CONFIG),
        voice=VoiceSettings(
            language="ko",
            stt=SpeechToTextSettings(backend="openai", api_key_env="CHAVION_STT_KEY"),
            tts=TextToSpeechSettings(backend="off"),
        ),
    )
    environ = {"CHAVION_STT_KEY": "sk-stt", "OPENAI_BASE_URL": llm.openai_base_url}
    services = speech_services(settings, environ=environ)
    assert services.stt is not None
    llm.enqueue_transcript("차비온 태스크 디스크 확인")
    assert await services.stt.transcribe(TONE, "audio/ogg", "ko") == "차비온 태스크 디스크 확인"
    [sent] = llm.transcription_requests
    assert sent.headers["authorization"] == "Bearer sk-stt"
    assert services.problem_tts == "Voice output is off (voice.tts.backend: off)."
