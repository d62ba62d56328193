"""The spend ledger in the store: reserve a call's worst case, settle it, release it.

`reserve` is ONE conditional INSERT: its WHERE sums what is settled (`agent_usage`) and what
is held (unexpired reservations) for every cap that applies (the agent's day, the task, the
council's day) and inserts only when the new hold fits under all of them. A write statement
takes SQLite's write lock before it reads, so two reservations, from this process or another
sharing the file, never both see the same room under a cap. Settling turns the reservation
into the call's `agent_usage` row (one transaction), so `usage.totals` stays the reader of
what was spent.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from bots.store.connection import Writer, fetch_all, fetch_one
from bots.store.errors import converted
from bridge.llm.base import Usage

_EPSILON = 1e-9
"""Float slack: a hold that lands exactly on a cap fits."""

_SETTLED_COST = "SELECT COALESCE(SUM(cost_usd), 0.0) FROM agent_usage"
_HELD_COST = "SELECT COALESCE(SUM(cost_usd), 0.0) FROM spend_reservations"


@dataclass(frozen=True)
class Hold:
    """What one call may cost at worst, and how long it may run (`expires_at`)."""

    agent: str
    model: str
    day: str
    task: int | None
    tokens: int
    cost_usd: float
    at: float
    expires_at: float


@dataclass(frozen=True)
class Limits:
    """The caps a hold must fit under; None: no cap of that kind."""

    agent_usd: float | None = None
    agent_tokens: int | None = None
    task_usd: float | None = None
    global_usd: float | None = None


@dataclass(frozen=True)
class Reservation:
    id: int
    hold: Hold


@dataclass(frozen=True)
class Spend:
    """Settled and held (reserved, unexpired) spend of one agent, task or day."""

    settled_usd: float = 0.0
    held_usd: float = 0.0
    tokens: int = 0
    held_tokens: int = 0

    @property
    def total_usd(self) -> float:
        return self.settled_usd + self.held_usd


@dataclass(frozen=True)
class Standing:
    """Everything a hold is measured against: the agent's day, the task, the council's day."""

    agent: Spend
    task: Spend
    day: Spend


class LedgerStore:
    def __init__(self, db: aiosqlite.Connection, writes: Writer) -> None:
        self._db = db
        self._writes = writes

    # ---- reserve, settle, release ------------------------------------------------------

    async def reserve(self, hold: Hold, limits: Limits) -> Reservation | None:
        """The reservation, or None when the hold would cross a cap (nothing is written)."""
        with converted("the spend ledger"):
            # Numbered parameters, each used where it is needed: ?1 agent, ?2 model, ?3 day,
            # ?4 task, ?5 tokens, ?6 cost, ?7 at, ?8 expires_at; the caps: ?9 agent USD,
            # ?10 agent tokens, ?11 task USD, ?12 council USD (NULL: no cap of that kind).
            written = await self._writes.execute(
                f"""
INSERT INTO spend_reservations (agent, model, day, task, tokens, cost_usd, at, expires_at)
SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8
WHERE (?9 IS NULL
       OR ({_SETTLED_COST} WHERE day = ?3 AND agent = ?1)
        + ({_HELD_COST} WHERE day = ?3 AND agent = ?1 AND expires_at > ?7)
        + ?6 <= ?9 + {_EPSILON})
  AND (?10 IS NULL
       OR (SELECT COALESCE(SUM(input_tokens + output_tokens), 0) FROM agent_usage
           WHERE day = ?3 AND agent = ?1)
        + (SELECT COALESCE(SUM(tokens), 0) FROM spend_reservations
           WHERE day = ?3 AND agent = ?1 AND expires_at > ?7)
        + ?5 <= ?10)
  AND (?4 IS NULL OR ?11 IS NULL
       OR ({_SETTLED_COST} WHERE task = ?4)
        + ({_HELD_COST} WHERE task = ?4 AND expires_at > ?7)
        + ?6 <= ?11 + {_EPSILON})
  AND (?12 IS NULL
       OR ({_SETTLED_COST} WHERE day = ?3)
        + ({_HELD_COST} WHERE day = ?3 AND expires_at > ?7)
        + ?6 <= ?12 + {_EPSILON})
""",
                (
                    hold.agent,
                    hold.model,
                    hold.day,
                    hold.task,
                    hold.tokens,
                    hold.cost_usd,
                    hold.at,
                    hold.expires_at,
                    limits.agent_usd,
                    limits.agent_tokens,
                    limits.task_usd,
                    limits.global_usd,
                ),
            )
            if written.rowcount != 1 or written.lastrowid is None:
                return None
            return Reservation(written.lastrowid, hold)

    async def settle(
        self,
        reservation: Reservation,
        *,
        model: str,
        usage: Usage,
        cost_usd: float,
        event_id: str | None,
        at: float,
    ) -> None:
        """The call's real usage replaces its hold: one `agent_usage` row, counted on the day
        (and task) it was reserved for. Also when the hold had already expired: the money
        was spent all the same."""
        hold = reservation.hold
        with converted("the spend ledger"):
            # One statement: the row names its reservation and a trigger deletes the hold.
            await self._writes.execute(
                "INSERT INTO agent_usage (agent, model, day, input_tokens, output_tokens, "
                "cost_usd, event_id, at, task, reservation) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    hold.agent,
                    model,
                    hold.day,
                    usage.input_tokens,
                    usage.output_tokens,
                    cost_usd,
                    event_id,
                    at,
                    hold.task,
                    reservation.id,
                ),
            )

    async def release(self, reservation: Reservation) -> None:
        """The call failed before the vendor charged anything: its hold is given back."""
        with converted("the spend ledger"):
            await self._writes.execute(
                "DELETE FROM spend_reservations WHERE id = ?", (reservation.id,)
            )

    async def release_stale(self, now: float) -> int:
        """Holds of calls that outlived their possible lifetime (a crash mid-call); how many.
        They already stop counting once expired; this only tidies them away."""
        with converted("the spend ledger"):
            written = await self._writes.execute(
                "DELETE FROM spend_reservations WHERE expires_at <= ?", (now,)
            )
            return written.rowcount

    # ---- what is spent -------------------------------------------------------------------

    async def standing(self, agent: str, day: str, task: int | None, now: float) -> Standing:
        """The sums the caps are checked against (to say which cap refused a hold)."""
        with converted("the spend ledger"):
            mine = await self._spend("day = ? AND agent = ?", (day, agent), now)
            whole_day = await self._spend("day = ?", (day,), now)
            of_task = Spend() if task is None else await self._spend("task = ?", (task,), now)
            return Standing(mine, of_task, whole_day)

    async def by_agent(self, first_day: str, last_day: str, now: float) -> dict[str, Spend]:
        """Each agent's spend over the local days `first_day`..`last_day` (ISO, inclusive)."""
        with converted("the spend ledger"):
            settled = await fetch_all(
                self._db,
                "SELECT agent, SUM(cost_usd), SUM(input_tokens + output_tokens) FROM agent_usage "
                "WHERE day BETWEEN ? AND ? GROUP BY agent",
                (first_day, last_day),
            )
            held = await fetch_all(
                self._db,
                "SELECT agent, SUM(cost_usd), SUM(tokens) FROM spend_reservations "
                "WHERE day BETWEEN ? AND ? AND expires_at > ? GROUP BY agent",
                (first_day, last_day, now),
            )
        found: dict[str, Spend] = {
            str(a): Spend(settled_usd=float(c), tokens=int(t)) for a, c, t in settled
        }
        for agent, cost, tokens in held:
            base = found.get(str(agent), Spend())
            found[str(agent)] = Spend(base.settled_usd, float(cost), base.tokens, int(tokens))
        return found

    async def top_tasks(self, first_day: str, last_day: str, limit: int) -> list[tuple[int, float]]:
        """The tasks that spent most over those days, most first: (task, USD)."""
        with converted("the spend ledger"):
            rows = await fetch_all(
                self._db,
                "SELECT task, SUM(cost_usd) AS spent FROM agent_usage "
                "WHERE task IS NOT NULL AND day BETWEEN ? AND ? "
                "GROUP BY task ORDER BY spent DESC, task LIMIT ?",
                (first_day, last_day, limit),
            )
            return [(int(task), float(spent)) for task, spent in rows]

    async def task_spend(self, task: int, now: float) -> Spend:
        with converted("the spend ledger"):
            return await self._spend("task = ?", (task,), now)

    async def _spend(self, where: str, params: tuple[object, ...], now: float) -> Spend:
        settled = await fetch_one(
            self._db,
            "SELECT COALESCE(SUM(cost_usd), 0.0), COALESCE(SUM(input_tokens + output_tokens), 0) "
            f"FROM agent_usage WHERE {where}",
            params,
        )
        held = await fetch_one(
            self._db,
            "SELECT COALESCE(SUM(cost_usd), 0.0), COALESCE(SUM(tokens), 0) "
            f"FROM spend_reservations WHERE {where} AND expires_at > ?",
            (*params, now),
        )
        assert settled is not None  # an aggregate always has a row
        assert held is not None
        return Spend(float(settled[0]), float(held[0]), int(settled[1]), int(held[1]))

    # ---- task caps the master raised -----------------------------------------------------

    async def task_cap(self, task: int) -> float | None:
        """The cap the master set for this task (`!budget 12 +0.50`); None: the default."""
        with converted("the spend ledger"):
            row = await fetch_one(
                self._db, "SELECT cap_usd FROM task_spend_caps WHERE task = ?", (task,)
            )
            return float(row[0]) if row else None

    async def set_task_cap(self, task: int, cap_usd: float, at: float) -> None:
        with converted("the spend ledger"):
            await self._writes.execute(
                "INSERT INTO task_spend_caps (task, cap_usd, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (task) DO UPDATE SET cap_usd = excluded.cap_usd, "
                "updated_at = excluded.updated_at",
                (task, cap_usd, at),
            )

    async def alert_once(self, key: str, at: float) -> bool:
        """True the first time `key` is noted: send that alert then, never again."""
        with converted("the spend ledger"):
            written = await self._writes.execute(
                "INSERT OR IGNORE INTO spend_alerts (key, at) VALUES (?, ?)", (key, at)
            )
            return written.rowcount == 1

    # ---- benched agents --------------------------------------------------------------------

    async def bench(self, agent: str, reason: str, at: float) -> bool:
        """True when this benched the agent; False when it already was (no second alert)."""
        with converted("the spend ledger"):
            written = await self._writes.execute(
                "INSERT OR IGNORE INTO benched_agents (agent, reason, at) VALUES (?, ?, ?)",
                (agent, reason, at),
            )
            return written.rowcount == 1

    async def unbench(self, agent: str) -> bool:
        """True when the agent was benched and now is not."""
        with converted("the spend ledger"):
            written = await self._writes.execute(
                "DELETE FROM benched_agents WHERE agent = ?", (agent,)
            )
            return written.rowcount == 1

    async def benched(self) -> dict[str, str]:
        """Every benched agent and why."""
        with converted("the spend ledger"):
            rows = await fetch_all(self._db, "SELECT agent, reason FROM benched_agents")
            return {str(agent): str(reason) for agent, reason in rows}

    async def bench_reason(self, agent: str) -> str | None:
        with converted("the spend ledger"):
            row = await fetch_one(
                self._db, "SELECT reason FROM benched_agents WHERE agent = ?", (agent,)
            )
            return str(row[0]) if row else None
