"""Chavion's own database (SQLite through aiosqlite). The only place that holds SQL.

Migrations run in order, each in one transaction with its version bump, so a crash
mid-upgrade leaves a known version; a database newer than this code is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from pathlib import Path
from types import TracebackType

import aiosqlite

from bots.errors import StoreError
from bots.store.agent_flags import AgentFlags
from bots.store.agent_models import AgentModels
from bots.store.bridge_tokens import BridgeTokens
from bots.store.connection import BUSY_TIMEOUT_MS, Writer, fetch_one
from bots.store.dashboard_links import DashboardLinks
from bots.store.digests import DigestStore
from bots.store.errors import converted
from bots.store.health import HealthStore
from bots.store.ledger import LedgerStore
from bots.store.lessons import LessonStore
from bots.store.migrations import STEPS
from bots.store.minutes import MinutesStore
from bots.store.night import NightStore
from bots.store.pending_answers import PendingAnswers
from bots.store.polls import PollStore
from bots.store.routines import RoutineStore
from bots.store.schedules import ScheduleStore
from bots.store.task_parts import PartStore
from bots.store.task_records import TaskRecords
from bots.store.tasks import TaskStore
from bots.store.usage import UsageStore
from bots.store.voice import VoiceStore

HANDLED_EVENTS_KEPT_SECONDS = 14 * 24 * 3600


def statements(sql: str) -> list[str]:
    """A script's statements, split where SQLite ends them: never inside a trigger body
    (`BEGIN …; END`) or a string. `executescript` would split for us but commits first,
    which would break the one-transaction-per-step rule."""
    found: list[str] = []
    buffer = ""
    for piece in sql.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip().removesuffix(";").strip()
            if statement:
                found.append(statement)
            buffer = ""
    if buffer.strip().removesuffix(";").strip():
        found.append(buffer.strip().removesuffix(";").strip())
    return found


async def _use_wal(db: aiosqlite.Connection) -> None:
    """Switch a new store to WAL. On a fresh file other openers may be switching or
    migrating at the same moment, and SQLite then answers "database is locked" at once,
    without waiting out the busy timeout (it would deadlock), so wait here instead."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.02)


class Store:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        # ONE lock for every write on this connection (autocommit): a statement sent while
        # a transaction is open would join it, and be lost with its rollback.
        self._writes = Writer(db)
        self._tasks: TaskStore | None = None

    @classmethod
    async def open(cls, path: Path) -> Store:
        """Open (creating if need be) and migrate; several processes may do this at once."""
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = await aiosqlite.connect(path, isolation_level=None)
        except aiosqlite.Error as exc:
            raise StoreError(f"cannot open the store at {path}: {exc}") from exc
        store = cls(db)
        try:
            await db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            await _use_wal(db)
            await db.execute("PRAGMA foreign_keys=ON")
            # Not NORMAL: in WAL a power loss could drop a claim or intent row, so a command reruns.
            await db.execute("PRAGMA synchronous=FULL")
            await store._migrate()
        except BaseException as exc:
            # An open connection's thread would keep the process alive after the error.
            with contextlib.suppress(Exception):
                await db.close()
            if isinstance(exc, aiosqlite.Error):
                raise StoreError(f"cannot open the store at {path}: {exc}") from exc
            raise
        return store

    @property
    def agent_flags(self) -> AgentFlags:
        return AgentFlags(self._db, self._writes)

    @property
    def bridge_tokens(self) -> BridgeTokens:
        """The HTTP bridge's tokens, one per external agent, kept hashed."""
        return BridgeTokens(self._db, self._writes)

    @property
    def dashboard_links(self) -> DashboardLinks:
        """The dashboard's one-time links and the master's dashboard token, kept hashed."""
        return DashboardLinks(self._db, self._writes)

    @property
    def agent_models(self) -> AgentModels:
        """Models the master switched agents to (`!model`), read before each model call."""
        return AgentModels(self._db, self._writes)

    @property
    def routines(self) -> RoutineStore:
        """Saved routines (`!routine`): a mission and the plan that worked."""
        return RoutineStore(self._db, self._writes)

    @property
    def schedules(self) -> ScheduleStore:
        """Recurring missions (`!schedule`), claimed run by run so runs never overlap."""
        return ScheduleStore(self._db, self._writes)

    @property
    def parts(self) -> PartStore:
        """The parts of split tasks: who does each, its try, how it ended."""
        return PartStore(self._db, self._writes)

    @property
    def task_records(self) -> TaskRecords:
        """What agents' records per kind of task are counted from (`!stats`)."""
        return TaskRecords(self._db)

    @property
    def pending_answers(self) -> PendingAnswers:
        """Questions claimed and not yet answered, to answer again after a crash."""
        return PendingAnswers(self._db, self._writes)

    @property
    def tasks(self) -> TaskStore:
        """The coordinator's tasks; always the same one (its writes hold the store's lock)."""
        if self._tasks is None:
            self._tasks = TaskStore(self._db, self._writes)
        return self._tasks

    @property
    def lessons(self) -> LessonStore:
        """What the council learned from finished tasks."""
        return LessonStore(self._db, self._writes)

    @property
    def polls(self) -> PollStore:
        """The master's own polls (`!poll`), on this store's connection."""
        return PollStore(self._db, self._writes)

    @property
    def minutes(self) -> MinutesStore:
        """Minutes of tasks and discussions, searchable (bots.store.minutes)."""
        return MinutesStore(self._db, self._writes)

    @property
    def night(self) -> NightStore:
        """Night envelopes (`!night`): the window, what it covers, its morning report."""
        return NightStore(self._db, self._writes)

    @property
    def ledger(self) -> LedgerStore:
        """The spend ledger: reservations before model calls, task caps, benched agents."""
        return LedgerStore(self._db, self._writes)

    @property
    def usage(self) -> UsageStore:
        """Agents' token and cost records, on this store's connection."""
        return UsageStore(self._db, self._writes)

    @property
    def health(self) -> HealthStore:
        """Health checks' states, disk samples and agents' failed calls (issue 19)."""
        return HealthStore(self._db, self._writes)

    @property
    def digests(self) -> DigestStore:
        """The master's digests sent, and what they count (issue 19)."""
        return DigestStore(self._db, self._writes)

    async def close(self) -> None:
        await self._db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def schema_version(self) -> int:
        with converted("reading the schema version"):
            return await self._version()

    async def _version(self) -> int:
        row = await fetch_one(self._db, "PRAGMA user_version")
        return int(row[0]) if row else 0

    async def _migrate(self) -> None:
        """Apply the missing steps, each under the write lock with its version bump.

        The version is read again once the lock is held: another process opening the same
        store may have applied a step between our first look and our `BEGIN IMMEDIATE`.
        """
        self._refuse_newer(await self._version())
        for version, sql in STEPS:
            if version <= await self._version():
                continue
            async with self._writes.transaction() as tx:
                current = await self._version()
                self._refuse_newer(current)
                if version > current:
                    for statement in statements(sql):
                        await tx.execute(statement)
                    await tx.execute(f"PRAGMA user_version={version}")

    @staticmethod
    def _refuse_newer(current: int) -> None:
        latest = STEPS[-1][0]
        if current > latest:
            raise StoreError(
                f"the store is at schema version {current}, newer than this Chavion knows "
                f"({latest}); upgrade Chavion instead of running an older one on it"
            )

    async def ping(self) -> None:
        """One trivial read (`/health`): raises `StoreError` when the database cannot answer,
        also once the store was closed (aiosqlite says that with a ValueError)."""
        with converted("the store"):
            try:
                await fetch_one(self._db, "SELECT 1")
            except ValueError as exc:
                raise StoreError(f"the store cannot be read: {exc}") from exc

    async def sync_token(self, bot: str) -> str | None:
        with converted("the store"):
            row = await fetch_one(
                self._db, "SELECT next_batch FROM sync_state WHERE bot = ?", (bot,)
            )
            return str(row[0]) if row else None

    async def save_sync_token(self, bot: str, next_batch: str) -> None:
        with converted("the store"):
            await self._writes.execute(
                "INSERT INTO sync_state (bot, next_batch, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (bot) DO UPDATE SET next_batch = excluded.next_batch, "
                "updated_at = excluded.updated_at",
                (bot, next_batch, time.time()),
            )

    async def claim_event(self, bot: str, event_id: str, room_id: str) -> bool:
        """True the first time a bot sees an event; false on every replay after that."""
        with converted("the store"):
            cursor = await self._writes.execute(
                "INSERT OR IGNORE INTO handled_events (bot, event_id, room_id, handled_at) "
                "VALUES (?, ?, ?, ?)",
                (bot, event_id, room_id, time.time()),
            )
            return cursor.rowcount == 1

    async def forget_old_events(self, now: float | None = None) -> int:
        with converted("the store"):
            cutoff = (now or time.time()) - HANDLED_EVENTS_KEPT_SECONDS
            cursor = await self._writes.execute(
                "DELETE FROM handled_events WHERE handled_at < ?", (cutoff,)
            )
            return cursor.rowcount

    @property
    def voice(self) -> VoiceStore:
        """`!voice` settings and the plans read out to the master (issue 20)."""
        return VoiceStore(self._db, self._writes)
