"""The executor's health job: each host reachable, its disks, memory and load, and each
disk's trend. Runs where the SSH engine is (the executor bot), on its kept connections,
with the one fixed read-only probe of `bots.health.probe`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from bots.bridge.hosts import PROBE_TIMEOUT, ProbeError, Runner
from bots.health.book import Send, Told
from bots.health.probe import HostFigures, parse_host, probe_command
from bots.health.states import Reading
from bots.health.trend import describe, forecast
from bots.health.watch import HealthWatch
from bots.settings.health import HealthSettings
from bots.store.health import DiskSample, HealthStore

PREFIXES = ("host:", "disk:", "memory:", "load:", "full:")


class HostHealthJob(HealthWatch):
    """A `BackgroundJob` of the executor bot."""

    what = "host health"

    def __init__(
        self,
        hosts: Sequence[str],
        runner: Runner,
        store: HealthStore,
        send: Send,
        settings: HealthSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(store, send, settings, clock)
        self._hosts = tuple(hosts)
        self._runner = runner
        self._command = probe_command(settings.mounts)

    async def check_once(self) -> list[Told]:
        """One round over every host at once; what the master was told."""
        told = await self.book.make_good(PREFIXES)
        found = await asyncio.gather(*(self._readings(host) for host in self._hosts))
        now = self._clock()
        told += await self.book.record([r for readings in found for r in readings], now)
        await self._store.prune_samples(now - self._settings.trend_hours * 3600)
        return told

    async def _readings(self, host: str) -> list[Reading]:
        try:
            result = await self._runner.run(host, self._command, timeout=PROBE_TIMEOUT)
        except Exception as exc:  # unreachable, refused, unknown: that is the reading
            return [Reading(f"host:{host}", True, str(exc) or type(exc).__name__)]
        if result.timed_out or result.exit_status != 0:
            why = "timed out" if result.timed_out else f"exit status {result.exit_status}"
            return [Reading(f"host:{host}", True, f"the probe failed ({why})")]
        try:
            figures = parse_host(result.stdout, self._settings.mounts)
        except ProbeError as exc:
            return [Reading(f"host:{host}", False, f"reachable; {exc}")]
        return [Reading(f"host:{host}", False, "reachable"), *await self._judged(host, figures)]

    async def _judged(self, host: str, found: HostFigures) -> list[Reading]:
        limits = self._settings
        figures = found.figures
        per_cpu = figures.load / max(figures.cpus, 1)
        readings = [
            Reading(
                f"memory:{host}",
                figures.memory_pct > limits.memory_pct,
                f"{figures.memory_pct:.0f}% used (threshold {limits.memory_pct:.0f}%)",
            ),
            Reading(
                f"load:{host}",
                per_cpu > limits.load_per_cpu,
                f"load {figures.load:.2f} on {figures.cpus} CPUs "
                f"(threshold {limits.load_per_cpu:g} per CPU)",
            ),
        ]
        now = self._clock()
        for use in found.mounts:
            readings.append(
                Reading(
                    f"disk:{host}:{use.mount}",
                    use.pct > limits.disk_pct,
                    f"{use.pct:.0f}% used (threshold {limits.disk_pct:.0f}%)",
                )
            )
            await self._store.add_sample(host, use.mount, DiskSample(now, use.used, use.size))
            since = now - limits.trend_hours * 3600
            ahead = forecast(await self._store.samples(host, use.mount, since))
            filling = ahead is not None and ahead.hours_to_full <= limits.disk_full_hours
            text = describe(host, use.mount, ahead) if ahead is not None else "not filling"
            readings.append(Reading(f"full:{host}:{use.mount}", filling, text))
        return readings
