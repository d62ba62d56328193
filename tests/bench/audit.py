"""Audit benchmark: the approval-window lookup (`approved_under`) on a long audit log,
with and without the `audit_log_event` index (migration v14).

Run: .venv/bin/python -m tests.bench.audit [--rows 100000] [--lookups 300] [--seed 17]

A real store (`Store.open`, SQLite in WAL with FULL sync, as the bots run it) in a temporary
directory, and the executor's `AuditStore` on its own connection, as the executor opens it.
The log is filled with `--rows` audit rows in one transaction (the fill is not what is
measured): plans of 4 steps, each step a request with its rows as the executor writes
them — `request` (the asking event), `decision`, `approval` (the ✅ event, naming the
plan's event in `detail`), `start`, `end`. Then, measured on the event loop as the executor
calls it: `approved_under(approval_event, plan_event)` for `--lookups` plans drawn at
random, p50 / p95 / max, first without the index (dropped), then with it (created again),
and the same primary-key baseline as the other store benches (`get(request_id)`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from bots.ids import EventID, RequestID
from bots.store import Store
from bots.store.audit import AuditStore

T = TypeVar("T")
STEPS = 4
ROWS_PER_STEP = 5
INDEX = "CREATE INDEX audit_log_event ON audit_log (event_id)"


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


def line(name: str, values: list[float]) -> str:
    return (
        f"{name:<40} p50 {statistics.median(values):8.3f} ms  p95 {pct(values, 0.95):8.3f} ms  "
        f"max {max(values):8.3f} ms"
    )


async def fill(audit: AuditStore, rows: int) -> int:
    """`rows` audit rows (and their requests) in one transaction; the number of plans."""
    plans = max(rows // (STEPS * ROWS_PER_STEP), 1)
    log: list[tuple[object, ...]] = []
    requests: list[tuple[object, ...]] = []
    for p in range(plans):
        plan_event, approval = f"$plan{p}", f"$approve{p}"
        for s in range(1, STEPS + 1):
            rid = f"t{p}-a1-s{s}"
            at = float(p * 10 + s)
            requests.append(
                (rid, "d" * 16, "web-1", "df -h", "@c:x", "succeeded", at, at, "!r:x", f"$ask{p}")
            )
            detail = json.dumps({"plan_event": plan_event, "step": s})
            for kind, event in (
                ("request", f"$ask{p}-{s}"),
                ("decision", None),
                ("approval", approval),
                ("start", None),
                ("end", None),
            ):
                log.append((at, rid, kind, "@master:x", event, "web-1", "d" * 16, detail))
    db = audit._db  # the bench fills the log in bulk; the store appends one row at a time
    await db.execute("BEGIN IMMEDIATE")
    await db.executemany(
        "INSERT INTO exec_requests (request_id, digest, host, command, requester, state, "
        "created_at, updated_at, room_id, event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        requests,
    )
    await db.executemany(
        "INSERT INTO audit_log (at, request_id, kind, actor, event_id, host, command_digest, "
        "detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        log,
    )
    await db.execute("COMMIT")
    return plans


async def run(rows: int, lookups: int, seed: int) -> bool:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="chavion-bench-audit-") as tmp:
        path = Path(tmp) / "chavion.db"
        async with await Store.open(path):
            audit = await AuditStore.open(path)
            try:
                started = time.perf_counter()
                plans = await fill(audit, rows)
                print(
                    f"{plans * STEPS * ROWS_PER_STEP} audit rows ({plans} plans) stored in "
                    f"{time.perf_counter() - started:.1f} s"
                )
                picks = [rng.randrange(plans) for _ in range(lookups)]
                found = [0]

                async def window(p: int) -> None:
                    steps = await audit.approved_under(
                        EventID(f"$approve{p}"), EventID(f"$plan{p}")
                    )
                    found[0] += len(steps)

                async def get(p: int) -> None:
                    await audit.get(RequestID(f"t{p}-a1-s1"))

                db = audit._db
                await db.execute("DROP INDEX audit_log_event")
                await timed(window, picks[:5])  # warm the page cache, as a running executor has
                before = await timed(window, picks)
                await db.execute(INDEX)
                await timed(window, picks[:5])
                found[0] = 0
                after = await timed(window, picks)
                base = await timed(get, picks)
            finally:
                await audit.close()
    print(line("baseline: get(request_id)", base))
    print(line("approved_under, no index (v13)", before))
    print(line("approved_under, audit_log_event (v14)", after))
    print(f"steps found per lookup: {found[0] / lookups:.2f} (of {STEPS})")
    speedup = pct(before, 0.95) / pct(after, 0.95)
    print(f"p95 {speedup:.0f}x faster with the index")
    return found[0] == lookups * STEPS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=300)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    ok = asyncio.run(run(args.rows, args.lookups, args.seed))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
