"""WAV in, 16-bit mono PCM out: the one shape every text-to-speech backend's audio takes."""

from __future__ import annotations

import io
import struct
import wave

import pytest

from bridge.errors import SpeechError
from bridge.speech.wav import Pcm, parse_wav

MONO = struct.pack("<4h", 100, -100, 200, -200)


def wav_file(frames: bytes, *, channels: int = 1, width: int = 2, rate: int = 24_000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


def streamed(frames: bytes, rate: int = 22_050) -> bytes:
    """As espeak-ng writes to a pipe: sizes it could not seek back to fill (0x7FFFFFFF)."""
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF" + struct.pack("<I", 0x7FFFFFFF) + b"WAVE"
        + b"fmt " + struct.pack("<I", 16) + fmt
        + b"data" + struct.pack("<I", 0x7FFFFFFF) + frames
    )  # fmt: skip


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (wav_file(MONO), Pcm(MONO, 24_000)),
        (streamed(MONO), Pcm(MONO, 22_050)),
        (streamed(MONO + b"\x01"), Pcm(MONO, 22_050)),
        (
            wav_file(struct.pack("<4h", 100, 300, -100, -300), channels=2),
            Pcm(struct.pack("<2h", 200, -200), 24_000),
        ),
        (wav_file(b""), Pcm(b"", 24_000)),
    ],
    ids=["python-wave", "espeak-stream", "odd-trailing-byte", "stereo-mixed-down", "empty-data"],
)
def test_wav_is_read_into_mono_pcm(data: bytes, expected: Pcm) -> None:
    assert parse_wav(data) == expected


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "is not a WAV file"),
        (b"OggS\0\2" + b"\0" * 30, "is not a WAV file"),
        (wav_file(b"\x80\x80", width=1), "not 16-bit PCM"),
        (b"RIFF\4\0\0\0WAVE", "no audio in it"),
        (wav_file(MONO)[:36], "no audio in it"),
    ],
    ids=["empty", "ogg", "8-bit", "no-chunks", "no-data-chunk"],
)
def test_what_is_not_16_bit_wav_is_refused_saying_why(data: bytes, says: str) -> None:
    with pytest.raises(SpeechError, match=says):
        parse_wav(data)


def test_duration_follows_samples_and_rate() -> None:
    assert Pcm(b"\0\0" * 36_000, 24_000).duration_ms == 1500
