"""What every connection to Chavion's database shares: how long a write waits for the lock.

Several connections write the same file (the bots' store, the executor's audit and plan
memory, other processes). A writer holds the lock for its whole transaction, and a
transaction spans event-loop turns; with many tasks at once on a busy loop that is seconds,
not milliseconds. A writer that gives up then loses what it was writing (a claim, a step's
result), so the wait is long: a late write costs latency, a lost one costs correctness.

Within one connection shared by several sub-stores (the bots' store), `Writer` keeps their
writes apart: one lock for every write, so a statement never joins another's transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Written:
    """What a write statement did: rows changed, and the row id an INSERT gave."""

    rowcount: int
    lastrowid: int | None


class Transaction:
    """The statements of one open transaction; the writer's lock is already held, so these
    do not take it again (it is not re-entrant)."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> Written:
        cursor = await self._db.execute(sql, tuple(params))
        return Written(cursor.rowcount, cursor.lastrowid)

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Any | None:
        """A read inside the transaction, or a write's `RETURNING` row."""
        return await fetch_one(self._db, sql, params)

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        return await fetch_all(self._db, sql, params)


class Writer:
    """The one way to write on a connection that several sub-stores share: every write,
    a single statement or a transaction, holds one lock.

    The bots' store is one autocommit connection: a statement sent while another coroutine
    has a transaction open on it (`BEGIN IMMEDIATE … COMMIT`) becomes part of that
    transaction, and is lost with it on `ROLLBACK`. Reads take no lock. A write started by
    the coroutine that holds the lock raises at once instead of waiting for itself forever.
    """

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task[Any] | None = None

    @property
    def lock(self) -> asyncio.Lock:
        return self._lock

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> Written:
        """One statement, committed on its own."""
        async with self._held():
            cursor = await self._db.execute(sql, tuple(params))
            return Written(cursor.rowcount, cursor.lastrowid)

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        """One statement over many rows (SQLite runs it as one statement per row; they all
        go in under one hold of the lock)."""
        async with self._held():
            await self._db.executemany(sql, [tuple(row) for row in rows])

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Any | None:
        """A write's `RETURNING` row (or None when it changed nothing)."""
        async with self._held():
            return await fetch_one(self._db, sql, params)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """`BEGIN IMMEDIATE`, the body's statements, then `COMMIT`; `ROLLBACK` when the
        body (or the commit) fails. Nothing else writes on the connection meanwhile."""
        async with self._held():
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._db)
                await self._db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):
                    await self._db.execute("ROLLBACK")
                raise

    @contextlib.asynccontextmanager
    async def _held(self) -> AsyncIterator[None]:
        me = asyncio.current_task()
        if me is not None and self._holder is me:
            raise RuntimeError(
                "a store write inside another write of the same coroutine: the write lock "
                "is not re-entrant (use the open transaction's statements)"
            )
        async with self._lock:
            self._holder = me
            try:
                yield
            finally:
                self._holder = None
