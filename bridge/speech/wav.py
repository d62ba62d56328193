"""Reading WAV and raw PCM into one shape, so every backend's audio takes the same road to
Ogg/Opus.

Written by hand rather than with `wave`: espeak-ng writing to a pipe cannot seek back, so its
header says 0x7FFFFFFF bytes of data; here the data chunk is whatever actually follows.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from bridge.errors import SpeechError


@dataclass(frozen=True)
class Pcm:
    """Signed 16-bit little-endian mono samples at `rate` Hz."""

    samples: bytes
    rate: int

    @property
    def duration_ms(self) -> int:
        return len(self.samples) // 2 * 1000 // self.rate if self.rate else 0


def parse_wav(data: bytes) -> Pcm:
    """The PCM inside a RIFF/WAVE file; 16-bit only, stereo mixed down to mono."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise SpeechError("The speech engine's audio is not a WAV file.")
    offset = 12
    channels = rate = bits = 0
    while offset + 8 <= len(data):
        kind = data[offset : offset + 4]
        (size,) = struct.unpack_from("<I", data, offset + 4)
        body = offset + 8
        if kind == b"fmt ":
            if size < 16 or body + 16 > len(data):
                break
            fmt, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", data, body)
            if fmt not in (1, 0xFFFE) or bits != 16 or channels not in (1, 2) or rate <= 0:
                raise SpeechError(
                    "The speech engine's WAV is not 16-bit PCM, mono or stereo "
                    f"(format {fmt}, {bits} bits, {channels} channels)."
                )
        elif kind == b"data":
            if not rate:
                break
            end = min(len(data), body + size)
            samples = data[body:end]
            samples = samples[: len(samples) - len(samples) % (2 * channels)]
            return Pcm(_mono(samples) if channels == 2 else samples, rate)
        offset = body + size + (size & 1)
    raise SpeechError("The speech engine's WAV has no audio in it (no fmt or data chunk).")


def _mono(stereo: bytes) -> bytes:
    values = memoryview(stereo).cast("h")
    mixed = [(values[i] + values[i + 1]) // 2 for i in range(0, len(values), 2)]
    return struct.pack(f"<{len(mixed)}h", *mixed)
