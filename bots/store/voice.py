"""Voice records (issue 20): `!voice on|off` per room and agent, and plans read out.

Records only: whether a reply is spoken is `bots.voice`'s rule (it asks `speaks`); a
spoken approval compares the waiting plan's digest with the last one read out here.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from bots.store.connection import Writer, fetch_all, fetch_one
from bots.store.errors import converted

ROOM = ""
"""The `agent` of a room's own setting (every agent in it, unless one has its own)."""


@dataclass(frozen=True)
class VoicePref:
    room_id: str
    agent: str
    """`ROOM` for the room's own setting, else the agent's name."""
    speaks: bool
    set_by: str
    set_at: float


@dataclass(frozen=True)
class Readout:
    """A plan read out to the master as a voice message: what he heard, and where."""

    task_id: int
    plan_digest: str
    room_id: str
    event_id: str
    read_at: float


class VoiceStore:
    def __init__(self, db: aiosqlite.Connection, writes: Writer) -> None:
        self._db = db
        self._writes = writes

    async def set_pref(
        self, room_id: str, agent: str, speaks: bool, *, by: str, now: float
    ) -> None:
        """`!voice on|off` for the room (`agent` = `ROOM`) or one agent in it; the last word
        wins."""
        with converted("the voice settings"):
            await self._writes.execute(
                "INSERT INTO voice_prefs (room_id, agent, speaks, set_by, set_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (room_id, agent) DO UPDATE SET "
                "speaks = excluded.speaks, set_by = excluded.set_by, set_at = excluded.set_at",
                (room_id, agent, int(speaks), by, now),
            )

    async def speaks(self, room_id: str, agent: str, default: bool) -> bool:
        """Whether `agent` (or, with `ROOM`, the room's reports) speaks in `room_id`: the
        agent's own setting, else the room's, else `default`."""
        with converted("the voice settings"):
            row = await fetch_one(
                self._db,
                "SELECT speaks FROM voice_prefs WHERE room_id = ? AND agent IN (?, ?) "
                "ORDER BY agent = ? DESC LIMIT 1",
                (room_id, agent, ROOM, agent),
            )
            return default if row is None else bool(row[0])

    async def prefs(self, room_id: str) -> list[VoicePref]:
        """The room's settings, the room's own first, then agents by name."""
        with converted("the voice settings"):
            rows = await fetch_all(
                self._db,
                "SELECT room_id, agent, speaks, set_by, set_at FROM voice_prefs "
                "WHERE room_id = ? ORDER BY agent",
                (room_id,),
            )
            return [VoicePref(r[0], r[1], bool(r[2]), r[3], r[4]) for r in rows]

    async def record_readout(
        self, task_id: int, plan_digest: str, *, room_id: str, event_id: str, now: float
    ) -> None:
        """The plan with `plan_digest` was read out (again: the time moves on)."""
        with converted("the voice readouts"):
            await self._writes.execute(
                "INSERT INTO voice_readouts (task_id, plan_digest, room_id, event_id, read_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (task_id, plan_digest) DO UPDATE SET "
                "room_id = excluded.room_id, event_id = excluded.event_id, "
                "read_at = excluded.read_at",
                (task_id, plan_digest, room_id, event_id, now),
            )

    async def last_readout(self, task_id: int) -> Readout | None:
        """The plan of `task_id` read out last, or None when none was."""
        with converted("the voice readouts"):
            row = await fetch_one(
                self._db,
                "SELECT task_id, plan_digest, room_id, event_id, read_at FROM voice_readouts "
                "WHERE task_id = ? ORDER BY read_at DESC, id DESC LIMIT 1",
                (task_id,),
            )
            return Readout(*row) if row else None
