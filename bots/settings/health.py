"""The `health` and `digest` sections (issue 19): how often the council checks itself, what
counts as trouble, and when the master's daily digest goes out."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DigestSettings:
    """`at`: the local time ("07:00", in the configured zone) of the daily digest; None: no
    daily digest (`!digest` still sends one)."""

    at: tuple[int, int] | None = None


@dataclass(frozen=True)
class HealthSettings:
    enabled: bool = True
    interval_seconds: float = 300.0
    confirm_readings: int = 2
    """Bad readings in a row before a subject counts as down: one flap is not an outage."""
    mounts: tuple[str, ...] = ("/",)
    disk_pct: float = 90.0
    memory_pct: float = 90.0
    load_per_cpu: float = 2.0
    disk_full_hours: float = 24.0
    trend_hours: float = 6.0
    """How far back the disk trend's samples go (older ones are pruned)."""
    provider_failures: int = 3
    """Failed model calls in a row before an agent's provider counts as failing."""
    digest: DigestSettings = field(default_factory=DigestSettings)
