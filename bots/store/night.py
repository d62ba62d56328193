"""Night envelopes in the store: granted, shown, revoked, and reported on once.

Records only: what an envelope covers is `bots.night.coverage`'s rule, what a command looks
like is `bots.night.grant`'s. Every bot reads the active envelope (the quiet rule); only the
coordinator writes.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import aiosqlite

from bots.store.connection import Writer, fetch_all, fetch_one
from bots.store.errors import converted

NightVerdict = Literal["judge", "held"]

_COLUMNS = (
    "id, starts_at, ends_at, budget_usd, hosts, allow_preset, allow_globs, granted_by, "
    "revoked_at, revoked_by, report_sent_at, report_event"
)


@dataclass(frozen=True)
class Envelope:
    """What the master granted for one night: inside [starts_at, ends_at), unless revoked."""

    id: int
    starts_at: float
    ends_at: float
    budget_usd: float
    hosts: tuple[str, ...]
    allow_preset: str | None
    """The preset named in `!night … allow <preset>`; None when globs were listed."""
    allow_globs: tuple[str, ...]
    """The commands covered (fnmatch globs), the preset's as granted."""
    granted_by: str
    revoked_at: float | None = None
    revoked_by: str | None = None
    report_sent_at: float | None = None
    report_event: str | None = None

    def active(self, now: float) -> bool:
        return self.revoked_at is None and self.starts_at <= now < self.ends_at

    @property
    def ended_at(self) -> float:
        """When the window closed (or will): its end, or the revocation before it."""
        if self.revoked_at is not None:
            return min(self.revoked_at, self.ends_at)
        return self.ends_at


@dataclass(frozen=True)
class NightTask:
    """What the coordinator decided for one task inside an envelope."""

    envelope_id: int
    task_id: int
    verdict: NightVerdict
    reason: str
    plan_event: str | None
    at: float


class NightStore:
    def __init__(self, db: aiosqlite.Connection, writes: Writer) -> None:
        self._db = db
        self._writes = writes

    async def grant(
        self,
        *,
        starts_at: float,
        ends_at: float,
        budget_usd: float,
        hosts: Sequence[str],
        allow_preset: str | None,
        allow_globs: Sequence[str],
        granted_by: str,
    ) -> Envelope | None:
        """A new envelope; None while another one is active at `starts_at` (one at a time)."""
        with converted("the night envelopes"):
            async with self._writes.transaction() as tx:
                busy = await tx.fetch_one(
                    "SELECT 1 FROM night_envelopes WHERE revoked_at IS NULL "
                    "AND starts_at <= ? AND ends_at > ?",
                    (starts_at, starts_at),
                )
                if busy is not None:
                    return None
                written = await tx.execute(
                    "INSERT INTO night_envelopes (starts_at, ends_at, budget_usd, hosts, "
                    "allow_preset, allow_globs, granted_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        starts_at,
                        ends_at,
                        budget_usd,
                        json.dumps(list(hosts)),
                        allow_preset,
                        json.dumps(list(allow_globs)),
                        granted_by,
                    ),
                )
            found = await self.get(int(written.lastrowid or 0))
            assert found is not None
            return found

    async def get(self, envelope_id: int) -> Envelope | None:
        with converted("the night envelopes"):
            row = await fetch_one(
                self._db, f"SELECT {_COLUMNS} FROM night_envelopes WHERE id = ?", (envelope_id,)
            )
            return _envelope(row) if row else None

    async def active(self, now: float) -> Envelope | None:
        """The envelope whose window holds `now`, if any."""
        with converted("the night envelopes"):
            row = await fetch_one(
                self._db,
                f"SELECT {_COLUMNS} FROM night_envelopes WHERE revoked_at IS NULL "
                "AND starts_at <= ? AND ends_at > ? ORDER BY id DESC LIMIT 1",
                (now, now),
            )
            return _envelope(row) if row else None

    async def revoke(self, envelope_id: int, by: str, now: float) -> bool:
        """Ends the window now; False when it was revoked already."""
        with converted("the night envelopes"):
            written = await self._writes.execute(
                "UPDATE night_envelopes SET revoked_at = ?, revoked_by = ? "
                "WHERE id = ? AND revoked_at IS NULL",
                (now, by, envelope_id),
            )
            return written.rowcount == 1

    async def unreported(self, now: float) -> builtins.list[Envelope]:
        """Envelopes whose window closed by `now` (ended or revoked) and whose morning
        report has not gone out, oldest first."""
        with converted("the night envelopes"):
            rows = await fetch_all(
                self._db,
                f"SELECT {_COLUMNS} FROM night_envelopes WHERE report_sent_at IS NULL "
                "AND (ends_at <= ? OR revoked_at IS NOT NULL) ORDER BY id",
                (now,),
            )
            return [_envelope(row) for row in rows]

    async def mark_reported(self, envelope_id: int, event_id: str, now: float) -> bool:
        """Compare-and-set: True for the one caller that marks the report sent."""
        with converted("the night envelopes"):
            written = await self._writes.execute(
                "UPDATE night_envelopes SET report_sent_at = ?, report_event = ? "
                "WHERE id = ? AND report_sent_at IS NULL",
                (now, event_id, envelope_id),
            )
            return written.rowcount == 1

    async def mark_queue_told(self, envelope_id: int, now: float) -> bool:
        """Compare-and-set: True for the one caller that marks "the queue stopped" told;
        one such alert per window."""
        with converted("the night envelopes"):
            written = await self._writes.execute(
                "UPDATE night_envelopes SET queue_told_at = ? "
                "WHERE id = ? AND queue_told_at IS NULL",
                (now, envelope_id),
            )
            return written.rowcount == 1

    async def queue_told(self, envelope_id: int) -> bool:
        """Whether the master was told this window's queue stopped."""
        with converted("the night envelopes"):
            row = await fetch_one(
                self._db,
                "SELECT queue_told_at IS NOT NULL FROM night_envelopes WHERE id = ?",
                (envelope_id,),
            )
            return bool(row and row[0])

    async def note_task(self, fact: NightTask) -> bool:
        """Records the night's decision for a task: the latest plan's (a fix asked again
        replaces the first plan's); False when exactly this was recorded already."""
        with converted("the night envelopes"):
            written = await self._writes.execute(
                "INSERT INTO night_tasks "
                "(envelope_id, task_id, verdict, reason, plan_event, at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (envelope_id, task_id) DO UPDATE SET "
                "verdict = excluded.verdict, reason = excluded.reason, "
                "plan_event = excluded.plan_event, at = excluded.at "
                "WHERE night_tasks.plan_event IS NOT excluded.plan_event "
                "OR night_tasks.verdict != excluded.verdict",
                (
                    fact.envelope_id,
                    fact.task_id,
                    fact.verdict,
                    fact.reason,
                    fact.plan_event,
                    fact.at,
                ),
            )
            return written.rowcount == 1

    async def tasks(self, envelope_id: int) -> builtins.list[NightTask]:
        with converted("the night envelopes"):
            rows = await fetch_all(
                self._db,
                "SELECT envelope_id, task_id, verdict, reason, plan_event, at FROM night_tasks "
                "WHERE envelope_id = ? ORDER BY task_id",
                (envelope_id,),
            )
            return [NightTask(int(e), int(t), v, str(r), p, float(a)) for e, t, v, r, p, a in rows]

    async def held_in(self, task_id: int) -> Envelope | None:
        """The newest envelope that put this task in its morning queue."""
        with converted("the night envelopes"):
            row = await fetch_one(
                self._db,
                f"SELECT {_COLUMNS} FROM night_envelopes WHERE id = (SELECT MAX(envelope_id) "
                "FROM night_tasks WHERE task_id = ? AND verdict = 'held')",
                (task_id,),
            )
            return _envelope(row) if row else None

    async def tasks_created(self, start: float, end: float) -> builtins.list[int]:
        """The tasks ordered inside [start, end), by number."""
        with converted("the night envelopes"):
            rows = await fetch_all(
                self._db,
                "SELECT id FROM tasks WHERE created_at >= ? AND created_at < ? ORDER BY id",
                (start, end),
            )
            return [int(row[0]) for row in rows]


def _envelope(row: Sequence[Any]) -> Envelope:
    return Envelope(
        id=int(row[0]),
        starts_at=float(row[1]),
        ends_at=float(row[2]),
        budget_usd=float(row[3]),
        hosts=tuple(json.loads(row[4])),
        allow_preset=row[5],
        allow_globs=tuple(json.loads(row[6])),
        granted_by=str(row[7]),
        revoked_at=None if row[8] is None else float(row[8]),
        revoked_by=row[9],
        report_sent_at=None if row[10] is None else float(row[10]),
        report_event=row[11],
    )
