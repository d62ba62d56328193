"""In-memory implementations of the bridge's ports (plain classes of ours, not mocks).

They keep the rules the real ports promise (404 unknown task, 409 claimed, idempotent keys,
a token acts as its agent), so the HTTP server's tests and bench exercise real behaviour;
`changes` counts every effect, so a test can check an error left nothing half-done.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from bridge.http.ports import (
    ActivityItem,
    AgentCard,
    AgentIdentity,
    ApiError,
    HostCard,
    Overview,
    Ports,
    Rate,
    TaskView,
)


def agent(name: str, role: str = "worker") -> AgentIdentity:
    return AgentIdentity(name, f"@{name}:example.org", role)


class MemoryTokens:
    def __init__(self, tokens: Mapping[str, AgentIdentity]) -> None:
        self.tokens = dict(tokens)
        self.lookups = 0

    async def agent_for(self, token: str) -> AgentIdentity | None:
        self.lookups += 1
        return self.tokens.get(token)


@dataclass
class Effects:
    """Every change any port made, in order."""

    log: list[tuple[Any, ...]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.log)


class MemoryTasks:
    def __init__(self, effects: Effects) -> None:
        self.effects = effects
        self.tasks: dict[int, TaskView] = {}
        self.by_key: dict[tuple[str, str], int] = {}
        self.reports: list[tuple[str, int, str, int | None]] = []
        self.fail_with: Exception | None = None  # raised by list(): a port that breaks
        self.watchers: list[Callable[[TaskView], None]] = []  # told of every change

    def _changed(self, view: TaskView) -> TaskView:
        for watch in self.watchers:
            watch(view)
        return view

    def add(self, title: str, assigned: str | None = None, status: str = "pending") -> TaskView:
        n = len(self.tasks) + 1
        view = TaskView(
            n,
            title,
            "",
            "medium",
            status,
            status,
            assigned,
            time.time(),
            None,
            f"https://matrix.to/#/!room:example.org/$t{n}",
            None,
        )
        self.tasks[n] = view
        return view

    async def list(self, status: str | None, limit: int) -> list[TaskView]:
        if self.fail_with is not None:
            raise self.fail_with
        found = [t for t in reversed(self.tasks.values()) if status is None or t.status == status]
        return found[:limit]

    async def get(self, task_id: int) -> TaskView | None:
        return self.tasks.get(task_id)

    def _known(self, task_id: int) -> TaskView:
        view = self.tasks.get(task_id)
        if view is None:
            raise ApiError(404, f"no task #{task_id}")
        return view

    async def create(
        self, agent: AgentIdentity, title: str, description: str, priority: str, key: str
    ) -> TaskView:
        if (agent.name, key) in self.by_key:
            return self.tasks[self.by_key[(agent.name, key)]]
        view = replace(self.add(title), description=description, priority=priority)
        self.tasks[view.id] = view
        self.by_key[(agent.name, key)] = view.id
        self.effects.log.append(("create", agent.name, view.id))
        return self._changed(view)

    async def claim(self, agent: AgentIdentity, task_id: int) -> TaskView:
        view = self._known(task_id)
        if view.assigned is not None:
            raise ApiError(409, f"task #{task_id} is already claimed by {view.assigned}")
        view = self.tasks[task_id] = replace(
            view, assigned=agent.name, status="in_progress", state="working"
        )
        self.effects.log.append(("claim", agent.name, task_id))
        return self._changed(view)

    def _mine(self, agent: AgentIdentity, task_id: int) -> TaskView:
        view = self._known(task_id)
        if view.assigned != agent.name:
            raise ApiError(409, f"task #{task_id} is not claimed by {agent.name}")
        return view

    async def report(
        self, agent: AgentIdentity, task_id: int, message: str, progress: int | None
    ) -> None:
        self._mine(agent, task_id)
        self.reports.append((agent.name, task_id, message, progress))
        self.effects.log.append(("report", agent.name, task_id))

    async def complete(self, agent: AgentIdentity, task_id: int, result: str) -> TaskView:
        view = self._mine(agent, task_id)
        view = self.tasks[task_id] = replace(
            view, status="completed", state="completed", result=result, completed_at=time.time()
        )
        self.effects.log.append(("complete", agent.name, task_id))
        return self._changed(view)


class MemoryCouncil:
    def __init__(self, effects: Effects) -> None:
        self.effects = effects
        self.seen: dict[str, float] = {}
        self.messages: list[tuple[str, str, int | None]] = []
        self.by_key: dict[tuple[str, str], str] = {}
        self.queues: dict[str, list[asyncio.Queue[dict[str, Any]]]] = {}
        self.listening = 0
        self.closed = 0
        self.break_after: int | None = None  # listen() raises after this many events
        self.watchers: list[Callable[[str, str, int | None], None]] = []  # told of every say
        self.published = 0
        self.afters: list[str | None] = []  # each listen's Last-Event-ID

    async def checkin(self, agent: AgentIdentity) -> None:
        self.seen[agent.name] = time.time()
        self.effects.log.append(("checkin", agent.name))

    async def say(self, agent: AgentIdentity, content: str, task_id: int | None, key: str) -> str:
        if task_id is not None and task_id > 1000:
            raise ApiError(404, f"no task #{task_id}")
        if (agent.name, key) not in self.by_key:
            self.messages.append((agent.name, content, task_id))
            self.by_key[(agent.name, key)] = f"$m{len(self.messages)}"
            self.effects.log.append(("say", agent.name))
            for watch in self.watchers:
                watch(agent.name, content, task_id)
        return self.by_key[(agent.name, key)]

    async def status(self) -> dict[str, Any]:
        return {
            "agents": [
                {"name": n, "status": "online", "last_seen": t} for n, t in self.seen.items()
            ],
            "messages": [{"sender": s, "content": c} for s, c, _ in self.messages[-20:]],
        }

    def publish(self, name: str, event: dict[str, Any]) -> None:
        """`event` to `name`'s listeners, with a cursor as the real port gives it."""
        self.published += 1
        for queue in self.queues.get(name, []):
            queue.put_nowait({**event, "cursor": f"mem-{self.published}"})

    async def listen(
        self, agent: AgentIdentity, after: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        self.afters.append(after)
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.queues.setdefault(agent.name, []).append(queue)
        self.listening += 1
        try:
            sent = 0
            while True:
                if sent == self.break_after:
                    raise RuntimeError("the council's feed broke")
                yield await queue.get()
                sent += 1
        finally:
            self.queues[agent.name].remove(queue)
            self.listening -= 1
            self.closed += 1


class MemoryExecutor:
    def __init__(self, effects: Effects) -> None:
        self.effects = effects
        self.requests: dict[str, dict[str, Any]] = {}
        self.by_key: dict[tuple[str, str], str] = {}

    async def submit(
        self, agent: AgentIdentity, kind: str, payload: Mapping[str, Any], key: str
    ) -> str:
        if (agent.name, key) not in self.by_key:
            request_id = f"r{len(self.requests) + 1}"
            self.requests[request_id] = {
                "id": request_id,
                "agent": agent.name,
                "type": kind,
                "payload": dict(payload),
                "state": "awaiting_approval",
            }
            self.by_key[(agent.name, key)] = request_id
            self.effects.log.append(("submit", agent.name, request_id))
        return self.by_key[(agent.name, key)]

    async def get(self, agent: AgentIdentity, request_id: str) -> dict[str, Any] | None:
        found = self.requests.get(request_id)
        return found if found is not None and found["agent"] == agent.name else None


MASTER = AgentIdentity("master", "@master:example.org", "master")
MASTER_TOKEN = "dash-master"


class MemoryDashboard:
    """The master's dashboard over the other in-memory ports: tasks and sayings go to its feed.

    `token` logs in any number of times; `link()` makes a one-time secret (as `!dashboard`).
    """

    def __init__(
        self, effects: Effects, tasks: MemoryTasks, council: MemoryCouncil, token: str
    ) -> None:
        self.effects = effects
        self.tasks = tasks
        self.token = token
        self.once: set[str] = set()
        self.logins = 0
        self.agents: list[AgentCard] = [
            AgentCard(
                "claude", "planner", "claude-sonnet", "online", time.time(), 0.42, None, False
            ),
            AgentCard("manus", "worker", None, "offline", None, 0.0, None, True),
        ]
        self.hosts: list[HostCard] = [
            HostCard("web1", True, 0.35, 4, 41.5, 63.0, time.time(), None),
            HostCard("db1", None, None, None, None, None, None, None),
        ]
        self.activity: list[ActivityItem] = []
        self.rates = [Rate(7, 4, 3, 1, 0.75, 95.0), Rate(30, 0, 0, 0, None, None)]
        self.zone = "Asia/Seoul"
        self.room_url: str | None = "https://matrix.to/#/!room:example.org"
        self.queues: list[asyncio.Queue[dict[str, Any]]] = []
        self.listening = 0
        self.closed = 0
        tasks.watchers.append(lambda view: self.publish({"kind": "task", "task": asdict(view)}))
        council.watchers.append(self._said)

    def link(self) -> str:
        secret = secrets.token_urlsafe(16)
        self.once.add(secret)
        return secret

    def _said(self, sender: str, body: str, task_id: int | None) -> None:
        item = ActivityItem(time.time(), sender, body[:500], task_id)
        self.activity = [*self.activity, item][-50:]
        self.publish({"kind": "message", **asdict(item)})

    def publish(self, event: dict[str, Any]) -> None:
        for queue in self.queues:
            queue.put_nowait(event)

    async def overview(self) -> Overview:
        tasks = list(reversed(self.tasks.tasks.values()))[:50]
        return Overview(
            tasks, self.agents, self.hosts, self.activity, self.rates, self.zone, self.room_url
        )

    async def login(self, secret: str) -> bool:
        if secret == self.token:
            self.logins += 1
            return True
        if secret in self.once:
            self.once.remove(secret)
            self.logins += 1
            return True
        return False

    async def create_task(self, title: str, description: str, priority: str, key: str) -> TaskView:
        if title == "refused":
            raise ApiError(400, "the intake refused this title", "title")
        return await self.tasks.create(MASTER, title, description, priority, key)

    async def feed(self) -> AsyncIterator[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.queues.append(queue)
        self.listening += 1
        try:
            while True:
                yield await queue.get()
        finally:
            self.queues.remove(queue)
            self.listening -= 1
            self.closed += 1


@dataclass
class Memory:
    """The five ports together, with the tokens `t-<name>` for each agent and the master's
    dashboard token `MASTER_TOKEN`."""

    effects: Effects
    tokens: MemoryTokens
    tasks: MemoryTasks
    council: MemoryCouncil
    executor: MemoryExecutor
    dashboard: MemoryDashboard

    def ports(self, *, executor: bool = True, dashboard: bool = False) -> Ports:
        return Ports(
            self.tokens,
            self.tasks,
            self.council,
            self.executor if executor else None,
            self.dashboard if dashboard else None,
        )


def memory(*names: str) -> Memory:
    effects = Effects()
    names = names or ("manus", "wrtn")
    tasks = MemoryTasks(effects)
    council = MemoryCouncil(effects)
    return Memory(
        effects,
        MemoryTokens({f"t-{n}": agent(n) for n in names}),
        tasks,
        council,
        MemoryExecutor(effects),
        MemoryDashboard(effects, tasks, council, MASTER_TOKEN),
    )
