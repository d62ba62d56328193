"""A stored task as the SOP shows it: title and description from the mission, the SOP's
three statuses next to Chavion's own state, a link to its thread. Pure."""

from __future__ import annotations

from urllib.parse import quote

from bots.store.tasks import Task
from bots.tasks.states import FINAL_STATES, sop_status
from bridge.http.ports import TaskView

SOP_STATES: dict[str, frozenset[str] | None] = {
    "pending": frozenset({"pending"}),
    "in_progress": None,  # every active state but pending, and paused
    "completed": FINAL_STATES,
}


def thread_url(room_id: str, event_id: str | None) -> str | None:
    """matrix.to's link to the thread's first message (Element opens the thread)."""
    if not event_id:
        return None
    return f"https://matrix.to/#/{quote(room_id, safe='!:')}/{quote(event_id, safe='$')}"


def split_mission(mission: str) -> tuple[str, str]:
    """The first line is the title; the rest, the description."""
    title, _, rest = mission.strip().partition("\n")
    return title.strip(), rest.strip()


def task_view(task: Task) -> TaskView:
    title, description = split_mission(task.mission)
    return TaskView(
        id=task.id,
        title=title,
        description=description,
        priority=task.priority,
        status=sop_status(task.state),
        state=task.state,
        assigned=task.assigned,
        created_at=task.created_at,
        completed_at=task.finished_at,
        thread_url=thread_url(task.room_id, task.thread_root),
        result=(task.note or None) if task.state in FINAL_STATES else None,
    )


def order_text(title: str, description: str, priority: str) -> str:
    """The order exactly as the agent would type it: `//chavion_task: high: title` and the
    description on the lines below."""
    lead = "" if priority == "medium" else f"{priority}: "
    text = f"//chavion_task: {lead}{title.strip()}"
    return f"{text}\n{description.strip()}" if description.strip() else text
