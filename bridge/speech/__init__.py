"""Speech in and out (issue 20), behind two small interfaces.

`SpeechToText` turns a recording into text (OpenAI's transcription API through the `openai`
SDK, or a local faster-whisper model); `TextToSpeech` turns text into a `VoiceClip` that
Element plays inline (OpenAI's speech API, or local espeak-ng encoded to Ogg/Opus). Failures
are `bridge.errors.SpeechError`, whose message is said in the room as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class VoiceClip:
    """Audio ready to send as a Matrix voice message: Ogg/Opus, its length, its waveform."""

    data: bytes
    duration_ms: int
    """Read from the encoded stream itself (the last page's granule position), not guessed."""
    waveform: tuple[int, ...]
    """Loudness 0–1024, 30–120 points, computed from the audio (what Element draws)."""
    mimetype: str = "audio/ogg"


class SpeechToText(Protocol):
    async def transcribe(self, audio: bytes, mimetype: str, language: str | None) -> str:
        """What was said, as plain text ("" when nothing was). `language` is an ISO 639-1
        hint ("ko"), None to let the model guess. Raises `SpeechError`."""
        ...


class TextToSpeech(Protocol):
    async def synthesize(self, text: str, language: str | None) -> VoiceClip:
        """`text` spoken, as a voice clip. Raises `SpeechError`."""
        ...
