"""From WAV or PCM to a `VoiceClip`: the one road every text-to-speech backend takes, so the
waveform is computed from the audio and the duration read from the encoded stream alike.

Both readings are pure Python over every byte (~60 ms for a minute of speech), so they run in
a worker thread: the event loop all bots share keeps serving while a report is encoded."""

from __future__ import annotations

import asyncio

from bridge.speech import VoiceClip
from bridge.speech.ogg import read_ogg_opus
from bridge.speech.opus import DEFAULT_TIMEOUT_S, Encoder, encode_ogg_opus
from bridge.speech.wav import Pcm
from bridge.speech.waveform import pcm_waveform, point_count


async def clip_from_pcm(
    pcm: Pcm, encoder: Encoder | None = None, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> VoiceClip:
    data = await encode_ogg_opus(pcm, encoder, timeout_s=timeout_s)
    info = await asyncio.to_thread(read_ogg_opus, data)
    # As many points as the stated duration gets, so the event's two figures always agree.
    count = point_count(info.duration_ms)
    points = await asyncio.to_thread(pcm_waveform, pcm.samples, pcm.rate, count)
    return VoiceClip(data, info.duration_ms, points)
