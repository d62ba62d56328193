"""Reading the `voice` section (issue 20); every problem names its dotted key."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from bots.settings.reader import Node
from bots.settings.voice import (
    SpeechBackendName,
    SpeechToTextSettings,
    TextToSpeechSettings,
    VoiceSettings,
)

_BACKENDS = ("openai", "local", "off")


def parse_voice(node: Node, base: Path, bot_names: tuple[str, ...]) -> VoiceSettings:
    """The `voice` section; `base` resolves `stt.model_dir`, `bot_names` the transcriber."""
    defaults = VoiceSettings()
    language = node.get("language", str, defaults.language).strip().lower()
    if not (2 <= len(language) <= 3 and language.isalpha()):
        raise node.error("language", "is an ISO 639-1 code (e.g. ko, en)")
    transcriber = node.get("transcriber", str, defaults.transcriber)
    if transcriber not in bot_names:
        raise node.error("transcriber", f"names a bot ({', '.join(bot_names)})")
    max_bytes = node.get("max_bytes", int, defaults.max_bytes)
    if not 1024 <= max_bytes <= 512 * 1024 * 1024:
        raise node.error("max_bytes", "must be between 1024 and 536870912")
    max_seconds = node.get("max_seconds", int, defaults.max_seconds)
    if not 1 <= max_seconds <= 7200:
        raise node.error("max_seconds", "must be between 1 and 7200")
    speech_chars = node.get("speech_chars", int, defaults.speech_chars)
    if not 50 <= speech_chars <= 10_000:
        raise node.error("speech_chars", "must be between 50 and 10000")
    phrases = {}
    for name in ("task_phrases", "approve_phrases", "deny_phrases"):
        default = getattr(defaults, name)
        found = tuple(p.strip() for p in node.strings(name, default) if p.strip())
        if not found:
            raise node.error(name, f"lists at least one phrase (e.g. [{default[0]!r}])")
        phrases[name] = found
    settings = VoiceSettings(
        language=language,
        stt=_stt(node.child("stt"), base),
        tts=_tts(node.child("tts")),
        transcriber=transcriber,
        max_bytes=max_bytes,
        max_seconds=max_seconds,
        task_phrases=phrases["task_phrases"],
        approve_phrases=phrases["approve_phrases"],
        deny_phrases=phrases["deny_phrases"],
        thread_routing=node.get("thread_routing", bool, defaults.thread_routing),
        speak_by_default=node.get("speak_by_default", bool, defaults.speak_by_default),
        reports=node.get("reports", bool, defaults.reports),
        answers=node.get("answers", bool, defaults.answers),
        speech_chars=speech_chars,
    )
    node.reject_unknown()
    return settings


def _stt(node: Node, base: Path) -> SpeechToTextSettings:
    defaults = SpeechToTextSettings()
    backend = cast(SpeechBackendName, node.choice("backend", _BACKENDS, defaults.backend))
    model_dir = node.optional("model_dir", str)
    settings = SpeechToTextSettings(
        backend=backend,
        model=node.get("model", str, defaults.model),
        base_url=node.optional("base_url", str),
        api_key_env=node.get("api_key_env", str, defaults.api_key_env),
        model_dir=(base / Path(model_dir).expanduser()).resolve() if model_dir else None,
    )
    node.reject_unknown()
    return settings


def _tts(node: Node) -> TextToSpeechSettings:
    defaults = TextToSpeechSettings()
    backend = cast(SpeechBackendName, node.choice("backend", _BACKENDS, defaults.backend))
    settings = TextToSpeechSettings(
        backend=backend,
        model=node.get("model", str, defaults.model),
        voice=node.get("voice", str, defaults.voice),
        local_voice=node.get("local_voice", str, defaults.local_voice),
        base_url=node.optional("base_url", str),
        api_key_env=node.get("api_key_env", str, defaults.api_key_env),
    )
    node.reject_unknown()
    return settings
