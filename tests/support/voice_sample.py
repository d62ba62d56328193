"""A real Ogg/Opus voice clip for tests (tests/fixtures/voice.ogg, how it was made is in the
README there), with the duration and a waveform as Element would send them."""

from __future__ import annotations

from pathlib import Path

from bridge.speech import VoiceClip

SAMPLE_PATH = Path(__file__).resolve().parents[1] / "fixtures" / "voice.ogg"
SAMPLE_OGG = SAMPLE_PATH.read_bytes()
SAMPLE_DURATION_MS = 1500
SAMPLE_WAVEFORM = tuple([0, 512, 1024, 768] * 10)
"""40 points in 0–1024, inside Element's 30–120."""


def sample_clip() -> VoiceClip:
    return VoiceClip(SAMPLE_OGG, SAMPLE_DURATION_MS, SAMPLE_WAVEFORM)
