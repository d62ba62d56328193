"""Local text-to-speech benchmark: a ~60-second spoken report, Korean and English.

Run: .venv/bin/python -m tests.bench.voice_tts [--rounds 3] [--seconds 60]

Subject: `LocalSpeaker.synthesize` end to end (espeak-ng → WAV → waveform → opusenc, or
ffmpeg, → Ogg/Opus → duration read back), with opusenc and, when installed, with ffmpeg.
Baseline in the same run, interleaved round by round: espeak-ng writing the WAV alone (the
speech itself), so the ratio shows what encoding for Element costs on top.

Figures per language and path, best and median of --rounds: wall time, CPU time of the
child processes (resource.getrusage RUSAGE_CHILDREN) and of this process (the waveform and
the Ogg reading run here), the real-time factor (wall time / audio length) and the ratio to
the baseline. Nothing is asserted: the figures are for reading.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import statistics
import sys
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from bridge.speech.local_tts import LocalSpeaker, espeak_argv
from bridge.speech.opus import Encoder, find_encoder, run_tool
from bridge.speech.wav import parse_wav

REPORTS = {
    "ko": (
        "클로드의 보고입니다. 오늘 밤 작업은 모두 끝났습니다. 웹 서버 세 대의 디스크 "
        "사용량을 확인했고, 두 대는 정상이며 한 대는 팔십오 퍼센트로 높습니다. 오래된 "
        "로그 파일을 압축하면 약 이십 기가바이트를 확보할 수 있습니다. 승인하시면 "
        "내일 아침에 진행하겠습니다. "
    ),
    "en": (
        "Claude reporting. Tonight's tasks are all done. Disk usage on the three web "
        "servers was checked: two are fine, one is at eighty-five percent. Compressing the "
        "old log files would free about twenty gigabytes. With your approval this runs "
        "tomorrow morning. "
    ),
}


T = TypeVar("T")


@dataclass(frozen=True)
class Sample:
    wall_s: float
    children_cpu_s: float
    self_cpu_s: float


async def measure(work: Awaitable[T]) -> tuple[Sample, T]:
    """`work` awaited (it starts only here), timed, and its result."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    result = await work
    wall = time.perf_counter() - started
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own_after = resource.getrusage(resource.RUSAGE_SELF)
    sample = Sample(
        wall,
        (children_after.ru_utime + children_after.ru_stime)
        - (children.ru_utime + children.ru_stime),
        (own_after.ru_utime + own_after.ru_stime) - (own.ru_utime + own.ru_stime),
    )
    return sample, result


async def espeak_wav(text: str, voice: str) -> bytes:
    espeak = shutil.which("espeak-ng") or "espeak-ng"
    return await run_tool(espeak_argv(espeak, voice), text.encode(), timeout_s=300, what="espeak")


async def report_text(language: str, seconds: float) -> tuple[str, float]:
    """The report repeated until espeak-ng speaks it for at least `seconds`."""
    paragraph = REPORTS[language]
    one = parse_wav(await espeak_wav(paragraph, language)).duration_ms / 1000
    times = max(1, round(seconds / one))
    text = paragraph * times
    return text, parse_wav(await espeak_wav(text, language)).duration_ms / 1000


def line(label: str, samples: list[Sample], audio_s: float, baseline: list[Sample]) -> str:
    walls = [s.wall_s for s in samples]
    best, median = min(walls), statistics.median(walls)
    children = statistics.median(s.children_cpu_s for s in samples)
    own = statistics.median(s.self_cpu_s for s in samples)
    ratio = median / statistics.median(s.wall_s for s in baseline)
    return (
        f"  {label:<22} wall best {best * 1000:7.0f} ms  median {median * 1000:7.0f} ms  "
        f"CPU children {children * 1000:6.0f} ms  self {own * 1000:5.0f} ms  "
        f"RTF {median / audio_s:.4f}  x{ratio:.2f} of baseline"
    )


async def bench(rounds: int, seconds: float) -> None:
    encoders = [e for e in (find_encoder(), _ffmpeg()) if e is not None]
    if shutil.which("espeak-ng") is None or not encoders:
        sys.exit("needs espeak-ng and opusenc or ffmpeg: run scripts/voice-tools as root")
    print(f"local TTS of a ~{seconds:.0f} s report, {rounds} rounds, best and median")
    for language in REPORTS:
        text, audio_s = await report_text(language, seconds)
        speakers = {e.name: LocalSpeaker(encoder=e) for e in encoders}
        baseline: list[Sample] = []
        results: dict[str, list[Sample]] = {name: [] for name in speakers}
        clip_ms: dict[str, int] = {}
        for _ in range(rounds):
            sample, _ = await measure(espeak_wav(text, language))
            baseline.append(sample)
            for name, speaker in speakers.items():
                sample, clip = await measure(speaker.synthesize(text, language))
                results[name].append(sample)
                clip_ms[name] = clip.duration_ms
        print(f"{language}: {len(text)} characters, {audio_s:.1f} s of speech")
        print(line("espeak-ng → WAV (base)", baseline, audio_s, baseline))
        for name, samples in results.items():
            size = f"clip {clip_ms[name] / 1000:.1f} s"
            print(line(f"… → Ogg/Opus ({name})", samples, audio_s, baseline) + f"  {size}")


def _ffmpeg() -> Encoder | None:
    path = shutil.which("ffmpeg")
    return Encoder("ffmpeg", path) if path and find_encoder() != Encoder("ffmpeg", path) else None


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    asyncio.run(bench(args.rounds, args.seconds))


if __name__ == "__main__":
    main()
