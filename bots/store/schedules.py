"""Recurring missions (`!schedule`): kept across restarts, claimed run by run.

Records only: what a schedule's text means and when it next runs are
`bots.tasks.schedule_text`'s rules; the caller passes the normalised cron or interval and
the next run as a UNIX time. A run is claimed with one compare-and-set on the row (the next
run it was due at, no run in progress), so two schedulers, or a tick that fires twice,
never start two runs of one schedule; the claim holds until `finish_run`.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Literal

import aiosqlite

from bots.store.connection import Writer, fetch_all, fetch_one
from bots.store.errors import converted

_COLUMNS = (
    "id, kind, cron, seconds, zone, text, mission, priority, created_by, created_at, paused, "
    "last_run_at, next_run_at, running_task, removed_at, config_name"
)
_ACTIVE = "removed_at IS NULL"


@dataclass(frozen=True)
class Schedule:
    id: int
    kind: Literal["cron", "interval"]
    cron: str | None
    seconds: float | None
    zone: str
    text: str
    """What the master wrote, to show back in `!schedule list`."""
    mission: str
    priority: str
    created_by: str
    created_at: float
    paused: bool = False
    last_run_at: float | None = None
    next_run_at: float | None = None
    running_task: int | None = None
    """The task the current run created; None when no run is in progress."""
    removed_at: float | None = None
    config_name: str | None = None
    """The stable name of a schedule declared in the config; None for one added in the room."""


class ScheduleStore:
    def __init__(self, db: aiosqlite.Connection, writes: Writer) -> None:
        self._db = db
        self._writes = writes

    async def add(
        self,
        *,
        kind: Literal["cron", "interval"],
        cron: str | None,
        seconds: float | None,
        zone: str,
        text: str,
        mission: str,
        priority: str,
        created_by: str,
        now: float,
        next_run_at: float | None,
        config_name: str | None = None,
    ) -> Schedule:
        """A new active schedule, first due at `next_run_at`; `config_name` for one the
        config declares."""
        with converted("the schedules"):
            row = await self._writes.fetch_one(
                "INSERT INTO schedules (kind, cron, seconds, zone, text, mission, priority, "
                "created_by, created_at, next_run_at, config_name) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                f"RETURNING {_COLUMNS}",
                (
                    kind,
                    cron,
                    seconds,
                    zone,
                    text,
                    mission,
                    priority,
                    created_by,
                    now,
                    next_run_at,
                    config_name,
                ),
            )
            assert row is not None  # an INSERT … RETURNING that did not raise returns its row
            return _schedule(row)

    async def get(self, schedule_id: int) -> Schedule | None:
        """The schedule, removed ones included (a task's report names where it came from)."""
        with converted("the schedules"):
            row = await fetch_one(
                self._db, f"SELECT {_COLUMNS} FROM schedules WHERE id = ?", (schedule_id,)
            )
            return _schedule(row) if row else None

    async def list(self, *, include_removed: bool = False) -> builtins.list[Schedule]:
        """Active schedules (paused ones too) by id; with `include_removed`, all of them."""
        where = "" if include_removed else f"WHERE {_ACTIVE}"
        with converted("the schedules"):
            rows = await fetch_all(
                self._db, f"SELECT {_COLUMNS} FROM schedules {where} ORDER BY id"
            )
            return [_schedule(r) for r in rows]

    async def remove(self, schedule_id: int, now: float) -> bool:
        """Soft removal; False when there is no such active schedule. A run in progress
        finishes; the schedule is never due again."""
        with converted("the schedules"):
            cursor = await self._writes.execute(
                f"UPDATE schedules SET removed_at = ? WHERE id = ? AND {_ACTIVE}",
                (now, schedule_id),
            )
            return cursor.rowcount == 1

    async def pause(self, schedule_id: int) -> bool:
        """False when there is no such active schedule or it is paused already."""
        with converted("the schedules"):
            cursor = await self._writes.execute(
                f"UPDATE schedules SET paused = 1 WHERE id = ? AND paused = 0 AND {_ACTIVE}",
                (schedule_id,),
            )
            return cursor.rowcount == 1

    async def resume(self, schedule_id: int, next_run_at: float | None) -> bool:
        """Unpause, next due at `next_run_at` (computed from now, so the runs the pause
        skipped do not all fire at once). False when it was not paused."""
        with converted("the schedules"):
            cursor = await self._writes.execute(
                "UPDATE schedules SET paused = 0, next_run_at = ? "
                f"WHERE id = ? AND paused = 1 AND {_ACTIVE}",
                (next_run_at, schedule_id),
            )
            return cursor.rowcount == 1

    async def due(self, now: float) -> builtins.list[Schedule]:
        """Active, unpaused schedules whose next run is at or before `now` and that have
        no run in progress, earliest first."""
        with converted("the schedules"):
            rows = await fetch_all(
                self._db,
                f"SELECT {_COLUMNS} FROM schedules WHERE {_ACTIVE} AND paused = 0 "
                "AND running_task IS NULL AND next_run_at <= ? ORDER BY next_run_at, id",
                (now,),
            )
            return [_schedule(r) for r in rows]

    async def running(self) -> builtins.list[Schedule]:
        """Schedules with a run in progress (removed and paused ones too: their run still
        ends), by id: the scheduler checks whether each run's task is final."""
        with converted("the schedules"):
            rows = await fetch_all(
                self._db,
                f"SELECT {_COLUMNS} FROM schedules WHERE running_task IS NOT NULL ORDER BY id",
            )
            return [_schedule(r) for r in rows]

    async def declared(self) -> builtins.list[Schedule]:
        """Active schedules the config declares (they have a `config_name`), by id."""
        with converted("the schedules"):
            rows = await fetch_all(
                self._db,
                f"SELECT {_COLUMNS} FROM schedules WHERE {_ACTIVE} "
                "AND config_name IS NOT NULL ORDER BY id",
            )
            return [_schedule(r) for r in rows]

    async def earliest_next(self) -> float | None:
        """The earliest next run among active, unpaused schedules (running ones too: their
        next run is skipped when it comes): how long the scheduler may sleep."""
        with converted("the schedules"):
            row = await fetch_one(
                self._db,
                f"SELECT MIN(next_run_at) FROM schedules WHERE {_ACTIVE} AND paused = 0",
            )
            return _optional_float(row[0]) if row else None

    async def claim_run(
        self,
        schedule_id: int,
        task_id: int,
        expected_next: float,
        *,
        next_run_at: float | None,
        now: float,
    ) -> bool:
        """Start the run that was due at `expected_next`: records `now` as the last run,
        the run's task and the run after it. False (and nothing written) when another
        claim won, a run is in progress, or the schedule was paused, removed or moved."""
        with converted("the schedules"):
            cursor = await self._writes.execute(
                "UPDATE schedules SET last_run_at = ?, running_task = ?, next_run_at = ? "
                f"WHERE id = ? AND next_run_at = ? AND running_task IS NULL AND paused = 0 "
                f"AND {_ACTIVE}",
                (now, task_id, next_run_at, schedule_id, expected_next),
            )
            return cursor.rowcount == 1

    async def skip_run(
        self, schedule_id: int, expected_next: float, *, next_run_at: float | None
    ) -> bool:
        """Move past a run that is not made (missed beyond the grace time, to be reported),
        with the same compare-and-set as `claim_run`."""
        with converted("the schedules"):
            cursor = await self._writes.execute(
                "UPDATE schedules SET next_run_at = ? WHERE id = ? AND next_run_at = ? "
                f"AND running_task IS NULL AND {_ACTIVE}",
                (next_run_at, schedule_id, expected_next),
            )
            return cursor.rowcount == 1

    async def skip_overlapped(
        self, schedule_id: int, expected_next: float, running_task: int, *, next_run_at: float
    ) -> bool:
        """Move past a run that came due while `running_task` (the previous run) is still
        going: runs never overlap. Compare-and-set, so only one scheduler says it."""
        with converted("the schedules"):
            cursor = await self._writes.execute(
                "UPDATE schedules SET next_run_at = ? WHERE id = ? AND next_run_at = ? "
                f"AND running_task = ? AND {_ACTIVE}",
                (next_run_at, schedule_id, expected_next, running_task),
            )
            return cursor.rowcount == 1

    async def update_declared(
        self,
        schedule_id: int,
        *,
        kind: Literal["cron", "interval"],
        cron: str | None,
        seconds: float | None,
        zone: str,
        text: str,
        mission: str,
        priority: str,
        next_run_at: float | None,
    ) -> bool:
        """A config-declared schedule as the config now says (its id, pause and run in
        progress kept). False when it is no longer active."""
        with converted("the schedules"):
            cursor = await self._writes.execute(
                "UPDATE schedules SET kind = ?, cron = ?, seconds = ?, zone = ?, text = ?, "
                f"mission = ?, priority = ?, next_run_at = ? WHERE id = ? AND {_ACTIVE}",
                (kind, cron, seconds, zone, text, mission, priority, next_run_at, schedule_id),
            )
            return cursor.rowcount == 1

    async def finish_run(self, schedule_id: int, task_id: int) -> bool:
        """The run of `task_id` ended; the schedule may be due again. False when that task
        is not the run in progress (a second finish, or a stale one)."""
        with converted("the schedules"):
            cursor = await self._writes.execute(
                "UPDATE schedules SET running_task = NULL WHERE id = ? AND running_task = ?",
                (schedule_id, task_id),
            )
            return cursor.rowcount == 1


def _optional_float(value: object) -> float | None:
    return None if value is None else float(str(value))


def _schedule(row: tuple[object, ...]) -> Schedule:
    (sid, kind, cron, seconds, zone, text, mission, priority, by, at, paused, last, nxt) = row[:13]
    running, removed, config_name = row[13:]
    return Schedule(
        id=int(str(sid)),
        kind="interval" if kind == "interval" else "cron",
        cron=None if cron is None else str(cron),
        seconds=_optional_float(seconds),
        zone=str(zone),
        text=str(text),
        mission=str(mission),
        priority=str(priority),
        created_by=str(by),
        created_at=float(str(at)),
        paused=bool(paused),
        last_run_at=_optional_float(last),
        next_run_at=_optional_float(nxt),
        running_task=None if running is None else int(str(running)),
        removed_at=_optional_float(removed),
        config_name=None if config_name is None else str(config_name),
    )
