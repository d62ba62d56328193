"""Text-to-speech on this machine: espeak-ng (Debian) speaks WAV, encoded to Ogg/Opus.

The voice is `local_voice` if set, else the language ("ko", "en"); both tools are installed
by `scripts/voice-tools` (called from scripts/up and scripts/test).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

from bridge.errors import SpeechError
from bridge.speech import VoiceClip
from bridge.speech.clip import clip_from_pcm
from bridge.speech.opus import INSTALL_HINT, Encoder, find_encoder, run_tool
from bridge.speech.wav import parse_wav

DEFAULT_TIMEOUT_S = 120.0
WORDS_PER_MINUTE = 165


def local_tts_problem(which: Callable[[str], str | None] = shutil.which) -> str | None:
    """None when espeak-ng and an encoder are installed, else what to install."""
    missing = [name for name in ("espeak-ng",) if which(name) is None]
    if find_encoder(which) is None:
        missing.append("opusenc (opus-tools) or ffmpeg")
    if not missing:
        return None
    return f"Local text-to-speech needs {' and '.join(missing)}: {INSTALL_HINT}."


def espeak_voices(listing: str) -> frozenset[str]:
    """Every name `-v` accepts, lower-cased, from `espeak-ng --voices`: the language, the
    voice name, the file and its last part ("en-us", "english_(america)", "gmw/en-us")."""
    names: set[str] = set()
    for row in listing.splitlines()[1:]:
        fields = row.split()
        if len(fields) >= 5:
            language, name, file = fields[1], fields[3], fields[4]
            names.update(n.lower() for n in (language, name, file, file.rsplit("/", 1)[-1]))
    return frozenset(names)


def known_voice(voice: str, voices: frozenset[str]) -> bool:
    """Whether espeak-ng knows `voice`; a variant ("en+f3") counts by its base voice."""
    return voice.partition("+")[0].lower() in voices


def espeak_argv(path: str, voice: str, words_per_minute: int = WORDS_PER_MINUTE) -> list[str]:
    """espeak-ng reading the text from stdin, writing WAV to stdout."""
    return [path, "-v", voice, "-s", str(words_per_minute), "--stdout"]


class LocalSpeaker:
    """`TextToSpeech` with espeak-ng and opusenc/ffmpeg."""

    def __init__(
        self,
        *,
        voice: str = "",
        encoder: Encoder | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self._voice = voice
        self._encoder = encoder
        self._timeout_s = timeout_s
        self._voices: frozenset[str] | None = None

    async def synthesize(self, text: str, language: str | None) -> VoiceClip:
        if not text.strip():
            raise SpeechError("There is nothing to say: the text is empty.")
        espeak = shutil.which("espeak-ng")
        if espeak is None:
            raise SpeechError(f"Local text-to-speech needs espeak-ng: {INSTALL_HINT}.")
        voice = self._voice or language or "en"
        await self._check_voice(espeak, voice)
        wav = await run_tool(
            espeak_argv(espeak, voice),
            text.encode("utf-8"),
            timeout_s=self._timeout_s,
            what="espeak-ng",
        )
        return await clip_from_pcm(parse_wav(wav), self._encoder, timeout_s=self._timeout_s)

    async def _check_voice(self, espeak: str, voice: str) -> None:
        """espeak-ng speaks an unknown voice as its default English, silently: refuse it."""
        if self._voices is None:
            listing = await run_tool(
                [espeak, "--voices"], b"", timeout_s=self._timeout_s, what="espeak-ng --voices"
            )
            self._voices = espeak_voices(listing.decode("utf-8", "replace"))
        if not known_voice(voice, self._voices):
            raise SpeechError(
                f"espeak-ng has no voice {voice!r}: set voice.tts.local_voice to one that "
                "`espeak-ng --voices` lists (e.g. ko, en-us), or voice.language to its language."
            )
