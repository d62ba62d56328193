"""Minutes benchmark: the store's search and the engine's per-tick query at scale.

Run: .venv/bin/python -m tests.bench.minutes [--minutes 10000] [--queries 200]

A store on a temporary file with `--minutes` task minutes (English and Korean texts, a
status report each, every task finished and its minutes asked and stored) is measured for:

- `!minutes search` (FTS5, prefix words, best match first): p50/p95 over `--queries` one-
  and two-word queries, half of them Korean;
- the tick's `awaited` query (finished tasks waiting for their minutes), run every second
  by the engine: p50/p95 with all those tasks in the store.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from bots.ids import EventID, RoomID, UserID
from bots.store import Store

ROOM = RoomID("!council:bench")
WORDS = [
    "nginx", "caddy", "postgres", "upgrade", "disk", "backup", "certificate", "restart",
    "web-1", "db-2", "memory", "swap", "kernel", "firewall", "docker", "logrotate",
    "디스크", "백업", "인증서", "재시작", "업그레이드", "메모리", "방화벽", "로그",
]  # fmt: skip
KOREAN = [w for w in WORDS if not w.isascii()]


SYLLABLES = ["ka", "ro", "mi", "te", "su", "na", "po", "li", "ve", "do", "서", "버", "가", "는"]


def filler(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def text(rng: random.Random, n: int) -> str:
    """Minutes of about 60 words: mostly varied filler, three of the searched words."""
    words = [filler(rng) for _ in range(57)] + [rng.choice(WORDS) for _ in range(3)]
    rng.shuffle(words)
    said = " ".join(words)
    return f"#{n} 🗒️ Minutes of task #{n}: check {rng.choice(WORDS)}\n\n{said}"


async def fill(store: Store, count: int, rng: random.Random) -> None:
    for n in range(1, count + 1):
        task, _ = await store.tasks.create(
            intake_key=f"$t{n}",
            room_id=ROOM,
            thread_root=EventID(f"$t{n}"),
            mission=f"check {rng.choice(WORDS)}",
            priority="medium",
            requester=UserID("@master:bench"),
            source="bench",
            now=float(n),
        )
        await store.tasks.move(task.id, "pending", "failed", actor="bench", reason="", now=n)
        await store.tasks.record_action(task.id, "minutes-ask", EventID(f"$a{n}"), float(n))
        await store.minutes.add(
            task_id=task.id,
            room_id=ROOM,
            thread_root=EventID(f"$t{n}"),
            text=text(rng, n),
            status="Done: —\nErrors: —\nFixed: —\nOn hold: —",
            author="gpt",
            event_id=EventID(f"$m{n}"),
            now=float(n),
        )


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"p50 {statistics.median(ordered) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


async def main(count: int, queries: int) -> None:
    rng = random.Random(17)
    with tempfile.TemporaryDirectory() as where:
        store = await Store.open(Path(where) / "bench.db")
        started = time.perf_counter()
        await fill(store, count, rng)
        print(f"{count} minutes stored in {time.perf_counter() - started:.1f} s")
        searched: list[float] = []
        hits = 0
        for i in range(queries):
            pool = KOREAN if i % 2 else WORDS
            query = " ".join(rng.choice(pool)[:3] for _ in range(1 + i % 2))
            began = time.perf_counter()
            hits += len(await store.minutes.search(query))
            searched.append(time.perf_counter() - began)
        print(f"search ({queries} queries, {hits} results shown): {percentiles(searched)}")
        ticks: list[float] = []
        for _ in range(100):
            began = time.perf_counter()
            await store.minutes.awaited(
                asked_key="minutes-ask", posted_key="minutes", waiting_only=True
            )
            ticks.append(time.perf_counter() - began)
        print(f"the tick's query over {count} finished tasks: {percentiles(ticks)}")
        await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.minutes, args.queries))
