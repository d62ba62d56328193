"""In-memory implementations of the bridge's ports (plain classes of ours, not mocks).

They keep the rules the real ports promise (404 unknown task, 409 claimed, idempotent keys,
a token acts as its agent), so the HTTP server's tests and bench exercise real behaviour;
`changes` counts every effect, so a test can check an error left nothing half-done.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bridge.http.ports import AgentIdentity, ApiError, Ports, TaskView


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
        return view

    async def claim(self, agent: AgentIdentity, task_id: int) -> TaskView:
        view = self._known(task_id)
        if view.assigned is not None:
            raise ApiError(409, f"task #{task_id} is already claimed by {view.assigned}")
        view = self.tasks[task_id] = replace(
            view, assigned=agent.name, status="in_progress", state="working"
        )
        self.effects.log.append(("claim", agent.name, task_id))
        return view

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
        return view


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
        return self.by_key[(agent.name, key)]

    async def status(self) -> dict[str, Any]:
        return {
            "agents": [
                {"name": n, "status": "online", "last_seen": t} for n, t in self.seen.items()
            ],
            "messages": [{"sender": s, "content": c} for s, c, _ in self.messages[-20:]],
        }

    def publish(self, name: str, event: dict[str, Any]) -> None:
        for queue in self.queues.get(name, []):
            queue.put_nowait(event)

    async def listen(self, agent: AgentIdentity) -> AsyncIterator[dict[str, Any]]:
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


@dataclass
class Memory:
    """The four ports together, with the tokens `t-<name>` for each agent."""

    effects: Effects
    tokens: MemoryTokens
    tasks: MemoryTasks
    council: MemoryCouncil
    executor: MemoryExecutor

    def ports(self, *, executor: bool = True) -> Ports:
        return Ports(self.tokens, self.tasks, self.council, self.executor if executor else None)


def memory(*names: str) -> Memory:
    effects = Effects()
    names = names or ("manus", "wrtn")
    return Memory(
        effects,
        MemoryTokens({f"t-{n}": agent(n) for n in names}),
        MemoryTasks(effects),
        MemoryCouncil(effects),
        MemoryExecutor(effects),
    )
