"""Encoding PCM to Ogg/Opus with whichever Debian tool is installed: opusenc (opus-tools),
else ffmpeg. One subprocess, fed on stdin, read from stdout, with a timeout.

`scripts/voice-tools` installs them; when neither is there the error says so.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bridge.errors import SpeechError
from bridge.speech.wav import Pcm

INSTALL_HINT = "run scripts/voice-tools as root, or: apt-get install espeak-ng opus-tools"
BITRATE_KBPS = 32
"""Plenty for one voice (Element records at 24–64 kbit/s)."""
COMPLEXITY = 5
"""Opus encoder complexity 0–10 (tools default to 10): 5 takes ~40% less CPU for a spoken
report, at no difference one hears in espeak-ng's voice (tests/bench/voice_tts.py)."""
DEFAULT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Encoder:
    """A found encoder: its name and how to call it for PCM of a given rate."""

    name: str
    path: str

    def argv(self, rate: int) -> list[str]:
        if self.name == "opusenc":
            return [
                self.path,
                "--quiet",
                "--speech",
                "--bitrate",
                str(BITRATE_KBPS),
                "--comp",
                str(COMPLEXITY),
                "--raw",
                "--raw-bits",
                "16",
                "--raw-chan",
                "1",
                "--raw-rate",
                str(rate),
                "-",
                "-",
            ]
        return [
            self.path,
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "s16le",
            "-ar",
            str(rate),
            "-ac",
            "1",
            "-i",
            "pipe:0",
            "-c:a",
            "libopus",
            "-b:a",
            f"{BITRATE_KBPS}k",
            "-compression_level",
            str(COMPLEXITY),
            "-application",
            "voip",
            "-f",
            "ogg",
            "pipe:1",
        ]


def find_encoder(which: Callable[[str], str | None] = shutil.which) -> Encoder | None:
    """opusenc if installed, else ffmpeg, else None."""
    for name in ("opusenc", "ffmpeg"):
        path = which(name)
        if path:
            return Encoder(name, path)
    return None


async def run_tool(argv: Sequence[str], stdin: bytes, *, timeout_s: float, what: str) -> bytes:
    """Run one tool, feeding `stdin`; its stdout, or SpeechError naming `what` failed."""
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise SpeechError(f"{what} could not start ({argv[0]}: {exc.strerror or exc}).") from exc
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin), timeout_s)
    except TimeoutError as exc:
        process.kill()
        await process.wait()
        raise SpeechError(f"{what} took longer than {timeout_s:g} s and was stopped.") from exc
    if process.returncode != 0:
        detail = " ".join(err.decode("utf-8", "replace").split())[:200]
        raise SpeechError(
            f"{what} failed (exit {process.returncode}){': ' + detail if detail else ''}."
        )
    return out


async def encode_ogg_opus(
    pcm: Pcm, encoder: Encoder | None = None, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> bytes:
    """`pcm` as an Ogg/Opus stream (mono, 32 kbit/s)."""
    encoder = encoder or find_encoder()
    if encoder is None:
        raise SpeechError(f"Encoding voice needs opusenc or ffmpeg: {INSTALL_HINT}.")
    if not pcm.samples:
        raise SpeechError("There is no audio to encode (the speech engine gave none).")
    return await run_tool(
        encoder.argv(pcm.rate), pcm.samples, timeout_s=timeout_s, what=encoder.name
    )
