"""Minutes as records: one per task (or many per room for discussions), searchable.

The full-text index (`minutes_fts`, FTS5) is kept by triggers inside the insert's own
transaction, so a row is never stored without its index entry. A search reads each word as
a prefix (`"디스크"*` finds "디스크가": Korean particles stick to the word), all words
required, best match first.

A discussion's ask of the scribe is a row (`minutes_asks`) before it is sent, and its
minutes mark it done in their own insert's transaction: a restart in between finishes
them, once.
"""

from __future__ import annotations

import json
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


@dataclass(frozen=True)
class MinutesAsk:
    """A discussion's `!minutes` waiting for (or answered by) the scribe: everything the
    minutes need is here, so a restart finishes them. `root` is the thread the ask and the
    minutes go in; `facts` the lines computed from the messages (who said what), `lines`
    the transcript the scribe reads; `answer` its text or `problem` why there is none;
    `minutes_id` once the minutes are stored (done)."""

    ask: str
    command_event: EventID
    room_id: RoomID
    thread_root: EventID | None
    root: EventID
    scribe: str
    head: str
    facts: tuple[str, ...]
    lines: tuple[str, ...]
    deadline: float
    ask_event: EventID | None
    answer: str | None
    problem: str | None
    minutes_id: int | None
    created_at: float

    @property
    def settled(self) -> bool:
        """The scribe answered (or failed): the minutes can be written."""
        return self.answer is not None or self.problem is not None


_COLUMNS = ", ".join(f.name for f in fields(MinutesRecord))
_ASK_COLUMNS = ", ".join(f.name for f in fields(MinutesAsk))
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
        ask: str | None = None,
    ) -> tuple[MinutesRecord, bool]:
        """Stores minutes; for a task only once (the record already stored comes back, with
        False). A discussion's minutes are new each time, except those of one `ask` (a
        discussion's stored ask): stored once, and the ask marked done in the same
        transaction."""
        with converted("the minutes store"):
            async with self._writes.transaction() as tx:
                if task_id is not None:
                    found = await self._one("WHERE task_id = ?", (task_id,))
                    if found is not None:
                        return found, False
                if ask is not None:
                    done = await tx.fetch_one(
                        "SELECT minutes_id FROM minutes_asks WHERE ask = ?", (ask,)
                    )
                    if done is not None and done[0] is not None:
                        earlier = await self._one("WHERE id = ?", (int(done[0]),))
                        assert earlier is not None
                        return earlier, False
                row = await tx.fetch_one(
                    "INSERT INTO minutes (task_id, room_id, thread_root, text, status, author, "
                    f"event_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
                    (task_id, room_id, thread_root, text, status, author, event_id, now),
                )
                assert row is not None
                if ask is not None:
                    await tx.execute(
                        "UPDATE minutes_asks SET minutes_id = ? WHERE ask = ?", (row[0], ask)
                    )
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

    # ---- a discussion's ask of the scribe ---------------------------------------------

    async def ask(
        self,
        *,
        ask: str,
        command_event: EventID,
        room_id: RoomID,
        thread_root: EventID | None,
        root: EventID,
        scribe: str,
        head: str,
        facts: Sequence[str],
        lines: Sequence[str],
        deadline: float,
        now: float,
    ) -> tuple[MinutesAsk, bool]:
        """Stores a discussion's ask before it is sent; one per `!minutes` command (the
        same command again gets the first ask back, with False)."""
        with converted("the minutes store"):
            async with self._writes.transaction() as tx:
                await tx.execute(
                    "INSERT OR IGNORE INTO minutes_asks (ask, command_event, room_id, "
                    "thread_root, root, scribe, head, facts, lines, deadline, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        ask,
                        command_event,
                        room_id,
                        thread_root,
                        root,
                        scribe,
                        head,
                        json.dumps(list(facts), ensure_ascii=False),
                        json.dumps(list(lines), ensure_ascii=False),
                        deadline,
                        now,
                    ),
                )
                row = await tx.fetch_one(
                    f"SELECT {_ASK_COLUMNS} FROM minutes_asks WHERE command_event = ?",
                    (command_event,),
                )
        assert row is not None
        found = _ask(row)
        return found, found.ask == ask

    async def ask_of(
        self, *, ask: str | None = None, command: EventID | None = None
    ) -> MinutesAsk | None:
        """A discussion's ask by its id or by the `!minutes` that made it."""
        column, value = ("ask", ask) if ask is not None else ("command_event", command)
        with converted("the minutes store"):
            row = await fetch_one(
                self._db, f"SELECT {_ASK_COLUMNS} FROM minutes_asks WHERE {column} = ?", (value,)
            )
        return _ask(row) if row is not None else None

    async def ask_sent(self, ask: str, event_id: EventID) -> bool:
        with converted("the minutes store"):
            done = await self._writes.execute(
                "UPDATE minutes_asks SET ask_event = ? WHERE ask = ? AND ask_event IS NULL",
                (event_id, ask),
            )
        return done.rowcount == 1

    async def answered(self, ask: str, *, answer: str | None, problem: str | None) -> bool:
        """The scribe's text (or why there is none), kept once: a replayed or second answer
        changes nothing, nor does one after the minutes were written."""
        with converted("the minutes store"):
            done = await self._writes.execute(
                "UPDATE minutes_asks SET answer = ?, problem = ? WHERE ask = ? "
                "AND answer IS NULL AND problem IS NULL AND minutes_id IS NULL",
                (answer, problem, ask),
            )
        return done.rowcount == 1

    async def open_asks(self, now: float | None = None, *, limit: int = 50) -> list[MinutesAsk]:
        """Discussions' asks without minutes, oldest first: all of them (`now` None, at
        start), or those with something to do by `now` (answered, past their deadline,
        never sent)."""
        due = (
            ""
            if now is None
            else "AND (deadline <= ? OR answer IS NOT NULL OR problem IS NOT NULL "
            "OR ask_event IS NULL) "
        )
        params: tuple[object, ...] = () if now is None else (now,)
        with converted("the minutes store"):
            rows = await fetch_all(
                self._db,
                f"SELECT {_ASK_COLUMNS} FROM minutes_asks INDEXED BY minutes_asks_open "
                f"WHERE minutes_id IS NULL {due}ORDER BY deadline LIMIT ?",
                (*params, max(limit, 0)),
            )
        return [_ask(r) for r in rows]

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


def _ask(row: Sequence[Any]) -> MinutesAsk:
    return MinutesAsk(
        ask=str(row[0]),
        command_event=EventID(str(row[1])),
        room_id=RoomID(str(row[2])),
        thread_root=None if row[3] is None else EventID(str(row[3])),
        root=EventID(str(row[4])),
        scribe=str(row[5]),
        head=str(row[6]),
        facts=tuple(str(x) for x in json.loads(str(row[7]))),
        lines=tuple(str(x) for x in json.loads(str(row[8]))),
        deadline=float(row[9]),
        ask_event=None if row[10] is None else EventID(str(row[10])),
        answer=None if row[11] is None else str(row[11]),
        problem=None if row[12] is None else str(row[12]),
        minutes_id=None if row[13] is None else int(row[13]),
        created_at=float(row[14]),
    )
