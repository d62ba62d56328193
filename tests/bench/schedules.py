"""Scheduler benchmark (issue 19): 1,000 schedules in the store.

Run: .venv/bin/python -m tests.bench.schedules [--schedules 1000] [--idle 10] [--repeat 5]

(a) start-up: the `SchedulerJob` from `run_background` (synced already) to its first idle
    sleep (config synced, one round over every schedule), against the same with 0
    schedules, measured in the same run.
(b) idle CPU: the process CPU time while the job sleeps between rounds for `--idle`
    seconds of wall time, against a bare idle event loop for as long.
(c) one round over all schedules (what every wake costs), against one round over none.

The job runs on the real store (aiosqlite, WAL) and the real task engine with a recording
homeserver (`tests.support.task_engine`), on the wall clock; every schedule is due hours
from now, so nothing fires while measured.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bots.coordinator.scheduler import SchedulerJob
from bots.tasks.schedule_runs import first_run
from bots.tasks.schedule_text import ScheduleSpec, parse_schedule
from tests.support.task_engine import MASTER, Bench, open_bench

FORMS = ("daily {h:02d}:{m:02d}", "every {n}h", '"{m} {h} * * mon-fri"', "매일 {h}시")


def _spec(i: int) -> ScheduleSpec:
    hour, minute = (i * 7) % 24, (i * 13) % 60
    text = FORMS[i % len(FORMS)].format(h=hour, m=minute, n=2 + i % 20)
    found = parse_schedule(text, "Asia/Seoul")
    assert isinstance(found, ScheduleSpec), found
    return found


async def _filled(root: Path, count: int) -> Bench:
    bench = await open_bench(root)
    now = time.time()
    for i in range(count):
        spec = _spec(i)
        nxt = max(first_run(spec, now) or now, now + 2 * 3600)  # never due while measured
        await bench.store.schedules.add(
            kind=spec.kind,
            cron=spec.cron,
            seconds=spec.seconds,
            zone=spec.zone,
            text=spec.text,
            mission=f"mission {i}",
            priority="medium",
            created_by=MASTER,
            now=now,
            next_run_at=nxt,
        )
    return bench


async def _start_up(bench: Bench, idle: float) -> tuple[float, float]:
    """(seconds from start to the first idle sleep, CPU seconds over `idle` s asleep)."""
    job = SchedulerJob(bench.bot, bench.service, clock=time.time)
    synced, stop = asyncio.Event(), asyncio.Event()
    synced.set()
    started = time.perf_counter()
    running = asyncio.create_task(job.run_background(synced, stop))
    await job.idle.wait()
    took = time.perf_counter() - started
    cpu = 0.0
    if idle > 0:
        before = time.process_time()
        await asyncio.sleep(idle)
        cpu = time.process_time() - before
    stop.set()
    await running
    assert job.counts.failures == 0
    assert job.counts.fired == 0
    return took, cpu


async def _round(bench: Bench) -> float:
    job = SchedulerJob(bench.bot, bench.service, clock=time.time)
    started = time.perf_counter()
    await job.run_round()
    return time.perf_counter() - started


async def _bare_idle(seconds: float) -> float:
    before = time.process_time()
    await asyncio.sleep(seconds)
    return time.process_time() - before


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


async def main(count: int, idle: float, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        full = await _filled(Path(tmp) / "full", count)
        empty = await _filled(Path(tmp) / "empty", 0)
        try:
            ups = [(await _start_up(full, 0))[0] for _ in range(repeat)]
            base_ups = [(await _start_up(empty, 0))[0] for _ in range(repeat)]
            rounds = [await _round(full) for _ in range(repeat)]
            base_rounds = [await _round(empty) for _ in range(repeat)]
            _, idle_cpu = await _start_up(full, idle)
            bare_cpu = await _bare_idle(idle)
        finally:
            await full.store.close()
            await empty.store.close()
    up, base_up = statistics.median(ups), statistics.median(base_ups)
    one, base_one = statistics.median(rounds), statistics.median(base_rounds)
    print(f"schedules in the store: {count}; medians of {repeat}")
    print(
        f"(a) start-up to first idle: {_ms(up)} with {count}, {_ms(base_up)} with 0: "
        f"{up / base_up:.1f}x"
    )
    print(
        f"(b) idle CPU over {idle:g} s: {_ms(idle_cpu)} with {count} (job asleep), "
        f"{_ms(bare_cpu)} for a bare idle loop: {idle_cpu / max(bare_cpu, 1e-6):.1f}x "
        f"({idle_cpu / idle * 100:.3f}% of one core)"
    )
    print(
        f"(c) one round over every schedule: {_ms(one)} with {count}, {_ms(base_one)} with 0: "
        f"{one / base_one:.1f}x (one round a minute at most while idle)"
    )


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.schedules, args.idle, args.repeat))


if __name__ == "__main__":
    cli()
