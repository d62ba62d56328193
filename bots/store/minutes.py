"""Minutes as records: one per task (or many per room for discussions), searchable.

The full-text index (`minutes_fts`, FTS5) is kept by triggers inside the insert's own
transaction, so a row is never stored without its index entry. A search reads each word as
a prefix (`"디스크"*` finds "디스크가": Korean particles stick to the word), all words
required, best match first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import aiosqlite

from bots.ids import EventID, RoomID
from bots.store.connection import Writer, fetch_all, fetch_one
from bots.store.errors import converted
from bots.store.tasks import FINAL_SQL

SEARCH_WORDS = 8
"""Words of a query beyond this many are ignored."""


@dataclass(frozen=True)
class MinutesRecord:
    """Minutes as posted: `task_id` None for a broadcast discussion; `status` is the
    fixed-format status report ("" for a discussion)."""

    id: int
    task_id: int | None
    room_id: RoomID
    thread_root: EventID | None
    text: str
    status: str
    author: str
    event_id: EventID | None
    created_at: float


_COLUMNS = ", ".join(f.name for f in fields(MinutesRecord))
_QUALIFIED = ", ".join(f"m.{f.name}" for f in fields(MinutesRecord))


class MinutesStore:
    def __init__(self, db: aiosqlite.Connection, writes: Writer) -> None:
        self._db = db
        self._writes = writes

    async def add(
        self,
        *,
        task_id: int | None,
        room_id: RoomID,
        thread_root: EventID | None,
        text: str,
        status: str,
        author: str,
        event_id: EventID | None,
        now: float,
    ) -> tuple[MinutesRecord, bool]:
        """Stores minutes; for a task only once (the record already stored comes back, with
        False). A discussion's minutes are always new."""
        with converted("the minutes store"):
            async with self._writes.transaction() as tx:
                if task_id is not None:
                    found = await self._one("WHERE task_id = ?", (task_id,))
                    if found is not None:
                        return found, False
                row = await tx.fetch_one(
                    "INSERT INTO minutes (task_id, room_id, thread_root, text, status, author, "
                    f"event_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
                    (task_id, room_id, thread_root, text, status, author, event_id, now),
                )
        assert row is not None
        return _record(row), True

    async def for_task(self, task_id: int) -> MinutesRecord | None:
        with converted("the minutes store"):
            return await self._one("WHERE task_id = ?", (task_id,))

    async def get(self, minutes_id: int) -> MinutesRecord | None:
        with converted("the minutes store"):
            return await self._one("WHERE id = ?", (minutes_id,))

    async def recent(
        self, room_id: RoomID | None = None, *, limit: int = 5, discussions_only: bool = False
    ) -> list[MinutesRecord]:
        """The newest minutes first (of one room if given; only discussions' if asked)."""
        where: list[str] = []
        params: list[object] = []
        if room_id is not None:
            where.append("room_id = ?")
            params.append(room_id)
        if discussions_only:
            where.append("task_id IS NULL")
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        with converted("the minutes store"):
            rows = await fetch_all(
                self._db,
                f"SELECT {_COLUMNS} FROM minutes {clause} ORDER BY created_at DESC, id DESC "
                "LIMIT ?",
                (*params, max(limit, 0)),
            )
        return [_record(r) for r in rows]

    async def search(self, query: str, *, limit: int = 5) -> list[MinutesRecord]:
        """Minutes holding every word of `query` (each as a prefix), best match first; []
        for a query without words."""
        match = fts_query(query)
        if not match:
            return []
        with converted("the minutes store"):
            # Ranked inside FTS5 (`rank`, bm25) and cut there, then joined: sorting every
            # match outside the index costs ten times more on a common word.
            rows = await fetch_all(
                self._db,
                f"SELECT {_QUALIFIED} FROM (SELECT rowid, rank FROM minutes_fts "
                "WHERE minutes_fts MATCH ? ORDER BY rank LIMIT ?) AS hit "
                "JOIN minutes AS m ON m.id = hit.rowid ORDER BY hit.rank, m.id DESC",
                (match, max(limit, 0)),
            )
        return [_record(r) for r in rows]

    async def task_in_thread(self, room_id: RoomID, thread_root: EventID) -> int | None:
        """The newest task whose thread this is (a retried task shares its thread)."""
        with converted("the minutes store"):
            row = await fetch_one(
                self._db,
                "SELECT id FROM tasks WHERE room_id = ? AND thread_root = ? "
                "ORDER BY id DESC LIMIT 1",
                (room_id, thread_root),
            )
        return None if row is None else int(row[0])

    async def awaited(
        self, *, asked_key: str, posted_key: str, waiting_only: bool = False, limit: int = 50
    ) -> list[tuple[int, float | None, bool]]:
        """Finished tasks whose minutes were asked (action `asked_key`) or posted
        (`posted_key`) but are not stored: (task id, its deadline, posted), newest first.
        `waiting_only`: only tasks with a deadline (the engine's tick, every second: the
        partial deadline index keeps it to the few waiting, however many tasks ended)."""
        # The partial index holds only tasks with a deadline (the planner would rather
        # take the state index, all finished tasks, without being told).
        index = "INDEXED BY tasks_deadline " if waiting_only else ""
        waiting = "AND t.deadline IS NOT NULL " if waiting_only else ""
        with converted("the minutes store"):
            rows = await fetch_all(
                self._db,
                f"SELECT t.id, t.deadline, MAX(a.key = ?) FROM tasks AS t {index}"
                "JOIN task_actions AS a ON a.task_id = t.id AND a.key IN (?, ?) "
                f"WHERE t.state IN {FINAL_SQL} {waiting}"
                "AND NOT EXISTS (SELECT 1 FROM minutes AS m WHERE m.task_id = t.id) "
                "GROUP BY t.id ORDER BY t.id DESC LIMIT ?",
                (posted_key, asked_key, posted_key, max(limit, 0)),
            )
        return [(int(r[0]), None if r[1] is None else float(r[1]), bool(r[2])) for r in rows]

    async def unasked(
        self, *, since: float, reported_key: str, keys: Sequence[str], limit: int = 50
    ) -> list[int]:
        """Tasks finished since `since` whose report is out (`reported_key`) and that have
        none of `keys` recorded and no minutes: a restart came between report and ask."""
        marks = ", ".join("?" * len(keys))
        with converted("the minutes store"):
            rows = await fetch_all(
                self._db,
                f"SELECT t.id FROM tasks AS t WHERE t.state IN {FINAL_SQL} "
                "AND t.finished_at >= ? "
                "AND EXISTS (SELECT 1 FROM task_actions AS a WHERE a.task_id = t.id "
                "AND a.key = ?) "
                "AND NOT EXISTS (SELECT 1 FROM task_actions AS a WHERE a.task_id = t.id "
                f"AND a.key IN ({marks})) "
                "AND NOT EXISTS (SELECT 1 FROM minutes AS m WHERE m.task_id = t.id) "
                "ORDER BY t.id DESC LIMIT ?",
                (since, reported_key, *keys, max(limit, 0)),
            )
        return [int(r[0]) for r in rows]

    async def _one(self, tail: str, params: Sequence[object]) -> MinutesRecord | None:
        row = await fetch_one(self._db, f"SELECT {_COLUMNS} FROM minutes {tail}", tuple(params))
        return _record(row) if row is not None else None


def fts_query(query: str) -> str:
    """An FTS5 query from free words: each quoted (no operator or column name gets
    through) and taken as a prefix, all required."""
    words = [w.replace('"', "") for w in query.split()]
    kept = [w for w in words if w.strip()][:SEARCH_WORDS]
    return " AND ".join(f'"{w}"*' for w in kept)


def _record(row: Sequence[Any]) -> MinutesRecord:
    return MinutesRecord(
        id=int(row[0]),
        task_id=None if row[1] is None else int(row[1]),
        room_id=RoomID(str(row[2])),
        thread_root=None if row[3] is None else EventID(str(row[3])),
        text=str(row[4]),
        status=str(row[5]),
        author=str(row[6]),
        event_id=None if row[7] is None else EventID(str(row[7])),
        created_at=float(row[8]),
    )
