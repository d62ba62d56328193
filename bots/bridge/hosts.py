"""The executor hosts as the dashboard shows them: load, CPUs, memory and disk, read by one
fixed, read-only probe over the executor's own kept SSH connections.

The probe is the constant `PROBE`, never built from input, so nothing the dashboard is sent
can make it run anything else. Its output is read by `parse_probe`, a pure function; the
figures are kept `CACHE_SECONDS` so a page reload does not open an SSH channel per host.
When the executor runs in another process there are no connections here: each host is
shown as not probed (`reachable=None`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from bridge.http.ports import HostCard

log = logging.getLogger(__name__)

PROBE = "cat /proc/loadavg; nproc; free -b; df -P /"
CACHE_SECONDS = 60.0
PROBE_TIMEOUT = 10.0


@dataclass(frozen=True)
class Figures:
    load: float
    cpus: int
    memory_pct: float
    disk_pct: float


class ProbeError(ValueError):
    """The probe's output is not what the four commands print."""


def parse_probe(output: str) -> Figures:
    """`/proc/loadavg`, `nproc`, `free -b` and `df -P /`, in that order.

    Memory used is total minus available (what `free` counts as reclaimable is not used),
    or the `used` column when `free` is too old to print `available`; disk used is df's
    used out of used plus available, as df's own Capacity (the root's reserve excluded).
    """
    lines = [line.split() for line in output.splitlines() if line.strip()]
    if len(lines) < 2:
        raise ProbeError("the probe printed less than the load and the CPU count")
    try:
        load = float(lines[0][0])
        cpus = int(lines[1][0])
    except (ValueError, IndexError):
        raise ProbeError(f"no load average and CPU count in {output[:80]!r}") from None
    return Figures(load, cpus, _memory(lines[2:]), _disk(lines[2:]))


def _memory(lines: list[list[str]]) -> float:
    header = next((line for line in lines if "total" in line and "used" in line), None)
    row = next((line for line in lines if line[0] == "Mem:"), None)
    if header is None or row is None:
        raise ProbeError("no `free` table in the probe's output")
    values = dict(zip(header, row[1:], strict=False))
    try:
        total = int(values["total"])
        used = total - int(values["available"]) if "available" in values else int(values["used"])
    except (KeyError, ValueError):
        raise ProbeError(f"unreadable memory line {' '.join(row)!r}") from None
    if total <= 0:
        raise ProbeError("free reports no memory")
    return round(100.0 * used / total, 1)


def _disk(lines: list[list[str]]) -> float:
    header = next((i for i, line in enumerate(lines) if line[0] == "Filesystem"), None)
    if header is None or header + 1 >= len(lines):
        raise ProbeError("no `df` table in the probe's output")
    row = lines[header + 1]
    try:
        used, available = int(row[2]), int(row[3])
    except (ValueError, IndexError):
        raise ProbeError(f"unreadable disk line {' '.join(row)!r}") from None
    if used + available <= 0:
        return 0.0
    return round(100.0 * used / (used + available), 1)


class ProbeResult(Protocol):
    @property
    def exit_status(self) -> int | None: ...
    @property
    def stdout(self) -> str: ...
    @property
    def stderr(self) -> str: ...
    @property
    def timed_out(self) -> bool: ...


class Runner(Protocol):
    """What the probe needs of the executor's `CommandRunner`."""

    async def run(
        self, host: str, command: str, *, timeout: float | None = None
    ) -> ProbeResult: ...


class HostWatch:
    """The hosts' cards, probed at most once per `CACHE_SECONDS` (all hosts at once)."""

    def __init__(
        self,
        names: Iterable[str],
        runner: Runner | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._names = tuple(names)
        self._runner = runner
        self._clock = clock
        self._cards: list[HostCard] = [_unprobed(name) for name in self._names]
        self._checked: float | None = None
        self._lock = asyncio.Lock()

    async def cards(self) -> tuple[list[HostCard], bool]:
        """The cards, and whether they were probed just now (then the feed tells of them)."""
        if self._runner is None:
            return self._cards, False
        async with self._lock:
            now = self._clock()
            if self._checked is not None and now - self._checked < CACHE_SECONDS:
                return self._cards, False
            self._cards = list(await asyncio.gather(*(self._probe(n) for n in self._names)))
            self._checked = now
            return self._cards, True

    async def _probe(self, name: str) -> HostCard:
        assert self._runner is not None
        try:
            result = await self._runner.run(name, PROBE, timeout=PROBE_TIMEOUT)
        except Exception as exc:  # unreachable, refused, an unknown host: shown, not raised
            return _failed(name, self._clock(), str(exc) or type(exc).__name__)
        if result.timed_out or result.exit_status != 0:
            why = "timed out" if result.timed_out else f"exit status {result.exit_status}"
            return _failed(name, self._clock(), f"the probe failed ({why}): {result.stderr[:200]}")
        try:
            found = parse_probe(result.stdout)
        except ProbeError as exc:
            return HostCard(name, True, None, None, None, None, self._clock(), str(exc))
        return HostCard(
            name,
            True,
            found.load,
            found.cpus,
            found.memory_pct,
            found.disk_pct,
            self._clock(),
            None,
        )


def _unprobed(name: str) -> HostCard:
    return HostCard(name, None, None, None, None, None, None, None)


def _failed(name: str, at: float, error: str) -> HostCard:
    return HostCard(name, False, None, None, None, None, at, error)
