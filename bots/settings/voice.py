"""The `voice` section (issue 20): how the master's voice messages are heard, and how the
council speaks back.

Secrets are never here: a backend names the environment variable that holds its key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

SpeechBackendName = Literal["openai", "local", "off"]


@dataclass(frozen=True)
class SpeechToTextSettings:
    backend: SpeechBackendName = "off"
    """`openai`: the transcription API through the `openai` SDK (any compatible base URL,
    e.g. a local whisper server); `local`: faster-whisper on `model_dir`; `off`: a voice
    message gets a word saying voice input is not set up."""
    model: str = "whisper-1"
    """The API's model; for `local`, the faster-whisper model size or name."""
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    model_dir: Path | None = None
    """`local` only: the directory of a faster-whisper (CTranslate2) model the user provides."""


@dataclass(frozen=True)
class TextToSpeechSettings:
    backend: SpeechBackendName = "off"
    """`openai`: the speech API through the `openai` SDK; `local`: espeak-ng, encoded to
    Ogg/Opus with opusenc or ffmpeg; `off`: the council never speaks."""
    model: str = "gpt-4o-mini-tts"
    voice: str = "alloy"
    """`openai` only: the API's voice."""
    local_voice: str = ""
    """`local` only: an espeak-ng voice ("" picks the one of `voice.language`)."""
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"


@dataclass(frozen=True)
class VoiceSettings:
    language: str = "ko"
    """ISO 639-1: the hint given to speech-to-text, and the language spoken back."""
    stt: SpeechToTextSettings = field(default_factory=SpeechToTextSettings)
    tts: TextToSpeechSettings = field(default_factory=TextToSpeechSettings)
    transcriber: str = "coordinator"
    """The bot that hears voice messages (one bot, so each is transcribed once); its
    "🎙️ <transcript>" reply is what every other bot acts on."""
    max_bytes: int = 20 * 1024 * 1024
    """A larger voice message is refused with a word, not downloaded."""
    max_seconds: int = 600
    """A longer voice message (by its stated duration) is refused with a word."""
    task_phrases: tuple[str, ...] = ("차비온 태스크", "차비온 작업", "chavion task")
    """Said first, they start a task, as `//chavion_task:` does typed."""
    approve_phrases: tuple[str, ...] = ("승인", "승인합니다", "approve", "approved")
    """Said alone, they approve the one plan that waits for the master (the one read out)."""
    deny_phrases: tuple[str, ...] = ("거절", "거부", "deny", "reject")
    thread_routing: bool = True
    """A voice message that replies to a task's message, or (when exactly one task waits
    for the master) one addressed to no one, goes to that task's thread."""
    speak_by_default: bool = True
    """Whether the council speaks in a room where `!voice` was never said."""
    reports: bool = True
    """Reports to the master also come as voice (where voice is on)."""
    answers: bool = False
    """An agent's answer to a voice question also comes as voice (where voice is on)."""
    speech_chars: int = 600
    """A longer report is summarised for speech first (one call by the reporting agent)."""
