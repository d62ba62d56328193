"""Reading the `health` and `digest` sections; every problem names its dotted key."""

from __future__ import annotations

import re

from bots.settings.health import DigestSettings, HealthSettings
from bots.settings.reader import Node

DAY = 24 * 3600
_MOUNT = re.compile(r"/[A-Za-z0-9._/-]*")
"""A mount point the fixed probe may name: absolute, no spaces or shell characters."""
_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
# (key, lowest, highest) of the figures, with the default in HealthSettings.
_FIGURES = (
    ("interval_seconds", 1.0, float(DAY)),
    ("disk_pct", 1.0, 100.0),
    ("memory_pct", 1.0, 100.0),
    ("load_per_cpu", 0.1, 1000.0),
    ("disk_full_hours", 0.1, 24.0 * 365),
    ("trend_hours", 0.25, 24.0 * 30),
)


def parse_health(health: Node, digest: Node) -> HealthSettings:
    defaults = HealthSettings()
    figures = {name: health.get(name, float, getattr(defaults, name)) for name, _, _ in _FIGURES}
    for name, lowest, highest in _FIGURES:
        if not lowest <= figures[name] <= highest:
            raise health.error(name, f"must be between {lowest:g} and {highest:g}")
    confirm = health.get("confirm_readings", int, defaults.confirm_readings)
    if not 1 <= confirm <= 10:
        raise health.error("confirm_readings", "must be between 1 and 10")
    failures = health.get("provider_failures", int, defaults.provider_failures)
    if not 1 <= failures <= 100:
        raise health.error("provider_failures", "must be between 1 and 100")
    mounts = health.strings("mounts", defaults.mounts)
    for mount in mounts:
        if not _MOUNT.fullmatch(mount):
            raise health.error(
                "mounts", f'{mount!r} is not a plain absolute path (example: ["/", "/data"])'
            )
    settings = HealthSettings(
        enabled=health.get("enabled", bool, defaults.enabled),
        confirm_readings=confirm,
        provider_failures=failures,
        mounts=mounts or defaults.mounts,
        digest=_digest(digest),
        **figures,
    )
    health.reject_unknown()
    return settings


def _digest(node: Node) -> DigestSettings:
    raw = node.raw("at")
    node.reject_unknown()
    if raw is None:
        return DigestSettings()
    if isinstance(raw, int) and not isinstance(raw, bool):
        # YAML 1.1 reads an unquoted 07:00 as the number 420 (base 60).
        raise node.error("at", 'write the time in quotes, as "07:00"')
    found = _TIME.fullmatch(raw.strip()) if isinstance(raw, str) else None
    if found is None:
        raise node.error("at", f'{raw!r} is not a time of day; write it as "07:00"')
    return DigestSettings(at=(int(found.group(1)), int(found.group(2))))
