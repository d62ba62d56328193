"""`TaskDesk`: the coordinator's tasks for external agents, through the same intake and
operations the Matrix side uses.

A task created over HTTP is the agent's own account posting `//chavion_task: …` into the
council room and the one intake taking it in with that event as its key and thread root,
so the coordinator seeing the same message finds the same task. A claim is `!assign` for
an agent outside Matrix; progress and the result are the agent's own messages in the
task's thread, and the result completes the task through the coordinator.
"""

from __future__ import annotations

import builtins
import uuid

from bots.bridge.views import order_text, task_view
from bots.bridge.voices import Voice
from bots.coordinator.tasks.service import TaskService
from bots.errors import CommandError
from bots.ids import RoomID, UserID
from bots.store.tasks import Task
from bots.tasks.intake import PRIORITIES, TaskOrder, TaskRefusal, parse_task_text
from bots.tasks.states import ACTIVE_STATES, FINAL_STATES, STATES
from bridge.http.ports import AgentIdentity, ApiError, TaskView

SOP_STATUSES: dict[str, frozenset[str]] = {
    "pending": frozenset({"pending"}),
    "in_progress": (ACTIVE_STATES - {"pending"}) | {"paused"},
    "completed": FINAL_STATES,
}
MAX_RESULT_CHARS = 30_000
"""A result is posted in the thread (one event: 64 KiB, Korean text 3 bytes a character)."""


def states_for(status: str | None) -> frozenset[str] | None:
    """The states an SOP status (or one of Chavion's own states) stands for; None: all."""
    if status is None or status == "":
        return None
    if status in SOP_STATUSES:
        return SOP_STATUSES[status]
    if status in STATES:
        return frozenset({status})
    raise ApiError(
        400, f"unknown status {status!r}; use pending, in_progress or completed", "status"
    )


def read_order(title: str, description: str, priority: str, max_chars: int) -> TaskOrder:
    """The order a title, description and priority make, read as `//chavion_task:` would
    be (the HTTP API's and the dashboard's form alike); ApiError 400 naming the field."""
    if not title.strip():
        raise ApiError(400, "a task needs a title", "title")
    if "\n" in title.strip():
        raise ApiError(400, "the title is one line; put the rest in description", "title")
    if priority not in PRIORITIES:
        raise ApiError(400, f"priority is low, medium or high, not {priority!r}", "priority")
    text = order_text(title, description, priority)
    order = parse_task_text(text.removeprefix("//chavion_task:"), max_chars=max_chars)
    if isinstance(order, TaskRefusal):
        raise ApiError(400, order.text, "description" if description.strip() else "title")
    return order


class CouncilTasks:
    def __init__(self, service: TaskService, voices: dict[str, Voice], room: RoomID) -> None:
        self._service = service
        self._voices = voices
        self._room = room
        self._store = service.ctx.tasks
        self._max_chars = service.ctx.settings.max_mission_chars

    async def list(self, status: str | None, limit: int) -> builtins.list[TaskView]:
        states = states_for(status)
        found = await self._store.list(sorted(states) if states is not None else None, limit)
        return [task_view(task) for task in found]

    async def get(self, task_id: int) -> TaskView | None:
        task = await self._store.get(task_id)
        return task_view(task) if task is not None else None

    async def create(
        self, agent: AgentIdentity, title: str, description: str, priority: str, key: str
    ) -> TaskView:
        order = read_order(title, description, priority, self._max_chars)
        text = order_text(title, description, priority)
        voice = self._voice(agent)
        posted = await voice.say(text, key=f"{agent.name}/task/{key}")
        task = await self._service.intake(
            order,
            requester=voice.user_id,
            source="bridge",
            room_id=self._room,
            thread_root=posted,
            intake_key=posted,
        )
        return task_view(task)

    async def claim(self, agent: AgentIdentity, task_id: int) -> TaskView:
        await self._task(task_id)
        try:
            task = await self._service.claim_outside(task_id, agent.name, UserID(agent.user_id))
        except CommandError as exc:
            raise ApiError(409, str(exc)) from None
        return task_view(task)

    async def report(
        self, agent: AgentIdentity, task_id: int, message: str, progress: int | None
    ) -> None:
        task = self._own(await self._task(task_id), agent)
        if task.state in FINAL_STATES:
            raise ApiError(409, f"#{task_id} has already ended ({task.state})")
        if not message.strip():
            raise ApiError(400, "say what was done in message", "message")
        if progress is not None and not 0 <= progress <= 100:
            raise ApiError(400, "progress is a percentage, 0 to 100", "progress")
        lead = f"#{task_id} 📈 {progress}%: " if progress is not None else f"#{task_id} 📈 "
        await self._voice(agent).say(
            lead + message.strip(),
            key=f"{agent.name}/report/{task_id}/{uuid.uuid4().hex}",
            thread_root=task.thread_root,
        )

    async def complete(self, agent: AgentIdentity, task_id: int, result: str) -> TaskView:
        task = self._own(await self._task(task_id), agent)
        if not result.strip():
            raise ApiError(400, "give the task's result", "result")
        if len(result) > MAX_RESULT_CHARS:
            raise ApiError(
                400, f"the result is over {MAX_RESULT_CHARS:,} characters; shorten it", "result"
            )
        if task.state == "completed" and task.note == result.strip():
            return task_view(task)  # the same completion again: a retried call
        if task.state != "planning":
            raise ApiError(
                409, f"#{task_id} is {task.state.replace('_', ' ')}: nothing to complete"
            )
        await self._voice(agent).say(
            f"#{task_id} ✅ Result:\n{result.strip()}",
            key=f"{agent.name}/complete/{task_id}",
            thread_root=task.thread_root,
        )
        try:
            done = await self._service.complete_outside(
                task_id,
                agent.name,
                result.strip(),
                UserID(agent.user_id),
            )
        except CommandError as exc:
            raise ApiError(409, str(exc)) from None
        return task_view(done)

    async def _task(self, task_id: int) -> Task:
        task = await self._store.get(task_id)
        if task is None:
            raise ApiError(404, f"there is no task #{task_id}")
        return task

    @staticmethod
    def _own(task: Task, agent: AgentIdentity) -> Task:
        if task.assigned != agent.name:
            holder = f"claimed by {task.assigned}" if task.assigned else "not claimed"
            raise ApiError(409, f"#{task.id} is {holder}: claim it first")
        return task

    def _voice(self, agent: AgentIdentity) -> Voice:
        voice = self._voices.get(agent.name)
        if voice is None:
            raise ApiError(403, f"{agent.name} is not an agent of the bridge")
        return voice
