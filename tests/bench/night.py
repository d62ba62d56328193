"""The night quiet rule's cost on every send.

Run: .venv/bin/python -m tests.bench.night [--sends 20000]

Every reply of every bot passes through `NightQuiet` (issue 19). Measured per notifying
reply, against the floor measured in the same run (the pure rule alone, no store): by day
(no window: the answer is cached for `night.quiet_cache_seconds`), and at night (the window
is read again before each reply it quiets, so a stopped night is seen at once), on a real
store on disk.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bots.ids import RoomID, UserID
from bots.message import Reply
from bots.night.quiet import NightQuiet, quieted
from bots.store import Store

MASTER = UserID("@master:bench")
REPLY = Reply(RoomID("!room:bench"), "hello", notice=False, mention=(MASTER,))


async def per_send(quiet: NightQuiet, sends: int) -> list[float]:
    timings = []
    for _ in range(sends):
        began = time.perf_counter()
        await quiet.reply(REPLY)
        timings.append(time.perf_counter() - began)
    return timings


def floor(sends: int) -> list[float]:
    timings = []
    for _ in range(sends):
        began = time.perf_counter()
        quieted(REPLY, MASTER, True)
        timings.append(time.perf_counter() - began)
    return timings


def line(name: str, timings: list[float], base: float) -> str:
    mean = statistics.fmean(timings) * 1e6
    p95 = statistics.quantiles(timings, n=20)[18] * 1e6
    return f"{name:<28} mean {mean:8.2f} µs  p95 {p95:8.2f} µs  ({mean / base:7.1f}x the floor)"


async def main(sends: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with await Store.open(Path(tmp) / "bench.db") as store:
            base = floor(sends)
            day = await per_send(NightQuiet(store.night, MASTER, cache_seconds=5.0), sends)
            now = time.time()
            granted = await store.night.grant(
                starts_at=now - 60,
                ends_at=now + 8 * 3600,
                budget_usd=2.0,
                hosts=["local"],
                allow_preset="readonly",
                allow_globs=["*"],
                granted_by=MASTER,
            )
            assert granted is not None
            night = await per_send(NightQuiet(store.night, MASTER, cache_seconds=5.0), sends)
    mean = statistics.fmean(base) * 1e6
    print(f"night quiet rule, {sends} notifying replies each")
    print(line("floor: the pure rule", base, mean))
    print(line("by day (no window, cached)", day, mean))
    print(line("at night (a store read)", night, mean))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=20_000)
    asyncio.run(main(parser.parse_args().sends))
