"""Mute switches per agent: set by the master in the room, read before every answer."""

from __future__ import annotations

import time

import aiosqlite

from bots.store.connection import Writer, fetch_one
from bots.store.errors import converted


class AgentFlags:
    def __init__(self, db: aiosqlite.Connection, writes: Writer) -> None:
        self._db = db
        self._writes = writes

    async def set_muted(self, agent: str, muted: bool, by: str) -> None:
        with converted("the agent flags"):
            await self._writes.execute(
                "INSERT INTO agent_flags (agent, muted, changed_by, updated_at) "
                "VALUES (?, ?, ?, ?) "
                "ON CONFLICT (agent) DO UPDATE SET muted = excluded.muted, "
                "changed_by = excluded.changed_by, updated_at = excluded.updated_at",
                (agent, int(muted), by, time.time()),
            )

    async def is_muted(self, agent: str) -> bool:
        with converted("the agent flags"):
            row = await fetch_one(
                self._db, "SELECT muted FROM agent_flags WHERE agent = ?", (agent,)
            )
            return bool(row and row[0])
