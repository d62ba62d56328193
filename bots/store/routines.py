"""Saved routines: a mission with the plan that worked, to replay with `!routine run`.

Records only: which mission counts as "the same" (normalised) and what a name may be are
`bots.tasks.routines`'s rules; the caller passes the normalised text and the name's key.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass

import aiosqlite

from bots.store.connection import Writer, fetch_all, fetch_one
from bots.store.errors import converted

_COLUMNS = (
    "name, mission, normalised, plan, plan_digest, plan_author, from_task, created_by, "
    "created_at, runs, last_run"
)


@dataclass(frozen=True)
class Routine:
    name: str
    mission: str
    normalised: str
    plan: str
    """The plan as JSON, as the task stored it (the same lenient parser reads it back)."""
    plan_digest: str
    plan_author: str | None
    from_task: int
    created_by: str
    created_at: float
    runs: int = 0
    last_run: float | None = None


class RoutineStore:
    def __init__(self, db: aiosqlite.Connection, writes: Writer) -> None:
        self._db = db
        self._writes = writes

    async def save(self, routine: Routine, name_key: str) -> bool:
        """Adds it; False when a routine of that name (compared by `name_key`) exists."""
        with converted("the routines"):
            cursor = await self._writes.execute(
                f"INSERT INTO routines ({_COLUMNS}, name_key) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    routine.name,
                    routine.mission,
                    routine.normalised,
                    routine.plan,
                    routine.plan_digest,
                    routine.plan_author,
                    routine.from_task,
                    routine.created_by,
                    routine.created_at,
                    routine.runs,
                    routine.last_run,
                    name_key,
                ),
            )
            return cursor.rowcount == 1

    async def get(self, name_key: str) -> Routine | None:
        with converted("the routines"):
            row = await fetch_one(
                self._db, f"SELECT {_COLUMNS} FROM routines WHERE name_key = ?", (name_key,)
            )
            return _routine(row) if row else None

    async def for_mission(self, normalised: str) -> Routine | None:
        """The routine saved for this (normalised) mission, if any."""
        with converted("the routines"):
            row = await fetch_one(
                self._db,
                f"SELECT {_COLUMNS} FROM routines WHERE normalised = ? ORDER BY created_at",
                (normalised,),
            )
            return _routine(row) if row else None

    async def list(self) -> list[Routine]:
        with converted("the routines"):
            rows = await fetch_all(self._db, f"SELECT {_COLUMNS} FROM routines ORDER BY name_key")
            return [_routine(r) for r in rows]

    async def remove(self, name_key: str) -> bool:
        with converted("the routines"):
            cursor = await self._writes.execute(
                "DELETE FROM routines WHERE name_key = ?", (name_key,)
            )
            return cursor.rowcount == 1

    async def succeeded_with_commands(self, up_to: int) -> builtins.list[tuple[int, str]]:
        """(id, mission) of every completed task up to task `up_to` that ran a command:
        the candidates for "the same mission succeeded N times"."""
        with converted("the routines"):
            rows = await fetch_all(
                self._db,
                "SELECT t.id, t.mission FROM tasks AS t WHERE t.state = 'completed' "
                "AND t.id <= ? AND EXISTS (SELECT 1 FROM task_steps AS s "
                "WHERE s.task_id = t.id AND s.kind = 'main' AND s.status = 'succeeded') "
                "ORDER BY t.id",
                (up_to,),
            )
            return [(int(r[0]), str(r[1])) for r in rows]

    async def count_run(self, name_key: str, now: float) -> None:
        with converted("the routines"):
            await self._writes.execute(
                "UPDATE routines SET runs = runs + 1, last_run = ? WHERE name_key = ?",
                (now, name_key),
            )


def _routine(row: tuple[object, ...]) -> Routine:
    (name, mission, normalised, plan, digest, author, from_task, by, at, runs, last) = row
    return Routine(
        name=str(name),
        mission=str(mission),
        normalised=str(normalised),
        plan=str(plan),
        plan_digest=str(digest),
        plan_author=None if author is None else str(author),
        from_task=int(str(from_task)),
        created_by=str(by),
        created_at=float(str(at)),
        runs=int(str(runs)),
        last_run=None if last is None else float(str(last)),
    )
