"""What the council learned, as records: one lesson per finished task, found again by words.

The rules (what a lesson says, when a task leaves one, how many go into a prompt) live in
`bots.tasks.lessons` and the task engine; here are only the rows, the full-text index
(`lessons_fts`, kept in step by triggers: see migrations/v08_lessons.py) and the lookup:
a mission's words (`lesson_query`), the most telling first (`_matching`). Writes go through
the store's one `Writer`: they share the task store's connection, and a statement landing
inside a task transaction that rolls back would be lost with it.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bots.store.connection import Writer, fetch_all, fetch_one
from bots.store.errors import converted
from bots.store.lesson_query import and_query, or_query, prefix_range, query_words

COMMON_SHARE = 0.3
PRUNE_FROM = 200
"""With at least PRUNE_FROM lessons, a lookup leaves out the words found in more than
COMMON_SHARE of them (the rarest word always stays): they say little about which lesson is
alike (bm25 weighs them near zero anyway) and cost the most, each matching thousands of
rows (tests/bench/lessons.py)."""
AND_WORDS = 6
"""The most telling words a lookup first asks all of (more barely narrows it down)."""
MISSION_WEIGHT = 4.0
"""bm25 weight of the mission column against the lesson's text (1.0): a lesson whose
mission shares the words ranks above one that only mentions them in an output."""

_COLUMNS = "l.id, l.task_id, l.mission, l.outcome, l.text, l.created_at"


@dataclass(frozen=True)
class Lesson:
    """One task's lesson: `outcome` is the task's final state (completed, failed,
    cancelled); `text` is what a planner reads (mission, plan, failures, the fix, outcome)."""

    id: int
    task_id: int
    mission: str
    outcome: str
    text: str
    created_at: float


class LessonStore:
    def __init__(self, db: aiosqlite.Connection, writes: Writer) -> None:
        self._db = db
        self._writes = writes

    async def add(self, task_id: int, *, mission: str, outcome: str, text: str, now: float) -> int:
        """The task's lesson, stored once: a second call for the same task keeps the first
        and returns its id (a drive repeated after a crash)."""
        with converted("saving a lesson"):
            async with self._writes.transaction() as tx:
                await tx.execute(
                    "INSERT INTO lessons (task_id, mission, outcome, text, created_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (task_id) DO NOTHING",
                    (task_id, mission, outcome, text, now),
                )
                row = await tx.fetch_one("SELECT id FROM lessons WHERE task_id = ?", (task_id,))
        assert row is not None  # inserted or already there, in the same transaction
        return int(row[0])

    async def get(self, lesson_id: int) -> Lesson | None:
        found = await self._select(
            f"SELECT {_COLUMNS} FROM lessons AS l WHERE l.id = ?", (lesson_id,)
        )
        return found[0] if found else None

    async def of_task(self, task_id: int) -> Lesson | None:
        found = await self._select(
            f"SELECT {_COLUMNS} FROM lessons AS l WHERE l.task_id = ?", (task_id,)
        )
        return found[0] if found else None

    async def similar(
        self, mission: str, limit: int, *, exclude_task: int | None = None
    ) -> builtins.list[Lesson]:
        """The lessons most like `mission` (bm25 over its words), best first; never the
        lesson of `exclude_task` (a task is not its own teacher)."""
        return await self._matching(mission, limit, exclude_task)

    async def search(self, query: str, limit: int) -> builtins.list[Lesson]:
        """`!lessons <words>`: the lessons that match the words, best first."""
        return await self._matching(query, limit, None)

    async def recent(self, limit: int) -> builtins.list[Lesson]:
        """The newest lessons first."""
        return await self._select(
            f"SELECT {_COLUMNS} FROM lessons AS l ORDER BY l.id DESC LIMIT ?", (max(limit, 0),)
        )

    async def forget(self, lesson_id: int) -> bool:
        """Removes the lesson and its index entry (the trigger, in the same statement);
        False when there is no such lesson."""
        with converted("forgetting a lesson"):
            cursor = await self._writes.execute("DELETE FROM lessons WHERE id = ?", (lesson_id,))
            return cursor.rowcount == 1

    async def record_used(self, task_id: int, lesson_ids: Iterable[int], now: float) -> None:
        """Remembers that these lessons went into the task's prompts (once each)."""
        rows = [(task_id, lesson_id, now) for lesson_id in lesson_ids]
        if not rows:
            return
        with converted("recording the lessons a task used"):
            await self._writes.executemany(
                "INSERT INTO task_lessons (task_id, lesson_id, at) VALUES (?, ?, ?) "
                "ON CONFLICT (task_id, lesson_id) DO NOTHING",
                rows,
            )

    async def used(self, task_id: int) -> builtins.list[int]:
        """The ids of the lessons the task's prompts carried, in id order."""
        with converted("reading the lessons a task used"):
            rows = await fetch_all(
                self._db,
                "SELECT lesson_id FROM task_lessons WHERE task_id = ? ORDER BY lesson_id",
                (task_id,),
            )
        return [int(row[0]) for row in rows]

    async def _matching(
        self, text: str, limit: int, exclude_task: int | None
    ) -> builtins.list[Lesson]:
        """Most specific first: the lessons that have all of the mission's telling words
        (`AND`, the rarest `AND_WORDS` of them), then all but the most common one, and so
        on, and last those with any of them (`OR`); bm25 orders each tier. An `AND` is cheap
        however many lessons share one word, where an `OR` scores every lesson that has any;
        the `OR` runs only when the tiers before it found fewer than `limit`."""
        words = await self._telling(query_words(text))
        found: builtins.list[Lesson] = []
        tiers = [and_query(words[:n]) for n in range(min(len(words), AND_WORDS), 1, -1)]
        for query in [*tiers, or_query(words)] if words else []:
            if len(found) >= limit:
                break
            seen = [lesson.id for lesson in found]
            found += await self._select(
                f"SELECT {_COLUMNS} FROM lessons_fts JOIN lessons AS l "
                "ON l.id = lessons_fts.rowid WHERE lessons_fts MATCH ? AND l.task_id IS NOT ? "
                f"AND l.id NOT IN ({', '.join('?' * len(seen))}) "
                f"ORDER BY bm25(lessons_fts, {MISSION_WEIGHT}, 1.0), l.id DESC LIMIT ?",
                (query, exclude_task, *seen, limit - len(found)),
            )
        return found

    async def _telling(self, words: builtins.list[str]) -> builtins.list[str]:
        """The words some lesson has, rarest first, without those most lessons share (see
        COMMON_SHARE): the number of lessons with each comes from the index's vocabulary."""
        if not words:
            return []
        counts: dict[str, int] = {}
        with converted("reading the lessons' words"):
            # The newest id, not COUNT(*) (a scan of every row): forgotten ones still count.
            row = await fetch_one(self._db, "SELECT COALESCE(MAX(id), 0) FROM lessons")
            total = int(row[0]) if row else 0
            for word in words:
                found = await fetch_one(
                    self._db,
                    "SELECT COALESCE(SUM(doc), 0) FROM lessons_vocab WHERE term >= ? AND term < ?",
                    prefix_range(word),
                )
                counts[word] = int(found[0]) if found else 0
        present = sorted((w for w in words if counts[w] > 0), key=lambda w: counts[w])
        if total < PRUNE_FROM:
            return present
        return [w for w in present if counts[w] <= COMMON_SHARE * total] or present[:1]

    async def _select(self, sql: str, params: Sequence[object]) -> builtins.list[Lesson]:
        with converted("reading lessons"):
            rows = await fetch_all(self._db, sql, tuple(params))
        return [_lesson(row) for row in rows]


def _lesson(row: Sequence[Any]) -> Lesson:
    return Lesson(
        id=int(row[0]),
        task_id=int(row[1]),
        mission=str(row[2]),
        outcome=str(row[3]),
        text=str(row[4]),
        created_at=float(row[5]),
    )
