"""The speech backends the settings ask for, built once, each with the sentence to say in the
room when it is off or cannot work (so a voice message is never met with silence).

The SDK-backed modules are imported only for the backend chosen, as the LLM factory does.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bots.settings.model import Settings
from bots.settings.voice import SpeechToTextSettings, TextToSpeechSettings
from bridge.llm.factory import BASE_URL_ENV
from bridge.speech import SpeechToText, TextToSpeech


@dataclass(frozen=True)
class SpeechServices:
    stt: SpeechToText | None
    tts: TextToSpeech | None
    problem_stt: str | None
    """Why `stt` is None, as a sentence for the room; None when `stt` is set."""
    problem_tts: str | None


def speech_services(
    settings: Settings,
    *,
    environ: Mapping[str, str] | None = None,
    which: Callable[[str], str | None] | None = None,
) -> SpeechServices:
    """Build both sides from `settings.voice`; `environ`/`which` default to the process's."""
    env = os.environ if environ is None else environ
    stt, problem_stt = _stt(settings.voice.stt, env)
    tts, problem_tts = _tts(settings.voice.tts, env, which)
    return SpeechServices(stt, tts, problem_stt, problem_tts)


def _base_url(configured: str | None, env: Mapping[str, str]) -> str | None:
    """The config's base_url, else OPENAI_BASE_URL (a proxy, a gateway), as agents do."""
    return configured or env.get(BASE_URL_ENV["openai"], "").strip() or None


def _key_problem(
    side: str, key: str, base_url: str | None, key_env: str, env: Mapping[str, str]
) -> str | None:
    """The official API needs a key; a server at base_url may not (a local whisper)."""
    if base_url is not None or env.get(key_env, "").strip():
        return None
    return (
        f"{side} needs an API key: set {key_env} (voice.{key}.api_key_env) in Chavion's "
        f"environment file, or voice.{key}.base_url to a server that needs none."
    )


def _stt(s: SpeechToTextSettings, env: Mapping[str, str]) -> tuple[SpeechToText | None, str | None]:
    if s.backend == "off":
        return None, "Voice input is off (voice.stt.backend: off)."
    if s.backend == "local":
        from bridge.speech.local_stt import LocalTranscriber, local_stt_problem

        problem = local_stt_problem(s.model_dir)
        if problem is not None:
            return None, problem
        return LocalTranscriber(s.model_dir), None
    if problem := _key_problem("Voice input", "stt", s.base_url, s.api_key_env, env):
        return None, problem
    from bridge.speech.openai_stt import OpenAITranscriber

    key = env.get(s.api_key_env, "").strip() or None
    base_url = _base_url(s.base_url, env)
    return OpenAITranscriber(model=s.model, base_url=base_url, api_key=key), None


def _tts(
    s: TextToSpeechSettings,
    env: Mapping[str, str],
    which: Callable[[str], str | None] | None,
) -> tuple[TextToSpeech | None, str | None]:
    if s.backend == "off":
        return None, "Voice output is off (voice.tts.backend: off)."
    from bridge.speech.local_tts import LocalSpeaker, local_tts_problem
    from bridge.speech.opus import find_encoder

    found = find_encoder() if which is None else find_encoder(which)
    if s.backend == "local":
        problem = local_tts_problem() if which is None else local_tts_problem(which)
        if problem is not None:
            return None, problem
        return LocalSpeaker(voice=s.local_voice, encoder=found), None
    if found is None:
        return None, (
            "Voice output needs opusenc (opus-tools) or ffmpeg to encode the speech API's "
            "audio: run scripts/voice-tools as root, or apt-get install opus-tools."
        )
    if problem := _key_problem("Voice output", "tts", s.base_url, s.api_key_env, env):
        return None, problem
    from bridge.speech.openai_tts import OpenAISpeaker

    key = env.get(s.api_key_env, "").strip() or None
    return (
        OpenAISpeaker(
            model=s.model,
            voice=s.voice,
            base_url=_base_url(s.base_url, env),
            api_key=key,
            encoder=found,
        ),
        None,
    )
