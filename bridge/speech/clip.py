"""From WAV or PCM to a `VoiceClip`: the one road every text-to-speech backend takes, so the
waveform is computed from the audio and the duration read from the encoded stream alike."""

from __future__ import annotations

from bridge.speech import VoiceClip
from bridge.speech.ogg import read_ogg_opus
from bridge.speech.opus import DEFAULT_TIMEOUT_S, Encoder, encode_ogg_opus
from bridge.speech.wav import Pcm
from bridge.speech.waveform import pcm_waveform


async def clip_from_pcm(
    pcm: Pcm, encoder: Encoder | None = None, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> VoiceClip:
    data = await encode_ogg_opus(pcm, encoder, timeout_s=timeout_s)
    info = read_ogg_opus(data)
    return VoiceClip(data, info.duration_ms, pcm_waveform(pcm.samples, pcm.rate))
