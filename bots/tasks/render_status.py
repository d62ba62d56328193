"""`!task N` and `!tasks`: a task's state, what it waits for, its history, and the list.

Split from `bots.tasks.render` (the texts of a task's thread); the same conventions hold:
pure functions of plain view values that `bots.coordinator.task_views` builds from records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from bots.tasks.render import LINE_MISSION_CHARS, MISSION_CHARS, _esc, _list, clip, prefix
from bots.tasks.states import FINAL_STATES
from bots.text.durations import countdown


@dataclass(frozen=True)
class MoveView:
    at: float
    from_state: str
    to_state: str
    actor: str
    reason: str = ""


@dataclass(frozen=True)
class StatusView:
    task_id: int
    mission: str
    state: str
    priority: str
    requester: str
    created_at: float
    moves: tuple[MoveView, ...] = ()
    waiting_for: str = ""
    """What the task waits for, in words ("the master's approval", "proposals from GPT")."""
    deadline: float | None = None
    current_step: str = ""
    """ "step 2 of 3 on web-1: systemctl restart nginx"."""
    attempt: int = 0
    paused_from: str | None = None
    note: str = ""
    winner: str = ""
    """Who plans it: the vote's winner or the agent `!assign` chose (a display name)."""
    parts: tuple[str, ...] = ()
    """A split task's parts, one line each: who does it and how far it is."""


def task_status(view: StatusView, *, now: float, tz: tzinfo = UTC) -> tuple[str, str]:
    """`!task N`: the state, what it waits for and until when, the current step, and every
    move with its time."""
    state = view.state.replace("_", " ")
    if view.state == "paused" and view.paused_from:
        state += f" (from {view.paused_from.replace('_', ' ')})"
    head = f"{prefix(view.task_id)}📋 Task #{view.task_id}: {state} · priority {view.priority}"
    lines = [
        f"Mission: {clip(view.mission, MISSION_CHARS)}",
        f"Asked by {view.requester} at {_clock(view.created_at, now, tz)}",
    ]
    if view.winner:
        lines.append(f"Plans: {view.winner}")
    if view.attempt > 1:
        lines.append(f"Attempt {view.attempt}")
    if view.current_step:
        lines.append(f"Now: {view.current_step}")
    if view.waiting_for:
        until = ""
        if view.deadline is not None:
            left = view.deadline - now
            until = f" (for {countdown(left)} more)" if left > 0 else " (its time is up)"
        # A final task waits for nothing of its own; what still comes (its minutes) is
        # said as such, so an ended task never reads as stuck.
        label = "Still to come" if view.state in FINAL_STATES else "Waiting for"
        lines.append(f"{label}: {view.waiting_for}{until}")
    if view.note.strip():
        lines.append(f"Note: {clip(' '.join(view.note.split()), 300)}")
    history = [_move_line(move, now, tz) for move in view.moves]
    body = [head, *lines]
    markup = [f"<p><strong>{_esc(head)}</strong><br>" + "<br>".join(map(_esc, lines)) + "</p>"]
    if view.parts:
        body += ["Parts:", *(f"• {line}" for line in view.parts)]
        markup.append("<p>Parts:</p>" + _list(list(view.parts)))
    if history:
        body += ["History:", *(f"• {line}" for line in history)]
        markup.append("<p>History:</p>" + _list(history))
    return "\n".join(body), "".join(markup)


def _move_line(move: MoveView, now: float, tz: tzinfo) -> str:
    line = (
        f"{_clock(move.at, now, tz)} {move.from_state.replace('_', ' ')} → "
        f"{move.to_state.replace('_', ' ')} ({move.actor})"
    )
    return line + (f" — {clip(' '.join(move.reason.split()), 200)}" if move.reason.strip() else "")


@dataclass(frozen=True)
class TaskLine:
    task_id: int
    state: str
    priority: str
    mission: str
    waiting_for: str = ""


def task_list(tasks: Sequence[TaskLine], *, state: str | None = None) -> tuple[str, str]:
    """`!tasks [state]`: one line per task, newest first as given."""
    if not tasks:
        text = f"No tasks are {state.replace('_', ' ')}." if state else "No tasks yet."
        return text, f"<p>{_esc(text)}</p>"
    which = f" {state.replace('_', ' ')}" if state else ""
    intro = f"Tasks{which} ({len(tasks)}):"
    lines = [
        f"#{t.task_id} {t.state.replace('_', ' ')} · {t.priority} · "
        f"{clip(' '.join(t.mission.split()), LINE_MISSION_CHARS)}"
        + (
            f" — waiting for {t.waiting_for}"
            if t.waiting_for and t.state not in FINAL_STATES
            else ""
        )
        for t in tasks
    ]
    body = "\n".join([intro, *(f"• {line}" for line in lines)])
    return body, f"<p>{_esc(intro)}</p>" + _list(lines)


def _clock(at: float, now: float, tz: tzinfo) -> str:
    when = datetime.fromtimestamp(at, tz)
    today = datetime.fromtimestamp(now, tz).date()
    return when.strftime("%H:%M:%S" if when.date() == today else "%Y-%m-%d %H:%M")
