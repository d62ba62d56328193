"""The store's records as the views `bots.tasks.render` words for `!task N` and `!tasks`.

`bots.tasks` knows no store, so the commands build its small view values here: the moves,
the step in work, who plans, each agent by the name people know it by.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from bots.tasks.render_status import MoveView, StatusView, TaskLine
from bots.tasks.splits import parts_block

if TYPE_CHECKING:
    from bots.store.task_parts import PartRow
    from bots.store.tasks import Move, StepRun, Task

LIST_LIMIT = 20
"""Tasks `!tasks` lists at most: a phone screen or two."""
COMMAND_CHARS = 80
"""A step's command as `!task N` quotes it (the plan message shows it whole)."""


def status_view(
    task: Task,
    moves: Sequence[Move],
    steps: Sequence[StepRun],
    names: Mapping[str, str],
    parts: Sequence[PartRow] = (),
) -> StatusView:
    """`names`: an agent's configured name → its display name; `parts`: a split task's."""
    planner = task.assigned or task.winner or task.plan_author or ""
    return StatusView(
        task_id=task.id,
        mission=task.mission,
        state=task.state,
        priority=task.priority,
        requester=task.requester,
        created_at=task.created_at,
        moves=tuple(_move(move, names) for move in moves),
        waiting_for=task.waiting_for or _paused_wait(task),
        deadline=task.deadline,
        current_step=current_step(task, steps),
        attempt=task.attempt,
        paused_from=task.paused_from,
        note=task.note,
        winner=names.get(planner, planner),
        parts=tuple(parts_block(parts, names).splitlines()[1:]) if parts else (),
    )


def _paused_wait(task: Task) -> str:
    """A paused task waits for the master; the engine leaves that unsaid."""
    if task.state != "paused":
        return ""
    return f"you: !resume {task.id} goes on, !cancel {task.id} stops it"


def task_lines(tasks: Sequence[Task]) -> list[TaskLine]:
    return [
        TaskLine(task.id, task.state, task.priority, task.mission, task.waiting_for)
        for task in tasks[:LIST_LIMIT]
    ]


def current_step(task: Task, steps: Sequence[StepRun]) -> str:
    """ "step 2 of 3 on web-1: df -h" — the step in work (sent, no result yet), else the
    last one of the current attempt with how it ended; "" before any step was sent."""
    runs = [s for s in steps if s.attempt == task.attempt] or list(steps)
    if not runs:
        return ""
    open_runs = [s for s in runs if s.finished_at is None]
    run = open_runs[0] if open_runs else runs[-1]
    total = _step_count(task.plan)
    of = f" of {total}" if total else ""
    kind = {"verify": " (its check)", "rollback": " (rollback)"}.get(run.kind, "")
    command = " ".join(run.command.split())
    if len(command) > COMMAND_CHARS:
        command = command[: COMMAND_CHARS - 1].rstrip() + "…"
    text = f"step {run.step}{of}{kind} on {run.host}: {command}"
    if run.finished_at is None:
        more = f" (and {len(open_runs) - 1} more in parallel)" if len(open_runs) > 1 else ""
        return f"{text}{more}"
    ended = run.status.replace("_", " ")
    if run.exit_status is not None and run.status != "succeeded":
        ended += f", exit {run.exit_status}"
    return f"{text} — {ended}"


def _step_count(plan: str | None) -> int:
    """Steps in the stored plan (JSON: a `steps` list, or the list itself); 0 if unknown."""
    if not plan:
        return 0
    try:
        found = json.loads(plan)
    except ValueError:
        return 0
    steps = found.get("steps") if isinstance(found, dict) else found
    return len(steps) if isinstance(steps, list) else 0


def _move(move: Move, names: Mapping[str, str]) -> MoveView:
    # The first move is the task's creation: it comes from nowhere.
    return MoveView(
        at=move.at,
        from_state=move.from_state or "new",
        to_state=move.to_state,
        actor=names.get(move.actor, move.actor),
        reason=move.reason,
    )
