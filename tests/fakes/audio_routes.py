"""The fake LLM server's audio endpoints: OpenAI's transcription and speech APIs.

Mixed into `FakeLLMServer`, so one server answers chat and audio alike and the real `openai`
SDK is pointed at `server.openai_base_url` for both. Transcripts are scripted like chat
replies; speech answers a real WAV (or raw PCM) tone whose length grows with the text, so
duration and waveform checks downstream are meaningful::

    server.enqueue_transcript("클로드, 안녕", error(500))
    server.respond_transcript(lambda r: "승인" if r.file == b"approve" else None)
    server.enqueue_speech(error(429, retry_after=0))
    assert server.transcription_requests[0].language == "ko"
    assert server.speech_requests[0].input == "Report: done."
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import struct
import wave
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from tests.fakes.llm_server import Scripted

DEFAULT_TRANSCRIPT = "This is the fake transcript."

SPEECH_SAMPLE_RATE = 24_000
"""OpenAI's speech API sends 24 kHz, 16-bit, mono for wav and pcm alike."""
SPEECH_MS_PER_CHAR = 60
SPEECH_MIN_MS = 300
SPEECH_MAX_MS = 180_000
SPEECH_FORMATS = ("wav", "pcm")
"""What this fake encodes; mp3, opus, aac and flac are refused with a 400 that says so."""


@dataclass(frozen=True)
class TranscriptionRequest:
    """One `POST /v1/audio/transcriptions`, as the multipart form carried it."""

    file: bytes
    filename: str
    content_type: str
    model: str
    language: str | None
    response_format: str
    prompt: str | None
    headers: dict[str, str]
    """Header names lower-cased."""


@dataclass(frozen=True)
class SpeechRequest:
    """One `POST /v1/audio/speech`, its JSON body read out."""

    model: str
    input: str
    voice: str
    response_format: str
    speed: float | None
    instructions: str | None
    body: dict[str, Any]
    headers: dict[str, str]


TranscriptResponder = Callable[[TranscriptionRequest], "str | Scripted | None"]
"""Picks the transcript for one request (a text, or `error(...)`); None: queue and default."""


def speech_duration_ms(text: str) -> int:
    """How long the fake speaks `text`: 60 ms a character, within 0.3 s and 180 s."""
    return max(SPEECH_MIN_MS, min(SPEECH_MAX_MS, SPEECH_MS_PER_CHAR * len(text)))


def tone_pcm(text: str, rate: int = SPEECH_SAMPLE_RATE) -> bytes:
    """16-bit mono PCM: a 220 Hz tone, one 60 ms slot per character, silent on spaces, so the
    waveform has shape (words loud, gaps quiet)."""
    total = rate * speech_duration_ms(text) // 1000
    slot = max(1, rate * SPEECH_MS_PER_CHAR // 1000)
    step = 2 * math.pi * 220 / rate
    samples = bytearray()
    for index in range(total):
        char = text[index // slot] if index // slot < len(text) else "."
        loud = 0 if char.isspace() else 6000 + 3000 * (ord(char) % 7)
        samples += struct.pack("<h", int(loud * math.sin(step * index)))
    return bytes(samples)


def tone_wav(text: str, rate: int = SPEECH_SAMPLE_RATE) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(tone_pcm(text, rate))
    return buffer.getvalue()


class AudioEndpoints:
    """The audio half of FakeLLMServer: scripting, recording and the two routes."""

    api_key: str | None

    def _init_audio(self) -> None:
        self.transcription_requests: list[TranscriptionRequest] = []
        self.speech_requests: list[SpeechRequest] = []
        self._transcripts: deque[str | Scripted] = deque()
        self._transcript_default: str | Scripted = DEFAULT_TRANSCRIPT
        self._transcript_responder: TranscriptResponder | None = None
        self._speech_scripts: deque[Scripted] = deque()
        self._speech_default: Scripted | None = None

    def _reset_audio(self) -> None:
        self.transcription_requests.clear()
        self.speech_requests.clear()
        self._transcripts.clear()
        self._transcript_default = DEFAULT_TRANSCRIPT
        self._transcript_responder = None
        self._speech_scripts.clear()
        self._speech_default = None

    def _add_audio_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/audio/transcriptions", self._transcription)
        app.router.add_post("/v1/audio/speech", self._speech)

    # -- scripting -------------------------------------------------------------------------

    def enqueue_transcript(self, *items: str | Scripted) -> None:
        """Queue transcripts, used once each: a text, or `error(status, ...)` (a Scripted
        with a text, or with delay_s, works too)."""
        self._transcripts.extend(items)

    def set_default_transcript(self, item: str | Scripted) -> None:
        """What to answer when the queue is empty (DEFAULT_TRANSCRIPT until set)."""
        self._transcript_default = item

    def respond_transcript(self, responder: TranscriptResponder | None) -> None:
        """Answer every transcription with `responder(request)` first; None unsets it."""
        self._transcript_responder = responder

    def enqueue_speech(self, *scripts: Scripted) -> None:
        """Queue speech answers, used once each: `error(...)` to fail, `reply(delay_s=...)`
        to be slow; any 200 answer is the tone of the request's input."""
        self._speech_scripts.extend(scripts)

    def set_default_speech(self, script: Scripted | None) -> None:
        """What to answer when the speech queue is empty (None: the tone)."""
        self._speech_default = script

    # -- routes ----------------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        expected = f"Bearer {self.api_key}"
        return self.api_key is None or request.headers.get("Authorization", "") == expected

    async def _transcription(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        upload = form.get("file")
        if isinstance(upload, web.FileField):
            data, filename, content_type = upload.file.read(), upload.filename, upload.content_type
        else:
            data, filename, content_type = b"", "", ""
        language = form.get("language")
        prompt = form.get("prompt")
        recorded = TranscriptionRequest(
            file=data,
            filename=filename,
            content_type=content_type,
            model=str(form.get("model", "")),
            language=str(language) if language is not None else None,
            response_format=str(form.get("response_format", "json")),
            prompt=str(prompt) if prompt is not None else None,
            headers={k.lower(): v for k, v in request.headers.items()},
        )
        self.transcription_requests.append(recorded)
        if not self._authorized(request):
            return _error(401, "Incorrect API key provided.")
        if upload is None:
            return _error(400, "Missing required parameter: 'file'.")

        chosen: str | Scripted | None = None
        if self._transcript_responder is not None:
            chosen = self._transcript_responder(recorded)
        if chosen is None:
            chosen = self._transcripts.popleft() if self._transcripts else None
        if chosen is None:
            chosen = self._transcript_default
        if not isinstance(chosen, str):
            if chosen.delay_s > 0:
                await asyncio.sleep(chosen.delay_s)
            if chosen.status != 200:
                return _scripted_error(chosen)
            chosen = DEFAULT_TRANSCRIPT if chosen.text is None else chosen.text

        if recorded.response_format == "text":
            return web.Response(text=chosen, content_type="text/plain")
        if recorded.response_format == "verbose_json":
            return web.json_response(
                {
                    "task": "transcribe",
                    "language": recorded.language or "english",
                    "duration": 1.0,
                    "text": chosen,
                    "segments": [],
                }
            )
        if recorded.response_format != "json":
            return _error(400, f"response_format {recorded.response_format!r} not in this fake")
        return web.json_response({"text": chosen})

    async def _speech(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        speed = body.get("speed")
        instructions = body.get("instructions")
        recorded = SpeechRequest(
            model=str(body.get("model", "")),
            input=str(body.get("input", "")),
            voice=str(body.get("voice", "")),
            response_format=str(body.get("response_format", "mp3")),
            speed=float(speed) if isinstance(speed, int | float) else None,
            instructions=str(instructions) if instructions is not None else None,
            body=body,
            headers={k.lower(): v for k, v in request.headers.items()},
        )
        self.speech_requests.append(recorded)
        if not self._authorized(request):
            return _error(401, "Incorrect API key provided.")
        script = self._speech_scripts.popleft() if self._speech_scripts else self._speech_default
        if script is not None:
            if script.delay_s > 0:
                await asyncio.sleep(script.delay_s)
            if script.status != 200:
                return _scripted_error(script)
        if not recorded.input:
            return _error(400, "Missing required parameter: 'input'.")
        if recorded.response_format == "pcm":
            return web.Response(body=tone_pcm(recorded.input), content_type="audio/pcm")
        if recorded.response_format == "wav":
            return web.Response(body=tone_wav(recorded.input), content_type="audio/wav")
        return _error(
            400,
            f"this fake speaks only {' and '.join(SPEECH_FORMATS)}, "
            f"not {recorded.response_format!r}",
        )


def _scripted_error(script: Scripted) -> web.Response:
    from tests.fakes.llm_server import _openai_error  # the module that imports this one

    return _openai_error(script)


def _error(status: int, message: str) -> web.Response:
    from tests.fakes.llm_server import error

    return _scripted_error(error(status, message=message))
