"""The master's digests (issue 19): which were sent, and the counts a digest is made of.

The daily digest is claimed by its local day (one row, unique), then marked sent once the
message is out: a stop in between leaves a claimed, unsent day, which is sent again (with
the same message key, so the homeserver keeps one) instead of being lost or doubled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import aiosqlite

from bots.store.connection import Writer, fetch_all, fetch_one
from bots.store.errors import converted


@dataclass(frozen=True)
class Digest:
    id: int
    day: str | None
    kind: Literal["daily", "asked"]
    at: float
    sent_at: float | None


@dataclass(frozen=True)
class FinishedTask:
    id: int
    state: str
    mission: str
    finished_at: float


class DigestStore:
    def __init__(self, db: aiosqlite.Connection, writes: Writer) -> None:
        self._db = db
        self._writes = writes

    async def claim_daily(self, day: str, now: float) -> Digest | None:
        """The daily digest of `day`, claimed now; None when that day's is claimed already
        (see `unsent` for one claimed and not sent)."""
        with converted("the digests"):
            row = await self._writes.fetch_one(
                "INSERT INTO digests (day, kind, at) VALUES (?, 'daily', ?) "
                "ON CONFLICT (day) WHERE kind = 'daily' DO NOTHING "
                "RETURNING id, day, kind, at, sent_at",
                (day, now),
            )
            return _digest(row) if row else None

    async def add_asked(self, now: float) -> Digest:
        """A digest the master asked for (`!digest`): not tied to a day."""
        with converted("the digests"):
            row = await self._writes.fetch_one(
                "INSERT INTO digests (day, kind, at) VALUES (NULL, 'asked', ?) "
                "RETURNING id, day, kind, at, sent_at",
                (now,),
            )
            assert row is not None
            return _digest(row)

    async def mark_sent(self, digest_id: int, now: float) -> None:
        with converted("the digests"):
            await self._writes.execute(
                "UPDATE digests SET sent_at = ? WHERE id = ? AND sent_at IS NULL",
                (now, digest_id),
            )

    async def unsent_daily(self) -> list[Digest]:
        """Daily digests claimed and never marked sent (a stop between the two)."""
        with converted("the digests"):
            rows = await fetch_all(
                self._db,
                "SELECT id, day, kind, at, sent_at FROM digests "
                "WHERE kind = 'daily' AND sent_at IS NULL ORDER BY id",
            )
            return [_digest(r) for r in rows]

    async def previous(self, before_id: int) -> Digest | None:
        """The digest before `before_id` (what "since the last digest" counts from)."""
        with converted("the digests"):
            row = await fetch_one(
                self._db,
                "SELECT id, day, kind, at, sent_at FROM digests WHERE id < ? "
                "ORDER BY id DESC LIMIT 1",
                (before_id,),
            )
            return _digest(row) if row else None

    async def has_daily(self, day: str) -> bool:
        with converted("the digests"):
            row = await fetch_one(
                self._db, "SELECT 1 FROM digests WHERE kind = 'daily' AND day = ?", (day,)
            )
            return row is not None

    # ---- what a digest counts ----------------------------------------------------------

    async def finished_tasks(self, since: float, until: float) -> list[FinishedTask]:
        """Tasks completed or failed in [since, until), oldest first."""
        with converted("the digests"):
            rows = await fetch_all(
                self._db,
                "SELECT id, state, mission, finished_at FROM tasks "
                "WHERE state IN ('completed', 'failed') AND finished_at >= ? "
                "AND finished_at < ? ORDER BY finished_at, id",
                (since, until),
            )
            return [FinishedTask(int(i), str(s), str(m), float(f)) for i, s, m, f in rows]

    async def waiting_tasks(self) -> list[FinishedTask]:
        """Tasks awaiting the master's approval (`finished_at` is when they started waiting)."""
        with converted("the digests"):
            rows = await fetch_all(
                self._db,
                "SELECT id, state, mission, updated_at FROM tasks "
                "WHERE state = 'awaiting_approval' ORDER BY id",
            )
            return [FinishedTask(int(i), str(s), str(m), float(f)) for i, s, m, f in rows]

    async def commands_run(self, since: float, until: float) -> dict[str, int]:
        """Commands that ran to their end in [since, until), by how they ended: the audit's
        "end" rows ("ok" for exit status 0, "failed" for any other end)."""
        with converted("the digests"):
            rows = await fetch_all(
                self._db,
                "SELECT COALESCE(json_extract(detail, '$.exit_status'), -1) = 0, COUNT(*) "
                "FROM audit_log WHERE kind = 'end' AND at >= ? AND at < ? GROUP BY 1",
                (since, until),
            )
            counts = {"ok": 0, "failed": 0}
            for ok, count in rows:
                counts["ok" if ok else "failed"] += int(count)
            return counts


def _digest(row: tuple[object, ...]) -> Digest:
    did, day, kind, at, sent = row
    return Digest(
        id=int(str(did)),
        day=None if day is None else str(day),
        kind="asked" if kind == "asked" else "daily",
        at=float(str(at)),
        sent_at=None if sent is None else float(str(sent)),
    )
