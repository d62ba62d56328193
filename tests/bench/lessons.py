"""Lessons benchmark: the lookup a task makes before its plan ask, with many stored lessons.

Run: .venv/bin/python -m tests.bench.lessons [--lessons 10000] [--lookups 300] [--seed 17]

A real store (`Store.open`, SQLite in WAL with FULL sync, as the bots run it) in a temporary
directory is filled through `LessonStore.add` with `--lessons` lessons, each about as long as
`tasks.lesson_chars` (1500 characters by default): missions and texts drawn from a
vocabulary of Korean and English task words, hosts, commands and error lines, with Korean
particles glued on as the master writes them. Then, measured on the event loop as the
coordinator calls them:

- the lookup: `similar(mission, 3, exclude_task=…)` for `--lookups` new missions drawn the
  same way (the `tasks.lessons_in_prompt` default is 3): p50 / p95 / max, target p95 < 20 ms;
- `search(words, 10)` (`!lessons <words>`) the same way;
- the baseline, in the same run: a primary-key read of one lesson (`get(id)`) on the same
  store — what any store call costs at least (aiosqlite's thread hop plus one B-tree
  lookup); each figure is also printed as a ratio to it;
- how many lessons a lookup found (a lookup that finds nothing is cheap and proves nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from bots.store import Store

T = TypeVar("T")
TARGET_P95_MS = 20.0
LESSON_CHARS = 1500
HOSTS = [f"web-{n}" for n in range(1, 9)] + ["db-1", "db-2", "cache-1", "local", "edge-1"]
_KOREAN_NOUNS = (
    "디스크 로그 인증서 백업 패키지 서비스 설정 메모리 사용량 용량 캐시 커널 방화벽 포트 "
    "사용자 권한 도커 컨테이너 이미지 볼륨 크론 스케줄 타임존 시간 동기화 데이터베이스"
)
_ENGLISH_NOUNS = (
    "disk log certificate backup package service config memory usage cache kernel firewall "
    "port user docker container image volume cron timezone ntp database nginx redis postgres "
    "apt journal swap inode upgrade restart reload rotate vacuum snapshot replica"
)
NOUNS = f"{_KOREAN_NOUNS} {_ENGLISH_NOUNS}".split(" ")
_VERBS = "정리 확인 갱신 설치 삭제 재시작 점검 교체 복구 clean check renew install remove"
VERBS = f"{_VERBS}".split(" ")
PARTICLES = ["", "", "의", "를", "을", "에서", "가", "는"]
COMMANDS = [
    "df -h",
    "du -sh /var/log",
    "apt-get clean",
    "apt-get upgrade -y",
    "journalctl --vacuum-size=200M",
    "systemctl restart nginx",
    "nginx -t",
    "certbot renew",
    "docker system prune -f",
    "find /var/log -name '*.gz' -mtime +14 -delete",
    "pg_dump -Fc app > /backup/app.dump",
    "logrotate -f /etc/logrotate.conf",
]
ERRORS = [
    "E: You don't have enough free space in /var/cache/apt/archives/.",
    "No space left on device",
    "Job for nginx.service failed because the control process exited with error code.",
    "certbot: error: too many certificates already issued",
    "permission denied",
    "connection refused",
]


def mission(rng: random.Random) -> str:
    words = [rng.choice(HOSTS) + rng.choice(PARTICLES)]
    words += [rng.choice(NOUNS) + rng.choice(PARTICLES) for _ in range(rng.randint(1, 3))]
    words.append(rng.choice(VERBS) + rng.choice(["", "해줘", "해주세요"]))
    return " ".join(words)


def lesson_text(rng: random.Random, n: int, what: str) -> str:
    """A lesson shaped as `bots.tasks.lessons.lesson_from` writes one, about LESSON_CHARS."""
    host = rng.choice(HOSTS)
    lines = [f"Task #{n} (completed on attempt 2): {what}", "Plan:"]
    lines += [f"  {host}$ {rng.choice(COMMANDS)}" for _ in range(rng.randint(1, 3))]
    lines.append(f"Failed (attempt 1): step 1 on {host}, failed, exit 1: {rng.choice(COMMANDS)}")
    output: list[str] = []
    while sum(len(x) + 5 for x in output) < LESSON_CHARS - 500:
        output.append(rng.choice([*ERRORS, f"{rng.choice(NOUNS)} {rng.randint(1, 99)}%"]))
    lines.append("  output: " + "\n    ".join(output))
    lines.append(f"Fix that worked (attempt 2): {rng.choice(ERRORS)} — {rng.choice(COMMANDS)}")
    lines.append(f"  {host}$ {rng.choice(COMMANDS)}")
    lines.append("Outcome: completed.")
    return "\n".join(lines)[:LESSON_CHARS]


def _megabytes(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.iterdir()) / 1e6


async def timed(call: Callable[[T], Awaitable[object]], inputs: Sequence[T]) -> list[float]:
    """Milliseconds of `call` on each input, one after another."""
    times = []
    for value in inputs:
        start = time.perf_counter()
        await call(value)
        times.append((time.perf_counter() - start) * 1000)
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def line(name: str, values: list[float], base: float) -> str:
    p50, p95 = statistics.median(values), pct(values, 0.95)
    return (
        f"{name:<28} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  max {max(values):7.2f} ms  "
        f"(p95 {p95 / base:5.1f}x the baseline's)"
    )


async def run(lessons: int, lookups: int, seed: int) -> bool:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="chavion-bench-lessons-") as tmp:
        async with await Store.open(Path(tmp) / "chavion.db") as store:
            started = time.perf_counter()
            for n in range(1, lessons + 1):
                what = mission(rng)
                await store.lessons.add(
                    n, mission=what, outcome="completed", text=lesson_text(rng, n, what), now=n
                )
            filled = time.perf_counter() - started
            size = await asyncio.to_thread(_megabytes, Path(tmp))
            print(f"{lessons} lessons stored in {filled:.1f} s ({size:.0f} MB with the index)")

            missions = [mission(rng) for _ in range(lookups)]
            ids = [rng.randint(1, lessons) for _ in range(lookups)]
            # Warm the page cache and the statements first, as a running coordinator has.
            found = [0]

            async def lookup(case: tuple[str, int]) -> None:
                found[0] += len(await store.lessons.similar(case[0], 3, exclude_task=case[1]))

            async def search(words: str) -> None:
                await store.lessons.search(" ".join(words.split()[:2]), 10)

            cases = list(zip(missions, ids, strict=True))
            # Warm the page cache and the statements first, as a running coordinator has.
            await timed(lookup, cases[:20])
            base = await timed(store.lessons.get, ids)
            found[0] = 0
            similar = await timed(lookup, cases)
            searched = await timed(search, missions)
    base_p95 = pct(base, 0.95)
    print(
        f"{'baseline: get(id)':<28} p50 {statistics.median(base):7.2f} ms  p95 {base_p95:7.2f} ms"
    )
    print(line("similar(mission, 3)", similar, base_p95))
    print(line("search(words, 10)", searched, base_p95))
    print(f"lessons found per lookup: {found[0] / lookups:.2f} (of 3)")
    ok = pct(similar, 0.95) < TARGET_P95_MS
    print(f"target p95 < {TARGET_P95_MS:.0f} ms: {'met' if ok else 'MISSED'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--lessons", type=int, default=10_000)
    parser.add_argument("--lookups", type=int, default=300)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    ok = asyncio.run(run(args.lessons, args.lookups, args.seed))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
