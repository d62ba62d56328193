"""The waveform Element draws for a voice message, computed from the audio itself.

Element's rules: loudness points 0–1024, between 30 and 120 of them. Here one point per
250 ms of audio (a 7.5 s clip has 30, a 30 s one 120, longer ones stay at 120), each the
RMS loudness of its stretch, scaled so the loudest stretch is 1024. Pure: samples in, points
out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

MIN_POINTS = 30
MAX_POINTS = 120
MS_PER_POINT = 250
PEAK = 1024
_MAX_READ_PER_POINT = 2000
"""Samples looked at per point (evenly spread): enough for loudness, cheap for long clips."""


def point_count(duration_ms: int) -> int:
    """How many points a clip of this length gets: one per 250 ms, within 30–120."""
    return max(MIN_POINTS, min(MAX_POINTS, round(duration_ms / MS_PER_POINT)))


def waveform(samples: Sequence[int], rate: int, count: int | None = None) -> tuple[int, ...]:
    """`samples` (signed 16-bit values, mono) as Element's loudness points: `count` of them,
    by default as many as their length gets (pass the count of the duration the event
    states, so the two always agree)."""
    if count is None:
        count = point_count(len(samples) * 1000 // rate if rate > 0 else 0)
    if not samples:
        return (0,) * count
    levels: list[float] = []
    for index in range(count):
        start = index * len(samples) // count
        end = max(start + 1, (index + 1) * len(samples) // count)
        step = max(1, (end - start) // _MAX_READ_PER_POINT)
        stretch = samples[start:end:step]
        levels.append(math.sqrt(sum(v * v for v in stretch) / len(stretch)) if stretch else 0.0)
    loudest = max(levels)
    if loudest <= 0:
        return (0,) * count
    return tuple(min(PEAK, round(PEAK * level / loudest)) for level in levels)


def pcm_waveform(pcm: bytes, rate: int, count: int | None = None) -> tuple[int, ...]:
    """The same from raw 16-bit little-endian bytes (read natively: Debian's targets are all
    little-endian)."""
    usable = len(pcm) - len(pcm) % 2
    return waveform(memoryview(pcm[:usable]).cast("h"), rate, count)
