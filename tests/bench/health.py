"""Health benchmark: what one round of checks costs the store, and the digest's queries.

Run: .venv/bin/python -m tests.bench.health [--hosts 20] [--rounds 72]

A real store (`Store.open`, WAL, FULL sync, as the bots run it) in a temporary directory.
Each round judges what the executor's job judges per host (reachable, memory, load, one
disk, its trend: five subjects), adds the disk sample and fits the trend over the samples
kept (`--rounds` 72 is six hours at the default five minutes), all through `HealthBook` and
`HealthStore` as `HostHealthJob` does, without SSH (the probe's own cost is the host's).

Printed: per host and round, p50 / p95 / max; the baseline in the same run, one primary-key
read of a health state (what any store call costs at least), and each figure as a ratio to
it; then the daily digest's facts (tasks, commands, spend, waits) on the same store.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bots.health.book import HealthBook
from bots.health.digest import local_days
from bots.health.states import Reading
from bots.health.trend import forecast
from bots.store import Store
from bots.store.health import DiskSample

GB = 1_000_000_000


async def quiet(body: str, key: str, urgent: bool) -> object:
    return None


def summary(label: str, samples: list[float], base: float) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1000
    p95 = ordered[int(0.95 * (len(ordered) - 1))] * 1000
    return (
        f"{label:<34} p50 {p50:7.3f} ms  p95 {p95:7.3f} ms  max {ordered[-1] * 1000:7.3f} ms"
        f"  ({p50 / (base * 1000):.1f}x baseline)"
    )


async def run(hosts: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with await Store.open(Path(folder) / "bench.db") as store:
            health = store.health
            book = HealthBook(health, quiet, confirm=2)
            per_host: list[float] = []
            reads: list[float] = []
            now = 1_000_000.0
            for round_number in range(rounds):
                for host in range(hosts):
                    name = f"web-{host}"
                    began = time.perf_counter()
                    await health.add_sample(
                        name, "/", DiskSample(now, int((50 + round_number * 0.01) * GB), 100 * GB)
                    )
                    ahead = forecast(await health.samples(name, "/", now - 6 * 3600))
                    await book.record(
                        [
                            Reading(f"host:{name}", False, "reachable"),
                            Reading(f"memory:{name}", False, "40%"),
                            Reading(f"load:{name}", False, "0.5"),
                            Reading(f"disk:{name}:/", False, "50%"),
                            Reading(f"full:{name}:/", ahead is not None, "trend"),
                        ],
                        now,
                    )
                    per_host.append(time.perf_counter() - began)
                    began = time.perf_counter()
                    await health.state(f"host:{name}")
                    reads.append(time.perf_counter() - began)
                now += 300
            base = statistics.median(reads)
            print(f"{hosts} hosts x {rounds} rounds, samples kept: {rounds} per mount")
            print(summary("baseline: one state read", reads, base))
            print(summary("one host's round (5 subjects)", per_host, base))
            digest: list[float] = []
            for _ in range(50):
                began = time.perf_counter()
                yesterday, today = local_days(now, "Asia/Seoul")
                await store.digests.finished_tasks(now - 86400, now)
                await store.digests.commands_run(now - 86400, now)
                await store.usage.all_totals(yesterday)
                await store.usage.all_totals(today)
                await store.digests.waiting_tasks()
                await store.polls.open_polls()
                digest.append(time.perf_counter() - began)
            print(summary("the digest's facts", digest, base))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=72)
    args = parser.parse_args()
    asyncio.run(run(args.hosts, args.rounds))


if __name__ == "__main__":
    main()
