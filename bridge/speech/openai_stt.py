"""Speech-to-text through OpenAI's transcription API (`openai` SDK), or any server that
speaks it (a local whisper server: set base_url)."""

from __future__ import annotations

import openai

from bridge.errors import SpeechError
from bridge.speech.openai_errors import client, speech_error, vendor_label

SERVICE = "Speech-to-text"
_EXTENSIONS = {
    "audio/ogg": "ogg",
    "audio/opus": "ogg",
    "audio/mp4": "m4a",
    "audio/x-m4a": "m4a",
    "audio/aac": "m4a",
    "audio/mpeg": "mp3",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/webm": "webm",
    "audio/flac": "flac",
}


def upload_name(mimetype: str) -> str:
    """A file name whose extension the API recognises (it decides the format by it)."""
    base = mimetype.split(";", 1)[0].strip().lower()
    return f"voice.{_EXTENSIONS.get(base, 'ogg')}"


class OpenAITranscriber:
    """`SpeechToText` over `audio.transcriptions.create`."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        max_retries: int = 1,
    ) -> None:
        self._model = model
        self._vendor = vendor_label(base_url)
        self._client = client(base_url, api_key, timeout_s=timeout_s, max_retries=max_retries)

    async def transcribe(self, audio: bytes, mimetype: str, language: str | None) -> str:
        if not audio:
            raise SpeechError("The voice message is empty: there is nothing to transcribe.")
        try:
            result = await self._client.audio.transcriptions.create(
                model=self._model,
                file=(upload_name(mimetype), audio, mimetype.split(";", 1)[0].strip()),
                language=language or openai.omit,
                response_format="json",
            )
        except openai.OpenAIError as exc:
            raise speech_error(
                exc, service=SERVICE, vendor=self._vendor, model=self._model
            ) from exc
        return result.text.strip()

    async def aclose(self) -> None:
        await self._client.close()
