"""One fixed, read-only probe of a host for the health watch: load, CPUs, memory, and each
configured mount's disk in bytes (the disk trend needs sizes, not only a percentage).

The command is built once from the configured mounts, which the config allows only as plain
absolute paths, and is quoted anyway; nothing a message says can change it.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from bots.bridge.hosts import Figures, ProbeError, parse_probe


@dataclass(frozen=True)
class MountUse:
    mount: str
    used: int
    size: int
    """Used plus available, in bytes, as df's own Capacity counts (root's reserve left out)."""

    @property
    def pct(self) -> float:
        return round(100.0 * self.used / self.size, 1) if self.size > 0 else 0.0


@dataclass(frozen=True)
class HostFigures:
    figures: Figures
    mounts: tuple[MountUse, ...]


def probe_command(mounts: Sequence[str]) -> str:
    return "cat /proc/loadavg; nproc; free -b; df -P -k " + " ".join(map(shlex.quote, mounts))


def parse_host(output: str, mounts: Sequence[str]) -> HostFigures:
    """The probe's output read; a mount df did not list is left out (raises `ProbeError`
    when load, CPUs or memory cannot be read)."""
    figures = parse_probe(output)
    rows = [line.split() for line in output.splitlines() if line.strip()]
    header = next((i for i, row in enumerate(rows) if row[0] == "Filesystem"), len(rows))
    found: dict[str, MountUse] = {}
    for row in rows[header + 1 :]:
        if len(row) < 6:
            continue
        try:
            used, available = int(row[2]) * 1024, int(row[3]) * 1024
        except ValueError:
            continue
        mount = " ".join(row[5:])
        found[mount] = MountUse(mount, used, used + available)
    # df names the mount a path lives on, which is the configured one for a mount point.
    ordered = [found[m] for m in mounts if m in found]
    ordered += [use for m, use in found.items() if m not in mounts][: len(mounts) - len(ordered)]
    if not ordered and mounts:
        raise ProbeError("no `df` rows in the probe's output")
    return HostFigures(figures, tuple(ordered))
