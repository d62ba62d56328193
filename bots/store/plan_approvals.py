"""The executor's memory of task plans and of approvers' verdicts on them, as records.

No rules here: which plan message is remembered, whose ✅ counts and whether a request is a
step of an approved plan are decided in `bots.execution.plan_approvals`. Rows are keyed by
the event they come from, so seeing an event again (a catch-up after a restart) changes
nothing. Like the audit log, this store lives on a connection of its own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import aiosqlite

from bots.ids import Digest, EventID, RoomID, TaskID, UserID
from bots.store.connection import connect_migrated, fetch_all
from bots.store.errors import converted

PLAN_SCHEMA_VERSION = 7
"""The store version that brought these tables (migrations/v07_plan_approvals.py)."""
KEPT_SECONDS = 30 * 24 * 3600
"""Plans and verdicts older than this are forgotten (an approval expires long before)."""

VerdictKind = Literal["approve", "deny"]
_PLAN_COLUMNS = "plan_event, room_id, sender, task_id, attempt, digest, step_digests, at"
_VERDICT_COLUMNS = "event_id, room_id, plan_event, task_id, actor, verdict, at"


@dataclass(frozen=True)
class StoredPlan:
    """A plan message the executor remembers; `at` is its origin time (seconds)."""

    plan_event: EventID
    room_id: RoomID
    sender: UserID
    task_id: TaskID
    attempt: int
    digest: str
    step_digests: frozenset[Digest]
    at: float


@dataclass(frozen=True)
class StoredVerdict:
    """An approving or denying event: a reaction on `plan_event`, or a command naming
    `task_id` (then `plan_event` is None)."""

    event_id: EventID
    room_id: RoomID
    plan_event: EventID | None
    task_id: TaskID | None
    actor: UserID
    verdict: VerdictKind
    at: float


class PlanApprovalStore:
    def __init__(self, db: aiosqlite.Connection, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    @classmethod
    async def open(cls, path: Path, *, clock: Callable[[], float] = time.time) -> PlanApprovalStore:
        """A store on its own connection to a database `Store.open` has migrated."""
        db = await connect_migrated(
            path, version=PLAN_SCHEMA_VERSION, needed_by="plan approvals need"
        )
        return cls(db, clock=clock)

    async def close(self) -> None:
        await self._db.close()

    async def add_plan(self, plan: StoredPlan) -> bool:
        """Remembers a plan message; False when it was already known (nothing changes)."""
        now = self._clock()
        with converted("remembering a plan"):
            await self._forget_before(now - KEPT_SECONDS)
            cursor = await self._db.execute(
                f"INSERT OR IGNORE INTO exec_plans ({_PLAN_COLUMNS}, seen_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    plan.plan_event,
                    plan.room_id,
                    plan.sender,
                    plan.task_id,
                    plan.attempt,
                    plan.digest,
                    json.dumps(sorted(plan.step_digests)),
                    plan.at,
                    now,
                ),
            )
            return cursor.rowcount == 1

    async def add_verdict(self, verdict: StoredVerdict) -> bool:
        """Remembers an approving or denying event; False when it was already known."""
        with converted("remembering a verdict on a plan"):
            cursor = await self._db.execute(
                f"INSERT OR IGNORE INTO exec_plan_verdicts ({_VERDICT_COLUMNS}, seen_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    verdict.event_id,
                    verdict.room_id,
                    verdict.plan_event,
                    verdict.task_id,
                    verdict.actor,
                    verdict.verdict,
                    verdict.at,
                    self._clock(),
                ),
            )
            return cursor.rowcount == 1

    async def plan(self, plan_event: EventID) -> StoredPlan | None:
        plans = await self._plans("plan_event = ?", (plan_event,))
        return plans[0] if plans else None

    async def plans_of_task(self, task_id: TaskID) -> list[StoredPlan]:
        """Every remembered plan of a task, oldest first."""
        return await self._plans("task_id = ? ORDER BY at, plan_event", (task_id,))

    async def verdicts(self, plan_event: EventID, task_id: TaskID) -> list[StoredVerdict]:
        """Reactions on this plan event, and commands naming its task, oldest first."""
        with converted("reading verdicts on a plan"):
            rows = await fetch_all(
                self._db,
                f"SELECT {_VERDICT_COLUMNS} FROM exec_plan_verdicts "
                "WHERE plan_event = ? OR (plan_event IS NULL AND task_id = ?) "
                "ORDER BY at, event_id",
                (plan_event, task_id),
            )
        return [_verdict(row) for row in rows]

    async def _plans(self, where: str, params: Iterable[object]) -> list[StoredPlan]:
        with converted("reading plans"):
            rows = await fetch_all(
                self._db, f"SELECT {_PLAN_COLUMNS} FROM exec_plans WHERE {where}", tuple(params)
            )
        return [_plan(row) for row in rows]

    async def _forget_before(self, cutoff: float) -> None:
        await self._db.execute("DELETE FROM exec_plans WHERE seen_at < ?", (cutoff,))
        await self._db.execute("DELETE FROM exec_plan_verdicts WHERE seen_at < ?", (cutoff,))


def _plan(row: aiosqlite.Row | tuple[object, ...]) -> StoredPlan:
    digests = json.loads(str(row[6]))
    return StoredPlan(
        plan_event=EventID(str(row[0])),
        room_id=RoomID(str(row[1])),
        sender=UserID(str(row[2])),
        task_id=TaskID(str(row[3])),
        attempt=int(str(row[4])),
        digest=str(row[5]),
        step_digests=frozenset(Digest(str(d)) for d in digests),
        at=float(str(row[7])),
    )


def _verdict(row: aiosqlite.Row | tuple[object, ...]) -> StoredVerdict:
    verdict: VerdictKind = "approve" if row[5] == "approve" else "deny"
    return StoredVerdict(
        event_id=EventID(str(row[0])),
        room_id=RoomID(str(row[1])),
        plan_event=None if row[2] is None else EventID(str(row[2])),
        task_id=None if row[3] is None else TaskID(str(row[3])),
        actor=UserID(str(row[4])),
        verdict=verdict,
        at=float(str(row[6])),
    )
