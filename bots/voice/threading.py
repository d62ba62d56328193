"""Where a voice message's transcript goes (`voice.thread_routing`). Pure.

Element mobile records voice only at the top level, never in a thread; yet what the master
says about a task belongs in its thread, where the task's workflow reads it. So: a voice
message that replies to a task's message goes to that task's thread; else, when exactly
one task waits for the master and the message names no one else, to that task's thread;
with two or more waiting he is asked which; everything else stays where it was said.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bots.ids import EventID


@dataclass(frozen=True)
class TaskThread:
    """A task as routing needs it: its number, thread, mission, and whether it waits for
    the master (a plan to approve, a tie or a vote only he can settle)."""

    task_id: int
    thread_root: EventID
    mission: str
    waits_for_master: bool


@dataclass(frozen=True)
class Where:
    """Post the transcript here: a task's thread (`thread_root`), or the top level (None)."""

    thread_root: EventID | None
    task_id: int | None = None


@dataclass(frozen=True)
class AskWhich:
    """Several tasks wait for the master and the voice message did not say which."""

    text: str


Placement = Where | AskWhich


@dataclass(frozen=True)
class VoiceFacts:
    """What is known of the voice message: the thread it was said in (if any client sent it
    there), the task whose message it replies to (if any), and whether it addresses someone
    (a bot by name, everyone) — then it is theirs, not a waiting task's."""

    thread_root: EventID | None
    replied_task: TaskThread | None
    addressed: bool


def place(facts: VoiceFacts, tasks: Sequence[TaskThread], *, routing: bool = True) -> Placement:
    """Where the transcript of a voice message goes; `tasks` are the active tasks."""
    if facts.thread_root is not None:
        return Where(facts.thread_root)  # said in a thread: it stays there
    if not routing:
        return Where(None)
    if facts.replied_task is not None:
        return Where(facts.replied_task.thread_root, facts.replied_task.task_id)
    if facts.addressed:
        return Where(None)
    waiting = [t for t in tasks if t.waits_for_master]
    if len(waiting) == 1:
        return Where(waiting[0].thread_root, waiting[0].task_id)
    if len(waiting) > 1:
        return AskWhich(which_task_text(waiting))
    return Where(None)


def which_task_text(waiting: Sequence[TaskThread]) -> str:
    """ "Which task? #12 …, #14 …: reply to its message with your voice"."""
    listed = ", ".join(f"#{t.task_id} {_clip(t.mission, 60)}" for t in waiting)
    return f"Which task? {listed}: reply to its message with your voice."


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
