"""Read-only looks into the store's task tables, as the design names them (v06).

Plain SQL on a second, read-only connection (the bots keep writing through theirs; the
store is in WAL mode), so tests can wait for a state and count what was sent without
depending on `TaskStore`'s Python API.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class TaskDb:
    path: Path

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        try:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute(sql, tuple(params))]
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise
        finally:
            db.close()

    async def rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._rows, sql, params)

    async def task(self, task_id: int) -> dict[str, Any] | None:
        found = await self.rows("SELECT * FROM tasks WHERE id = ?", task_id)
        return found[0] if found else None

    async def state(self, task_id: int) -> str | None:
        task = await self.task(task_id)
        return None if task is None else str(task["state"])

    async def moves(self, task_id: int) -> list[tuple[str, str]]:
        """(from, to) in order; the first move, the task's creation, comes from "" to pending."""
        rows = await self.rows(
            "SELECT from_state, to_state FROM task_moves WHERE task_id = ? ORDER BY seq", task_id
        )
        return [(str(r["from_state"] or ""), str(r["to_state"])) for r in rows]

    async def actions(self, task_id: int) -> dict[str, str]:
        """Action key → event id: what the coordinator recorded as sent."""
        rows = await self.rows("SELECT key, event_id FROM task_actions WHERE task_id = ?", task_id)
        return {str(r["key"]): str(r["event_id"]) for r in rows}

    async def answers(self, task_id: int) -> list[dict[str, Any]]:
        return await self.rows("SELECT * FROM task_answers WHERE task_id = ? ORDER BY at", task_id)

    async def steps(self, task_id: int) -> list[dict[str, Any]]:
        return await self.rows(
            "SELECT * FROM task_steps WHERE task_id = ? ORDER BY sent_at", task_id
        )

    async def audit(self, task_id: int) -> dict[str, list[str]]:
        """The executor's audit log of a task's requests (ids `t<task>-…`): request id →
        its kinds in order (request, decision, approval, start, end, …)."""
        rows = await self.rows(
            "SELECT request_id, kind FROM audit_log WHERE request_id LIKE ? ORDER BY seq",
            f"t{task_id}-%",
        )
        found: dict[str, list[str]] = {}
        for row in rows:
            found.setdefault(str(row["request_id"]), []).append(str(row["kind"]))
        return found
