"""The waveform Element draws: 30–120 points of 0–1024, one per 250 ms, loudest at 1024."""

from __future__ import annotations

import math
import struct

import pytest

from bridge.speech.waveform import MAX_POINTS, MIN_POINTS, pcm_waveform, point_count, waveform

RATE = 8_000


@pytest.mark.parametrize(
    ("duration_ms", "points"),
    [
        (0, 30),
        (1_000, 30),
        (7_500, 30),
        (7_750, 31),
        (10_000, 40),
        (29_999, 120),
        (30_000, 120),
        (600_000, 120),
    ],
    ids=[
        "empty",
        "one-second",
        "lower-edge",
        "just-past-lower",
        "ten-seconds",
        "near-upper",
        "upper-edge",
        "ten-minutes",
    ],
)
def test_one_point_per_quarter_second_within_element_bounds(duration_ms: int, points: int) -> None:
    assert point_count(duration_ms) == points


def tone(seconds: float, loudness: float) -> list[int]:
    return [
        round(loudness * 32767 * math.sin(2 * math.pi * 440 * i / RATE))
        for i in range(round(seconds * RATE))
    ]


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        ([], (0,) * 30),
        ([0] * RATE, (0,) * 30),
        ([1000] * RATE, (1024,) * 30),
        ([-1000] * RATE, (1024,) * 30),
        ([1000] * (RATE // 2) + [0] * (RATE // 2), (1024,) * 15 + (0,) * 15),
        ([1000] * (RATE // 2) + [500] * (RATE // 2), (1024,) * 15 + (512,) * 15),
    ],
    ids=["no-samples", "silence", "constant", "negative", "loud-then-silent", "loud-then-half"],
)
def test_points_are_rms_loudness_scaled_to_the_loudest(
    samples: list[int], expected: tuple[int, ...]
) -> None:
    assert waveform(samples, RATE) == expected


@pytest.mark.parametrize(
    "seconds", [0.2, 3.0, 12.0, 45.0, 90.0], ids=["blip", "short", "mid", "long", "report"]
)
def test_every_clip_gets_element_bounds_and_range(seconds: float) -> None:
    points = waveform(tone(seconds, 0.3), RATE)
    assert MIN_POINTS <= len(points) <= MAX_POINTS
    assert len(points) == point_count(round(seconds * 1000))
    assert all(0 <= p <= 1024 for p in points)
    assert max(points) == 1024


def test_a_tone_fading_in_rises_point_by_point() -> None:
    samples = [round(v * i / (3 * RATE)) for i, v in enumerate(tone(3.0, 0.9))]
    points = waveform(samples, RATE)
    assert list(points) == sorted(points)
    assert points[0] < 100
    assert points[-1] == 1024


def test_pcm_bytes_read_as_little_endian_16_bit_and_an_odd_byte_is_dropped() -> None:
    samples = [1000] * (RATE // 2) + [0] * (RATE // 2)
    pcm = struct.pack(f"<{len(samples)}h", *samples) + b"\x7f"
    assert pcm_waveform(pcm, RATE) == waveform(samples, RATE)


@pytest.mark.parametrize("count", [30, 31, 77, 120], ids=["min", "odd", "middle", "max"])
def test_a_given_count_is_kept_so_it_matches_the_stated_duration(count: int) -> None:
    points = waveform(tone(7.49, 0.5), RATE, count)
    assert len(points) == count
    assert max(points) == 1024
