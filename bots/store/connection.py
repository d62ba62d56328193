"""What every connection to Chavion's database shares: how long a write waits for the lock.

Several connections write the same file (the bots' store, the executor's audit and plan
memory, other processes). A writer holds the lock for its whole transaction, and a
transaction spans event-loop turns; with many tasks at once on a busy loop that is seconds,
not milliseconds. A writer that gives up then loses what it was writing (a claim, a step's
result), so the wait is long: a late write costs latency, a lost one costs correctness.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import aiosqlite

from bots.errors import StoreError

BUSY_TIMEOUT_MS = 30_000


async def connect_migrated(path: Path, *, version: int, needed_by: str) -> aiosqlite.Connection:
    """A connection of its own to a database `Store.open` has migrated to at least `version`
    (the executor's audit and plan memory keep their transactions apart from the bots').

    FULL sync: a row lost on power loss (an intent row, an approval) could let a command run
    a second time or without its approval's record."""
    try:
        db = await aiosqlite.connect(path, isolation_level=None)
    except aiosqlite.Error as exc:
        raise StoreError(f"cannot open the store at {path}: {exc}") from exc
    try:
        await db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        await db.execute("PRAGMA synchronous=FULL")
        row = await fetch_one(db, "PRAGMA user_version")
        found = int(row[0]) if row else 0
        if found < version:
            raise StoreError(
                f"the store at {path} is at schema version {found}; {needed_by} "
                f"{version} (open it with Store.open first, which migrates)"
            )
    except BaseException as exc:
        await db.close()
        if isinstance(exc, aiosqlite.Error):
            raise StoreError(f"cannot open the store at {path}: {exc}") from exc
        raise
    return db


async def fetch_one(db: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> Any | None:
    """The first row of a query, or None. The statement runs to its end in one call on the
    connection's thread: a cursor left open between calls holds a read snapshot, and a write
    another coroutine sends on the same connection meanwhile then fails at once with
    "database is locked" when another connection has written since (no busy wait helps)."""
    for row in await db.execute_fetchall(sql, tuple(params)):
        return row
    return None


async def fetch_all(db: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> list[Any]:
    """Every row of a query, run to its end in one call (see `fetch_one`)."""
    return list(await db.execute_fetchall(sql, tuple(params)))
