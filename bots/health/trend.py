"""When a disk will be full at its current rate: a least-squares line over recent samples.

Pure. The slope of used bytes over time is the rate; a disk that is not growing (flat,
shrinking, or noise around flat with a negative slope) has no time to full. Too few samples,
or samples over too short a time, say nothing rather than guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bots.store.health import DiskSample

MIN_SAMPLES = 4
MIN_SPAN_SECONDS = 600.0
"""At least ten minutes between the first and the last sample: a few seconds of writes
say nothing about the hours ahead."""


@dataclass(frozen=True)
class Forecast:
    used_pct: float
    bytes_per_hour: float
    hours_to_full: float


def forecast(samples: Sequence[DiskSample]) -> Forecast | None:
    """The time to full at the fitted rate, from the newest sample; None when the disk is
    not filling or the samples are too few or too close together."""
    if len(samples) < MIN_SAMPLES:
        return None
    ordered = sorted(samples, key=lambda s: s.at)
    if ordered[-1].at - ordered[0].at < MIN_SPAN_SECONDS:
        return None
    mean_t = sum(s.at for s in ordered) / len(ordered)
    mean_u = sum(s.used for s in ordered) / len(ordered)
    spread = sum((s.at - mean_t) ** 2 for s in ordered)
    slope = sum((s.at - mean_t) * (s.used - mean_u) for s in ordered) / spread  # bytes/s
    last = ordered[-1]
    if slope <= 0 or last.size <= 0:
        return None
    left = max(last.size - last.used, 0)
    return Forecast(
        used_pct=round(100.0 * last.used / last.size, 1),
        bytes_per_hour=slope * 3600,
        hours_to_full=left / slope / 3600,
    )


def size_text(size: float) -> str:
    """Bytes in the decimal units `df -H` uses: "1.2 GB", "650 MB"."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(size) >= scale:
            value = size / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{size:.0f} B"


def hours_text(hours: float) -> str:
    if hours < 1:
        return f"{max(round(hours * 60), 1)} min"
    return f"{round(hours)} h"


def describe(host: str, mount: str, found: Forecast) -> str:
    """ "/ on web: 91%, full in about 7 h at 1.2 GB/h"."""
    return (
        f"{mount} on {host}: {found.used_pct:.0f}%, full in about "
        f"{hours_text(found.hours_to_full)} at {size_text(found.bytes_per_hour)}/h"
    )
