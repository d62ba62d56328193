"""The store: migrations in order and once even with openers racing, newer schemas refused,
events claimed once."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bots.errors import StoreError
from bots.store import HANDLED_EVENTS_KEPT_SECONDS, Store, statements
from bots.store.connection import BUSY_TIMEOUT_MS, fetch_one
from bots.store.migrations import STEPS


async def test_a_new_store_is_migrated_to_the_latest_version(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "s.db") as store:
        assert await store.schema_version() == STEPS[-1][0]


async def test_reopening_keeps_data(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "s.db") as store:
        await store.save_sync_token("claude", "s1")
    async with await Store.open(tmp_path / "s.db") as store:
        assert await store.sync_token("claude") == "s1"
        assert await store.sync_token("gpt") is None


async def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    async with aiosqlite.connect(tmp_path / "s.db") as db:
        await db.execute("PRAGMA user_version=999")
        await db.commit()
    with pytest.raises(StoreError, match="newer than this Chavion knows"):
        await Store.open(tmp_path / "s.db")


async def test_an_event_is_claimed_once_per_bot(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "s.db") as store:
        assert await store.claim_event("claude", "$e", "!r") is True
        assert await store.claim_event("claude", "$e", "!r") is False
        assert await store.claim_event("gpt", "$e", "!r") is True


async def test_old_claims_are_forgotten(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "s.db") as store:
        await store.claim_event("claude", "$e", "!r")
        assert await store.forget_old_events(now=time.time() + HANDLED_EVENTS_KEPT_SECONDS + 1) == 1


# Several processes open one store at once: `chavion up` starts every bot, and the CLI may
# open the store while they do. Each opener must end on the latest schema, none may fail.
REPO = Path(__file__).resolve().parents[2]
OPENER = """
import asyncio, sys
from pathlib import Path
from bots.store import Store

async def main() -> None:
    async with await Store.open(Path(sys.argv[1])) as store:
        print(await store.schema_version(), flush=True)

print("ready", flush=True)
sys.stdin.readline()
asyncio.run(main())
"""


async def open_in_processes(path: Path, count: int) -> list[int]:
    """Open the store from `count` processes released together; their schema versions."""
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            OPENER,
            str(path),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=REPO,
        )
        for _ in range(count)
    ]
    try:
        for child in children:  # every one imported and waiting...
            assert child.stdout is not None
            assert await child.stdout.readline() == b"ready\n"
        for child in children:  # ...then all go at once
            assert child.stdin is not None
            child.stdin.write(b"go\n")
        versions = []
        for child in children:
            out, err = await asyncio.wait_for(child.communicate(), timeout=60)
            assert child.returncode == 0, err.decode()
            versions.append(int(out))
        return versions
    finally:
        for child in children:
            if child.returncode is None:
                child.kill()
                await child.wait()


async def open_on_connections(path: Path, count: int) -> list[int]:
    """Open the store on `count` connections of this process at once (one thread each)."""

    async def one() -> int:
        async with await Store.open(path) as store:
            return await store.schema_version()

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def migrate_to(path: Path, version: int) -> None:
    """A store left at `version` by an older Chavion."""
    async with aiosqlite.connect(path, isolation_level=None) as db:
        for step, sql in STEPS:
            if step <= version:
                for statement in statements(sql):
                    await db.execute(statement)
        await db.execute(f"PRAGMA user_version={version}")


OpenAtOnce = Callable[[Path, int], Awaitable[list[int]]]

SIMULTANEOUS = [
    ("8 connections, fresh store", open_on_connections, 8, 0),
    ("8 connections, store one step behind", open_on_connections, 8, STEPS[-2][0]),
    ("4 processes, fresh store", open_in_processes, 4, 0),
]


@pytest.mark.parametrize(
    ("open_at_once", "count", "start_version"),
    [case[1:] for case in SIMULTANEOUS],
    ids=[case[0] for case in SIMULTANEOUS],
)
async def test_openers_at_once_all_reach_the_latest_version(
    tmp_path: Path, open_at_once: OpenAtOnce, count: int, start_version: int
) -> None:
    path = tmp_path / "s.db"
    if start_version:
        await migrate_to(path, start_version)
    assert await open_at_once(path, count) == [STEPS[-1][0]] * count
    async with await Store.open(path) as store:  # and every step ran exactly once
        await store.save_sync_token("claude", "s1")
        assert await store.sync_token("claude") == "s1"


async def test_switching_to_wal_waits_for_another_openers_write_lock(tmp_path: Path) -> None:
    """While another connection holds the write lock on a fresh (not yet WAL) file, SQLite
    answers the switch to WAL "database is locked" at once, busy timeout or not."""
    path = tmp_path / "s.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE another_opener (x)")
    asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")
    try:
        async with await Store.open(path) as store:
            assert await store.schema_version() == STEPS[-1][0]
    finally:
        other.close()


def newer_schema(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version=999")


def not_a_database(path: Path) -> None:
    path.write_bytes(b"this is not SQLite " * 100)


UNUSABLE = [
    ("newer schema", newer_schema, "newer than this Chavion knows"),
    ("not a database", not_a_database, "cannot open the store at .*: file is not a database"),
]


@pytest.mark.parametrize(
    ("spoil", "message"), [case[1:] for case in UNUSABLE], ids=[case[0] for case in UNUSABLE]
)
async def test_an_unusable_store_is_refused_and_closed_again(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    spoil: Callable[[Path], None],
    message: str,
) -> None:
    """A StoreError, never a raw sqlite error; and the connection is closed, since its
    thread would otherwise keep the process alive after the error."""
    spoil(tmp_path / "s.db")
    opened: list[aiosqlite.Connection] = []
    connect = aiosqlite.connect

    def recording(*args: Any, **kwargs: Any) -> aiosqlite.Connection:
        opened.append(connect(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(aiosqlite, "connect", recording)
    with pytest.raises(StoreError, match=message):
        await Store.open(tmp_path / "s.db")
    with pytest.raises(ValueError, match=r"no active connection|Connection closed"):
        await opened[0].execute("SELECT 1")


@pytest.mark.parametrize(
    ("table", "query"),
    [
        ("handled_events", lambda store: store.claim_event("bot", "$e", "!r")),
        ("sync_state", lambda store: store.sync_token("bot")),
        ("agent_usage", lambda store: store.usage.totals("claude", "2026-01-01")),
        ("agent_flags", lambda store: store.agent_flags.is_muted("claude")),
    ],
    ids=["claims", "sync tokens", "usage", "agent flags"],
)
async def test_a_query_error_leaves_the_store_as_a_store_error(
    tmp_path: Path, table: str, query: Callable[[Store], Awaitable[object]]
) -> None:
    async with await Store.open(tmp_path / "s.db") as store:
        await store._db.execute(f"DROP TABLE {table}")
        with pytest.raises(StoreError, match="no such table"):
            await query(store)


async def test_a_read_left_open_makes_a_later_write_fail_at_once(tmp_path: Path) -> None:
    """Why the store reads only through `fetch_one`/`fetch_all`: a cursor left open between
    two calls holds a read snapshot, and once another connection has written, a write on this
    connection fails with "database is locked" at once, whatever the busy timeout."""
    path = tmp_path / "s.db"
    async with await Store.open(path):
        pass
    async with (
        aiosqlite.connect(path, isolation_level=None) as shared,
        aiosqlite.connect(path, isolation_level=None) as other,
    ):
        await shared.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        await other.execute("INSERT INTO sync_state VALUES ('z', 's0', 1.0)")
        cursor = await shared.execute("SELECT bot FROM sync_state")  # a read, not yet fetched
        await other.execute("INSERT INTO sync_state VALUES ('a', 's1', 1.0)")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await shared.execute("INSERT INTO sync_state VALUES ('b', 's2', 1.0)")
        await cursor.close()
        assert await fetch_one(shared, "SELECT next_batch FROM sync_state WHERE bot = 'a'")
        await other.execute("INSERT INTO sync_state VALUES ('c', 's3', 1.0)")
        await shared.execute("INSERT INTO sync_state VALUES ('b', 's2', 1.0)")  # no snapshot held


def test_the_store_reads_only_through_fetch_one_and_fetch_all() -> None:
    """No cursor in the store outlives the call that made it (see the test above)."""
    store_dir = Path(__file__).parents[2] / "bots" / "store"
    offenders = [
        f"{path.name}:{number}"
        for path in sorted(store_dir.glob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if ".fetchone()" in line or ".fetchall()" in line or "async with self._db.execute" in line
    ]
    assert offenders == []
