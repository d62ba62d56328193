"""Health records (issue 19): each check's state, the disks' samples, agents' failed calls.

Records only: what counts as down or full is `bots.health`'s. A state moves with one
compare-and-set on its row (the row as the watcher read it), so a change is written once
however many watchers or restarts see it, and `alerted` says which change has been told.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import aiosqlite

from bots.store.connection import Writer, fetch_all, fetch_one
from bots.store.errors import converted

HealthWord = Literal["ok", "bad"]

_STATE_COLUMNS = "subject, state, streak, since, detail, changes, alerted, checked_at"


@dataclass(frozen=True)
class HealthState:
    """One subject's standing: `streak` bad readings in a row, `changes` changes of state so
    far (the episode number), `alerted` the last change the master was told of."""

    subject: str
    state: HealthWord
    streak: int
    since: float
    detail: str
    changes: int
    alerted: int
    checked_at: float

    @property
    def told(self) -> bool:
        return self.alerted >= self.changes


@dataclass(frozen=True)
class DiskSample:
    at: float
    used: int
    size: int


class HealthStore:
    def __init__(self, db: aiosqlite.Connection, writes: Writer) -> None:
        self._db = db
        self._writes = writes

    # ---- states ------------------------------------------------------------------------

    async def state(self, subject: str) -> HealthState | None:
        with converted("the health states"):
            row = await fetch_one(
                self._db,
                f"SELECT {_STATE_COLUMNS} FROM health_states WHERE subject = ?",
                (subject,),
            )
            return _state(row) if row else None

    async def states(self, prefix: str = "") -> list[HealthState]:
        """Every subject starting with `prefix`, by subject."""
        with converted("the health states"):
            rows = await fetch_all(
                self._db,
                f"SELECT {_STATE_COLUMNS} FROM health_states "
                "WHERE substr(subject, 1, ?) = ? ORDER BY subject",
                (len(prefix), prefix),
            )
            return [_state(r) for r in rows]

    async def put(self, new: HealthState, expected: HealthState | None) -> bool:
        """Writes `new` if the row is still `expected` (None: no row yet); False (nothing
        written) when another watcher moved it first."""
        values = (
            new.state,
            new.streak,
            new.since,
            new.detail,
            new.changes,
            new.alerted,
            new.checked_at,
        )
        with converted("the health states"):
            if expected is None:
                cursor = await self._writes.execute(
                    f"INSERT OR IGNORE INTO health_states ({_STATE_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (new.subject, *values),
                )
            else:
                cursor = await self._writes.execute(
                    "UPDATE health_states SET state = ?, streak = ?, since = ?, detail = ?, "
                    "changes = ?, alerted = ?, checked_at = ? "
                    "WHERE subject = ? AND state = ? AND streak = ? AND changes = ?",
                    (*values, new.subject, expected.state, expected.streak, expected.changes),
                )
            return cursor.rowcount == 1

    async def mark_alerted(self, subject: str, change: int) -> bool:
        """The master was told of change number `change`; False when it was marked already."""
        with converted("the health states"):
            cursor = await self._writes.execute(
                "UPDATE health_states SET alerted = ? WHERE subject = ? AND alerted < ?",
                (change, subject, change),
            )
            return cursor.rowcount == 1

    async def untold(self, prefix: str = "") -> list[HealthState]:
        """Changes written but not yet said (a stop between the two): said on the next round."""
        return [s for s in await self.states(prefix) if not s.told]

    # ---- disks -------------------------------------------------------------------------

    async def add_sample(self, host: str, mount: str, sample: DiskSample) -> None:
        with converted("the disk samples"):
            await self._writes.execute(
                "INSERT OR REPLACE INTO disk_samples (host, mount, at, used, size) "
                "VALUES (?, ?, ?, ?, ?)",
                (host, mount, sample.at, sample.used, sample.size),
            )

    async def samples(self, host: str, mount: str, since: float) -> list[DiskSample]:
        """The mount's samples taken at or after `since`, oldest first."""
        with converted("the disk samples"):
            rows = await fetch_all(
                self._db,
                "SELECT at, used, size FROM disk_samples "
                "WHERE host = ? AND mount = ? AND at >= ? ORDER BY at",
                (host, mount, since),
            )
            return [DiskSample(float(at), int(used), int(size)) for at, used, size in rows]

    async def prune_samples(self, before: float) -> int:
        with converted("the disk samples"):
            cursor = await self._writes.execute("DELETE FROM disk_samples WHERE at < ?", (before,))
            return cursor.rowcount

    # ---- agents' model calls -----------------------------------------------------------

    async def note_failed_calls(self, agent: str, failed: int, at: float) -> None:
        """The agent's failed model calls in a row now (0 after a call that worked); a note
        older than the one kept is ignored (notes are written in the background)."""
        with converted("the agents' calls"):
            await self._writes.execute(
                "INSERT INTO agent_calls (agent, failed, at) VALUES (?, ?, ?) "
                "ON CONFLICT (agent) DO UPDATE SET failed = excluded.failed, at = excluded.at "
                "WHERE excluded.at >= agent_calls.at",
                (agent, failed, at),
            )

    async def failed_calls(self) -> dict[str, int]:
        """Each agent's failed calls in a row, by name (agents never noted are absent)."""
        with converted("the agents' calls"):
            rows = await fetch_all(self._db, "SELECT agent, failed FROM agent_calls")
            return {str(agent): int(failed) for agent, failed in rows}


def _state(row: tuple[object, ...]) -> HealthState:
    subject, state, streak, since, detail, changes, alerted, checked = row
    return HealthState(
        subject=str(subject),
        state="bad" if state == "bad" else "ok",
        streak=int(str(streak)),
        since=float(str(since)),
        detail=str(detail),
        changes=int(str(changes)),
        alerted=int(str(alerted)),
        checked_at=float(str(checked)),
    )
