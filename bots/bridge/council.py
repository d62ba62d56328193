"""`Council`: the council room as an external agent sees it. It checks in (online, last
seen), speaks as its own account in the room or a task's thread (the agents read it from
Matrix, so the usual addressing rules apply), listens to what is for it, and reads the
status the master's first dashboard showed."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from bots.bridge.views import task_view
from bots.bridge.voices import Voice
from bots.context import BotPresence
from bots.ids import UserID
from bots.routing.router import COMMAND, COMMAND_ALIASES
from bots.settings.model import Settings
from bots.store.tasks import Task, TaskStore
from bots.tasks.states import ACTIVE_STATES
from bridge.http.ports import AgentIdentity, ApiError

log = logging.getLogger(__name__)

Presences = Callable[[], Awaitable[dict[UserID, BotPresence]]]
"""The coordinator's reading of every bot's presence mark (`CouncilView.presences`)."""
ONLINE_SECONDS = 300.0
"""An agent that checked in (or called the API) this recently is online."""
MAX_CONTENT_CHARS = 30_000
STATUS_TASKS = 20
STATUS_MESSAGES = 20


def agent_status(last_seen: float | None, working: bool, now: float) -> str:
    """online / working / offline, as the dashboard shows an agent."""
    if last_seen is None or now - last_seen > ONLINE_SECONDS:
        return "offline"
    return "working" if working else "online"


def bot_status(presence: BotPresence | None, working: bool, now: float, heartbeat: float) -> str:
    """A Matrix agent's status from its `org.chavion.bot` mark, judged as `!status` does: a
    mark older than 2.5 heartbeats is a bot that stopped without saying so."""
    if presence is None or not presence.online or now - presence.heartbeat_at > 2.5 * heartbeat:
        return "offline"
    return "working" if working else "online"


def is_task_order(content: str) -> bool:
    """`//chavion_task: …` or `!task …`: a task is registered with POST /api/tasks."""
    found = COMMAND.match(content.strip())
    return found is not None and COMMAND_ALIASES.get(found[1], found[1]) == "task"


class RoomCouncil:
    def __init__(
        self,
        voices: dict[str, Voice],
        tasks: TaskStore,
        clock: Callable[[], float] = time.time,
        *,
        settings: Settings | None = None,
        presences: Presences | None = None,
    ) -> None:
        self._voices = voices
        self._tasks = tasks
        self._clock = clock
        self._settings = settings
        self._presences = presences
        self.last_seen: dict[str, float] = {}

    async def checkin(self, agent: AgentIdentity) -> None:
        self._voice(agent)
        self.last_seen[agent.name] = self._clock()

    async def say(self, agent: AgentIdentity, content: str, task_id: int | None, key: str) -> str:
        voice = self._voice(agent)
        if not content.strip():
            raise ApiError(400, "say something: content is empty", "content")
        if len(content) > MAX_CONTENT_CHARS:
            raise ApiError(400, f"content is over {MAX_CONTENT_CHARS:,} characters", "content")
        if is_task_order(content):
            raise ApiError(400, "register a task with POST /api/tasks", "content")
        root = None
        if task_id is not None:
            task = await self._tasks.get(task_id)
            if task is None:
                raise ApiError(404, f"there is no task #{task_id}", "task_id")
            root = task.thread_root
        self.last_seen[agent.name] = self._clock()
        return str(await voice.say(content, key=f"{agent.name}/say/{key}", thread_root=root))

    async def status(self) -> dict[str, Any]:
        now = self._clock()
        active = await self._tasks.active()
        agents = []
        for name, voice in self._voices.items():
            current = next((t.id for t in active if t.assigned == name), None)
            seen = self.last_seen.get(name)
            agents.append(
                {
                    "name": name,
                    "display_name": voice.agent.account.display_name,
                    "user_id": voice.user_id,
                    "role": voice.agent.role,
                    "status": agent_status(seen, current is not None, now),
                    "last_seen": seen,
                    "current_task": current,
                    "kind": "bridge",
                }
            )
        agents += await self._council_agents(active, now)
        recent: dict[str, dict[str, Any]] = {}
        for voice in self._voices.values():
            recent.update({m["id"]: m for m in voice.recent})
        messages = sorted(recent.values(), key=lambda m: m["at"])[-STATUS_MESSAGES:]
        tasks = await self._tasks.list(None, STATUS_TASKS)
        return {
            "agents": agents,
            "messages": messages,
            "tasks": [vars(task_view(t)) for t in tasks],
            "active": sum(1 for t in active if t.state in ACTIVE_STATES),
            "at": now,
        }

    async def _council_agents(self, active: list[Task], now: float) -> list[dict[str, Any]]:
        """The LLM agents on Matrix, judged by their presence marks (none when the
        homeserver cannot be read: the bridge's own agents are still shown)."""
        if self._settings is None:
            return []
        marks: dict[UserID, BotPresence] = {}
        if self._presences is not None:
            try:
                marks = await self._presences()
            except Exception as exc:
                log.warning("bridge status: presence marks unreadable: %s", exc)
        heartbeat = self._settings.runtime.heartbeat_seconds
        found = []
        for agent in self._settings.agents:
            user_id = self._settings.user_id(agent.account)
            mark = marks.get(user_id)
            current = next((t.id for t in active if agent.name in (t.assigned, t.winner)), None)
            found.append(
                {
                    "name": agent.name,
                    "display_name": agent.account.display_name,
                    "user_id": user_id,
                    "role": agent.role,
                    "model": agent.model,
                    "status": bot_status(mark, current is not None, now, heartbeat),
                    "last_seen": mark.heartbeat_at if mark is not None else None,
                    "current_task": current,
                    "kind": "matrix",
                }
            )
        return found

    def listen(
        self, agent: AgentIdentity, after: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        self.last_seen[agent.name] = self._clock()
        return self._voice(agent).listen(after)

    def _voice(self, agent: AgentIdentity) -> Voice:
        voice = self._voices.get(agent.name)
        if voice is None:
            raise ApiError(403, f"{agent.name} is not an agent of the bridge")
        return voice
