"""Text-to-speech through OpenAI's speech API (`openai` SDK), or any server that speaks it.

Asks for WAV, never the API's own Opus, so the waveform is computed from the samples and the
encoding to Ogg/Opus is the same as the local backend's (see `clip.py`).
"""

from __future__ import annotations

import openai

from bridge.errors import SpeechError
from bridge.speech import VoiceClip
from bridge.speech.clip import clip_from_pcm
from bridge.speech.openai_errors import client, speech_error, vendor_label
from bridge.speech.opus import Encoder
from bridge.speech.wav import parse_wav

SERVICE = "Text-to-speech"


class OpenAISpeaker:
    """`TextToSpeech` over `audio.speech.create`; the language is the text's own."""

    def __init__(
        self,
        *,
        model: str,
        voice: str,
        base_url: str | None = None,
        api_key: str | None = None,
        encoder: Encoder | None = None,
        timeout_s: float = 120.0,
        max_retries: int = 1,
    ) -> None:
        self._model = model
        self._voice = voice
        self._vendor = vendor_label(base_url)
        self._encoder = encoder
        self._client = client(base_url, api_key, timeout_s=timeout_s, max_retries=max_retries)

    async def synthesize(self, text: str, language: str | None) -> VoiceClip:
        if not text.strip():
            raise SpeechError("There is nothing to say: the text is empty.")
        try:
            response = await self._client.audio.speech.create(
                model=self._model, voice=self._voice, input=text, response_format="wav"
            )
            wav = response.content
        except openai.OpenAIError as exc:
            raise speech_error(
                exc, service=SERVICE, vendor=self._vendor, model=self._model
            ) from exc
        return await clip_from_pcm(parse_wav(wav), self._encoder)

    async def aclose(self) -> None:
        await self._client.close()
