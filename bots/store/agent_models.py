"""The model the master switched an agent to (`!model claude gpt-5`), kept across restarts.

Written by the coordinator, read by the agent before each model call (agents may run in
their own processes: the store they share is how the switch reaches them, as `!mute` does).
No row: the agent uses its configured model.
"""

from __future__ import annotations

import time

import aiosqlite

from bots.store.connection import Writer, fetch_all, fetch_one
from bots.store.errors import converted


class AgentModels:
    def __init__(self, db: aiosqlite.Connection, writes: Writer) -> None:
        self._db = db
        self._writes = writes

    async def set(self, agent: str, model: str, by: str, now: float | None = None) -> None:
        with converted("the agents' models"):
            await self._writes.execute(
                "INSERT INTO agent_models (agent, model, changed_by, updated_at) "
                "VALUES (?, ?, ?, ?) "
                "ON CONFLICT (agent) DO UPDATE SET model = excluded.model, "
                "changed_by = excluded.changed_by, updated_at = excluded.updated_at",
                (agent, model, by, time.time() if now is None else now),
            )

    async def reset(self, agent: str) -> bool:
        """Back to the configured model; False when none was set."""
        with converted("the agents' models"):
            cursor = await self._writes.execute(
                "DELETE FROM agent_models WHERE agent = ?", (agent,)
            )
            return cursor.rowcount == 1

    async def get(self, agent: str) -> str | None:
        """The model set with `!model`, or None (the configured one applies)."""
        with converted("the agents' models"):
            row = await fetch_one(
                self._db, "SELECT model FROM agent_models WHERE agent = ?", (agent,)
            )
            return str(row[0]) if row else None

    async def all(self) -> dict[str, str]:
        with converted("the agents' models"):
            rows = await fetch_all(self._db, "SELECT agent, model FROM agent_models")
            return {str(r[0]): str(r[1]) for r in rows}
