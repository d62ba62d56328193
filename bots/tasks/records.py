"""Agents' records per kind of task: how often their proposal won the vote, how often their
plans succeeded, what they cost a task. Pure: the store gives the facts of each task, this
module counts them (and `bots.coordinator.task_stats` says them in `!stats`).

Definitions (each one a ratio the master can check against `!tasks`):
- votes: tasks that went to a vote with a proposal of the agent's on the ballot; won: those
  whose winner it was.
- plans: finished tasks (completed or failed; a cancelled one is the master's choice, not a
  plan's failure) whose last plan was the agent's; succeeded: the completed ones.
- cost: what its answers cost over the tasks it answered in; per task: that over their count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from bots.tasks.kinds import TaskKind, task_kind


class TaskFacts(Protocol):
    """What the records need of one task (the store's `TaskFactsRow` has these)."""

    @property
    def mission(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def winner(self) -> str | None: ...
    @property
    def plan_author(self) -> str | None: ...
    @property
    def voted(self) -> bool: ...
    @property
    def proposers(self) -> frozenset[str]: ...
    @property
    def costs(self) -> Mapping[str, float]:
        """Per agent that answered in the task, what its answers cost (USD)."""
        ...


@dataclass
class Record:
    """One agent's record over a kind of task (or every kind: `kind` None)."""

    agent: str
    kind: TaskKind | None
    votes: int = 0
    won: int = 0
    plans: int = 0
    succeeded: int = 0
    tasks: int = 0
    cost: float = 0.0

    @property
    def win_rate(self) -> float | None:
        return self.won / self.votes if self.votes else None

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.plans if self.plans else None

    @property
    def cost_per_task(self) -> float | None:
        return self.cost / self.tasks if self.tasks else None


def records(facts: Iterable[TaskFacts]) -> dict[str, list[Record]]:
    """Per agent: its record over every kind first, then one per kind it took part in (in
    the kinds' own order). Agents sorted by name."""
    table: dict[tuple[str, TaskKind | None], Record] = {}

    def add(agent: str, kind: TaskKind) -> list[Record]:
        found = []
        for k in (None, kind):
            if (agent, k) not in table:
                table[agent, k] = Record(agent, k)
            found.append(table[agent, k])
        return found

    for task in facts:
        kind = task_kind(task.mission)
        if task.voted:
            for agent in task.proposers:
                for record in add(agent, kind):
                    record.votes += 1
                    record.won += int(task.winner == agent)
        if task.plan_author and task.state in ("completed", "failed"):
            for record in add(task.plan_author, kind):
                record.plans += 1
                record.succeeded += int(task.state == "completed")
        for agent, cost in task.costs.items():
            for record in add(agent, kind):
                record.tasks += 1
                record.cost += cost
    order = list(KIND_ORDER)
    grouped: dict[str, list[Record]] = {}
    for (agent, _), record in sorted(
        table.items(),
        key=lambda item: (item[0][0], -1 if item[0][1] is None else order.index(item[0][1])),
    ):
        grouped.setdefault(agent, []).append(record)
    return grouped


KIND_ORDER: tuple[TaskKind, ...] = (
    "disk",
    "update",
    "deploy",
    "logs",
    "writing",
    "research",
    "other",
)


def ranked_for(kind: TaskKind, grouped: Mapping[str, Sequence[Record]]) -> list[str]:
    """Agents best first for a task of `kind`, for a planner choosing who does what (issue
    17's divide-and-merge and default participants): plans that worked, then votes won, on
    that kind when the agent has a record there, else overall; on a tie a record on that kind
    first, then cheaper, then by name. A missing ratio counts as 0.5 (no evidence either way)."""

    def score(agent: str) -> tuple[float, float, bool, float, str]:
        found = grouped[agent]
        on_kind = next((r for r in found if r.kind == kind), None)
        mine = on_kind or found[0]
        plans = mine.success_rate if mine.success_rate is not None else 0.5
        votes = mine.win_rate if mine.win_rate is not None else 0.5
        cost = mine.cost_per_task if mine.cost_per_task is not None else 0.0
        return (-plans, -votes, on_kind is None, cost, agent)

    return sorted(grouped, key=score)


def best_of(
    candidates: Sequence[str], kind: TaskKind, grouped: Mapping[str, Sequence[Record]], limit: int
) -> list[str]:
    """The `limit` best of `candidates` for a task of `kind` (issue 17's participants chosen
    by records), kept in the candidates' own order: those with a record as `ranked_for`
    ranks them, then those without one, in the candidates' order."""
    known = {agent: grouped[agent] for agent in candidates if grouped.get(agent)}
    ranked = ranked_for(kind, known) + [a for a in candidates if a not in known]
    chosen = set(ranked[: max(limit, 0)])
    return [agent for agent in candidates if agent in chosen]
