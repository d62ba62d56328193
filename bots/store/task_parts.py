"""The parts of split tasks (issue 17's divide and merge): records only.

Which parts there are and who does each is `bots.tasks.splits`'s rule; this keeps them. Every
change is a compare-and-set on the part's `try`: an answer replayed for an older try (the part
was reassigned since) changes nothing, and a part settles once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import aiosqlite

from bots.store.connection import Writer, fetch_all, fetch_one
from bots.store.errors import converted

_COLUMNS = (
    "task_id, n, title, detail, commands, suggested, agent, tried, try, status, result, why, "
    "updated_at"
)


class PartSpec(Protocol):
    """What is stored of a part as split (`bots.tasks.splits.Part` has these)."""

    @property
    def n(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def detail(self) -> str: ...
    @property
    def commands(self) -> bool: ...
    @property
    def suggested(self) -> str | None: ...


@dataclass(frozen=True)
class PartRow:
    task_id: int
    n: int
    title: str
    detail: str
    commands: bool
    suggested: str | None
    agent: str
    """Who does it now (a configured agent name)."""
    tried: tuple[str, ...]
    """Who had it before and failed, in order (not `agent`)."""
    try_: int
    status: str
    """`asked`, `done` (`result` is its answer) or `missing` (`why` says why)."""
    result: str
    why: str
    """Why it is missing, or why the previous agent lost it."""
    updated_at: float


class PartStore:
    def __init__(self, db: aiosqlite.Connection, writes: Writer) -> None:
        self._db = db
        self._writes = writes

    async def add_all(
        self, task_id: int, parts: Sequence[PartSpec], agents: Sequence[str], now: float
    ) -> bool:
        """Every part with its agent, `asked`, in one transaction; False (nothing written)
        when the task has parts already, so a replayed drive adds them once."""
        if len(parts) != len(agents):
            raise ValueError(f"{len(parts)} parts but {len(agents)} agents")
        with converted("the task parts"):
            async with self._writes.transaction() as tx:
                if await tx.fetch_one("SELECT 1 FROM task_parts WHERE task_id = ?", (task_id,)):
                    return False
                for part, agent in zip(parts, agents, strict=True):
                    await tx.execute(
                        "INSERT INTO task_parts (task_id, n, title, detail, commands, "
                        "suggested, agent, status, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, 'asked', ?)",
                        (
                            task_id,
                            part.n,
                            part.title,
                            part.detail,
                            int(part.commands),
                            part.suggested,
                            agent,
                            now,
                        ),
                    )
                return True

    async def of(self, task_id: int) -> list[PartRow]:
        """The task's parts in order (none for a task that was not split)."""
        with converted("the task parts"):
            rows = await fetch_all(
                self._db,
                f"SELECT {_COLUMNS} FROM task_parts WHERE task_id = ? ORDER BY n",
                (task_id,),
            )
            return [_row(r) for r in rows]

    async def get(self, task_id: int, n: int) -> PartRow | None:
        with converted("the task parts"):
            row = await fetch_one(
                self._db,
                f"SELECT {_COLUMNS} FROM task_parts WHERE task_id = ? AND n = ?",
                (task_id, n),
            )
            return _row(row) if row else None

    async def done(self, task_id: int, n: int, try_: int, result: str, now: float) -> bool:
        """The part's answer for try `try_`; False when that try is over or the part settled."""
        with converted("the task parts"):
            written = await self._writes.execute(
                "UPDATE task_parts SET status = 'done', result = ?, updated_at = ? "
                "WHERE task_id = ? AND n = ? AND try = ? AND status = 'asked'",
                (result, now, task_id, n, try_),
            )
            return written.rowcount == 1

    async def missing(self, task_id: int, n: int, try_: int, why: str, now: float) -> bool:
        """The part stays missing, saying why; False when that try is over or it settled."""
        with converted("the task parts"):
            written = await self._writes.execute(
                "UPDATE task_parts SET status = 'missing', why = ?, updated_at = ? "
                "WHERE task_id = ? AND n = ? AND try = ? AND status = 'asked'",
                (why, now, task_id, n, try_),
            )
            return written.rowcount == 1

    async def reassign(
        self, task_id: int, n: int, from_try: int, agent: str, why: str, now: float
    ) -> bool:
        """The part goes to `agent` as try `from_try + 1`, asked again; the agent that had it
        joins `tried`, and `why` says why it lost it. False when `from_try` is not the part's
        try any more or it is done."""
        with converted("the task parts"):
            written = await self._writes.execute(
                "UPDATE task_parts SET tried = json_insert(tried, '$[#]', agent), agent = ?, "
                "try = try + 1, status = 'asked', result = '', why = ?, updated_at = ? "
                "WHERE task_id = ? AND n = ? AND try = ? AND status != 'done'",
                (agent, why, now, task_id, n, from_try),
            )
            return written.rowcount == 1


def _row(row: Sequence[object]) -> PartRow:
    (
        task_id,
        n,
        title,
        detail,
        commands,
        suggested,
        agent,
        tried,
        try_,
        status,
        result,
        why,
        at,
    ) = row
    return PartRow(
        task_id=int(str(task_id)),
        n=int(str(n)),
        title=str(title),
        detail=str(detail),
        commands=bool(commands),
        suggested=None if suggested is None else str(suggested),
        agent=str(agent),
        tried=tuple(str(name) for name in json.loads(str(tried))),
        try_=int(str(try_)),
        status=str(status),
        result=str(result),
        why=str(why),
        updated_at=float(str(at)),
    )
