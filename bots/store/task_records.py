"""The facts agents' records are counted from (`bots.tasks.records`), read in three queries
over the tasks created since a time: the tasks, who proposed in which, what each answer cost.

Kept apart from `TaskStore`: it only reads the task tables, and the counting is pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import aiosqlite

from bots.store.connection import fetch_all
from bots.store.errors import converted


@dataclass(frozen=True)
class TaskFactsRow:
    """One task as the records count it (`bots.tasks.records.TaskFacts`)."""

    mission: str
    state: str
    winner: str | None
    plan_author: str | None
    voted: bool
    proposers: frozenset[str] = frozenset()
    costs: Mapping[str, float] = field(default_factory=dict)


class TaskRecords:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def facts(self, since: float) -> list[TaskFactsRow]:
        """Every task created since `since` (epoch seconds), oldest first."""
        return await task_facts(self._db, since)


async def task_facts(db: aiosqlite.Connection, since: float) -> list[TaskFactsRow]:
    with converted("the task records"):
        tasks = await fetch_all(
            db,
            "SELECT t.id, t.mission, t.state, t.winner, t.plan_author, EXISTS ("
            " SELECT 1 FROM task_moves AS m WHERE m.task_id = t.id AND m.to_state = 'voting')"
            " FROM tasks AS t WHERE t.created_at >= ? ORDER BY t.id",
            (since,),
        )
        answers = await fetch_all(
            db,
            "SELECT a.task_id, a.agent, "
            "COALESCE(SUM(a.stage = 'propose' AND a.status = 'ok'), 0), COALESCE(SUM(a.cost), 0)"
            " FROM task_answers AS a JOIN tasks AS t ON t.id = a.task_id"
            " WHERE t.created_at >= ? GROUP BY a.task_id, a.agent",
            (since,),
        )
    proposers: dict[int, set[str]] = defaultdict(set)
    costs: dict[int, dict[str, float]] = defaultdict(dict)
    for task_id, agent, proposed, cost in answers:
        if proposed:
            proposers[int(task_id)].add(str(agent))
        costs[int(task_id)][str(agent)] = float(cost)
    return [
        TaskFactsRow(
            mission=str(mission),
            state=str(state),
            winner=None if winner is None else str(winner),
            plan_author=None if author is None else str(author),
            voted=bool(voted),
            proposers=frozenset(proposers.get(int(task_id), ())),
            costs=costs.get(int(task_id), {}),
        )
        for task_id, mission, state, winner, author, voted in tasks
    ]
