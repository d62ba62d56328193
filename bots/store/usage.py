"""Agent usage in the store: one row per model call, totals per agent and day, notices once.

Takes the store's open connection (autocommit, migrated) rather than opening its own, so
usage shares the store's file, lock and migrations.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import aiosqlite

from bots.store.connection import Writer, fetch_all, fetch_one
from bots.store.errors import converted
from bridge.llm.base import Usage


class UsageTotals(NamedTuple):
    """One agent's spending in a day; unpacks as `(tokens, cost_usd)`."""

    tokens: int
    cost_usd: float


class UsageStore:
    def __init__(self, db: aiosqlite.Connection, writes: Writer) -> None:
        self._db = db
        self._writes = writes

    async def record(
        self,
        agent: str,
        model: str,
        day: str,
        usage: Usage,
        cost: float,
        event_id: str | None,
        *,
        at: float | None = None,
    ) -> None:
        """One model call; `day` is the local date in the budget time zone."""
        with converted("the usage store"):
            await self._writes.execute(
                "INSERT INTO agent_usage "
                "(agent, model, day, input_tokens, output_tokens, cost_usd, event_id, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    agent,
                    model,
                    day,
                    usage.input_tokens,
                    usage.output_tokens,
                    cost,
                    event_id,
                    time.time() if at is None else at,
                ),
            )

    async def totals(self, agent: str, day: str) -> UsageTotals:
        with converted("the usage store"):
            row = await fetch_one(
                self._db,
                "SELECT COALESCE(SUM(input_tokens + output_tokens), 0), "
                "COALESCE(SUM(cost_usd), 0.0) "
                "FROM agent_usage WHERE agent = ? AND day = ?",
                (agent, day),
            )
            return UsageTotals(int(row[0]), float(row[1])) if row else UsageTotals(0, 0.0)

    async def spent_between(self, start: float, end: float | None) -> float:
        """What every agent's model calls cost inside [start, end) (USD), by the time each
        was recorded; `end` None: up to now. A night window's spend, whatever its days."""
        with converted("the usage store"):
            row = await fetch_one(
                self._db,
                "SELECT COALESCE(SUM(cost_usd), 0.0) FROM agent_usage "
                "WHERE at >= ? AND (? IS NULL OR at < ?)",
                (start, end, end),
            )
            return float(row[0]) if row else 0.0

    async def all_totals(self, day: str) -> dict[str, UsageTotals]:
        """Every agent that spent anything on `day`, by name."""
        with converted("the usage store"):
            rows = await fetch_all(
                self._db,
                "SELECT agent, SUM(input_tokens + output_tokens), SUM(cost_usd) "
                "FROM agent_usage WHERE day = ? GROUP BY agent ORDER BY agent",
                (day,),
            )
            return {
                str(agent): UsageTotals(int(tokens), float(cost)) for agent, tokens, cost in rows
            }

    async def notice_once(self, agent: str, day: str, kind: str) -> bool:
        """True the first time (agent, day, kind) is noted: say the notice then, never again."""
        with converted("the usage store"):
            cursor = await self._writes.execute(
                "INSERT OR IGNORE INTO agent_notices (agent, day, kind) VALUES (?, ?, ?)",
                (agent, day, kind),
            )
            return cursor.rowcount == 1
