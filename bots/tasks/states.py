"""A task's states and the moves between them: the one table every state change is checked
against (the store validates each `move()` with `check_move`).

The normal path: pending → discussing → voting → planning → reviewing → awaiting_approval →
running → completed, with self-healing rounds running → fixing → reviewing → … Short cuts:
one proposal (or `!assign`) skips the vote (discussing/pending → planning), a routine's run
starts with its stored plan (pending → reviewing: no proposals, no vote), a task that needs no
command ends after planning (planning → completed: the winner's refined answer is the report),
the judge's rejection or the master's denial sends the plan back (reviewing/awaiting_approval →
planning). A critique round sits between the proposals and the vote (discussing → critiquing →
voting). A split task (issue 17's divide and merge) goes pending → dividing (the planner
splits the mission into parts) → working (the parts, in parallel) → merging (one deliverable),
then completed, or reviewing when parts need commands; a split that yields no parts falls back
to the council (dividing → discussing). Any active task may be paused, fail or be cancelled;
a paused one may only go back where it was paused from, or be cancelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

from bots.errors import TaskError

TaskState = Literal[
    "pending",
    "discussing",
    "critiquing",
    "voting",
    "planning",
    "dividing",
    "working",
    "merging",
    "reviewing",
    "awaiting_approval",
    "running",
    "fixing",
    "paused",
    "completed",
    "failed",
    "cancelled",
]
STATES: tuple[TaskState, ...] = get_args(TaskState)
"""Every state, in workflow order."""
FINAL_STATES: frozenset[TaskState] = frozenset({"completed", "failed", "cancelled"})
"""A task in one of these never moves again."""
ACTIVE_STATES: frozenset[TaskState] = frozenset(STATES) - FINAL_STATES - {"paused"}
"""A task in work (or waiting for its turn: pending)."""

_BY_NAME: dict[str, TaskState] = {state: state for state in STATES}

SopStatus = Literal["pending", "in_progress", "completed"]

_FORWARD: dict[TaskState, frozenset[TaskState]] = {
    "pending": frozenset({"discussing", "planning", "reviewing", "dividing"}),
    "discussing": frozenset({"voting", "planning", "critiquing"}),
    "critiquing": frozenset({"voting", "planning"}),
    "voting": frozenset({"planning"}),
    "dividing": frozenset({"working", "discussing"}),
    "working": frozenset({"merging"}),
    "merging": frozenset({"completed", "reviewing"}),
    "planning": frozenset({"reviewing", "completed"}),
    "reviewing": frozenset({"awaiting_approval", "planning"}),
    "awaiting_approval": frozenset({"running", "planning"}),
    "running": frozenset({"completed", "fixing"}),
    "fixing": frozenset({"reviewing"}),
}


def _table() -> dict[TaskState, frozenset[TaskState]]:
    table: dict[TaskState, frozenset[TaskState]] = {}
    for state in STATES:
        if state in FINAL_STATES:
            table[state] = frozenset()
        elif state == "paused":
            table[state] = ACTIVE_STATES | {"cancelled"}
        else:
            table[state] = _FORWARD[state] | {"paused", "failed", "cancelled"}
    return table


TRANSITIONS: Mapping[TaskState, frozenset[TaskState]] = _table()
"""Where each state may go. `paused` lists every active state: which one is allowed depends
on the task (`paused_from`), see `can_move`."""


def can_move(a: TaskState, b: TaskState, *, paused_from: TaskState | None = None) -> bool:
    """Whether a task in state `a` may move to `b`. Leaving `paused` for an active state is
    allowed only back to `paused_from` when it is given (the store always gives it)."""
    if b not in TRANSITIONS.get(a, frozenset()):
        return False
    return not (a == "paused" and b != "cancelled" and paused_from is not None and b != paused_from)


def check_move(a: str, b: str, *, paused_from: str | None = None) -> None:
    """Raises `TaskError` naming both states when a task in `a` may not move to `b`."""
    if a not in STATES:
        raise TaskError(f"unknown task state {a!r}")
    if b not in STATES:
        raise TaskError(f"unknown task state {b!r}")
    resume_to = _BY_NAME.get(paused_from) if paused_from is not None else None
    if a == "paused" and paused_from is not None and resume_to not in ACTIVE_STATES:
        raise TaskError(f"a task cannot have been paused from {paused_from!r}")
    if not can_move(a, b, paused_from=resume_to):
        if a == "paused" and b in ACTIVE_STATES:
            raise TaskError(
                f"a task paused from {paused_from} can only resume to {paused_from}, not to {b}"
            )
        if a in FINAL_STATES:
            raise TaskError(f"a task that is {a} cannot move to {b}: it has ended")
        raise TaskError(f"a task cannot move from {a} to {b}")


def sop_status(state: str) -> SopStatus:
    """The HTTP bridge's SOP status (`pending` / `in_progress` / `completed`) of a state.

    The SOP has three words for twelve states: a failed or cancelled task is "completed" (it
    will not move again) and a paused one is "in_progress", so the bridge reports the real
    `state` next to this status."""
    if state == "pending":
        return "pending"
    if state in FINAL_STATES:
        return "completed"
    return "in_progress"
