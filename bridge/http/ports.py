"""What the HTTP server needs from the rest of Chavion, as Protocols.

`bridge/` never imports `bots/`: the bots implement these ports (`bots/bridge/`) and hand
them to `build_app`, so the server can be tested against plain in-memory implementations.
A port raises `ApiError` for what the caller did wrong (400/403/404/409); the server turns
it into a JSON error and nothing is half-done.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class AgentIdentity:
    """The external agent a token belongs to: it acts only as itself."""

    name: str
    user_id: str
    role: str


@dataclass(frozen=True)
class TaskView:
    """A task as the API shows it; `status` is the SOP's word, `state` Chavion's own."""

    id: int
    title: str
    description: str
    priority: str
    status: str
    state: str
    assigned: str | None
    created_at: float
    completed_at: float | None
    thread_url: str | None
    result: str | None


class ApiError(Exception):
    """What the caller did wrong, with the HTTP status it answers (400/403/404/409)."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


class TokenBook(Protocol):
    """Bearer tokens to agents (stored hashed by the implementation)."""

    async def agent_for(self, token: str) -> AgentIdentity | None: ...


class TaskDesk(Protocol):
    """The coordinator's tasks: the same intake and operations the Matrix commands use."""

    async def list(self, status: str | None, limit: int) -> list[TaskView]: ...

    async def get(self, task_id: int) -> TaskView | None: ...

    async def create(
        self, agent: AgentIdentity, title: str, description: str, priority: str, key: str
    ) -> TaskView: ...

    async def claim(self, agent: AgentIdentity, task_id: int) -> TaskView:
        """ApiError 409 when the task is already claimed, 404 when it does not exist."""
        ...

    async def report(
        self, agent: AgentIdentity, task_id: int, message: str, progress: int | None
    ) -> None: ...

    async def complete(self, agent: AgentIdentity, task_id: int, result: str) -> TaskView: ...


class Council(Protocol):
    """The council room as an external agent sees it."""

    async def checkin(self, agent: AgentIdentity) -> None: ...

    async def say(self, agent: AgentIdentity, content: str, task_id: int | None, key: str) -> str:
        """Post as the agent's own account; returns the event id."""
        ...

    async def status(self) -> dict[str, Any]:
        """The `/api/status` body: agents, last messages, tasks."""
        ...

    def listen(
        self, agent: AgentIdentity, after: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Events for this agent (messages addressed to it, task changes, executor results),
        each with its `cursor`; from after the cursor `after` when given (what it missed,
        with a `gap` event first when some of that is no longer kept), else from now on."""
        ...


class ExecutorDesk(Protocol):
    """Executor requests through the same policy, approval and audit as any other."""

    async def submit(
        self, agent: AgentIdentity, kind: str, payload: Mapping[str, Any], key: str
    ) -> str:
        """Returns the request id."""
        ...

    async def get(self, agent: AgentIdentity, request_id: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class AgentCard:
    """An agent as the dashboard shows it."""

    name: str
    role: str
    model: str | None
    status: str  # "online" | "working" | "offline"
    last_seen: float | None  # unix seconds
    spent_today: float  # USD, in the configured zone's day (0.0 when unknown)
    current_task: int | None
    external: bool  # True for a bridge (HTTP) agent


@dataclass(frozen=True)
class HostCard:
    """An executor host as last probed; `reachable` is None when it was not probed."""

    name: str
    reachable: bool | None  # None: not probed (executor in another process)
    load: float | None  # 1-minute load average
    cpus: int | None
    memory_pct: float | None  # used, 0-100
    disk_pct: float | None  # used on /, 0-100
    checked_at: float | None
    error: str | None


@dataclass(frozen=True)
class ActivityItem:
    """One line of the council's conversation (body trimmed to 500 chars by the desk)."""

    at: float
    sender: str
    body: str
    task_id: int | None


@dataclass(frozen=True)
class Rate:
    """How tasks finished over the last `days` days."""

    days: int
    finished: int
    succeeded: int
    failed: int
    success_rate: float | None  # 0-1, None when nothing finished
    avg_seconds: float | None


@dataclass(frozen=True)
class Overview:
    """Everything the dashboard page shows at once."""

    tasks: list[TaskView]  # newest first, at most 50
    agents: list[AgentCard]
    hosts: list[HostCard]
    activity: list[ActivityItem]  # newest last, at most 50
    rates: list[Rate]  # days 7 and 30
    zone: str  # IANA, settings.timezone (default Asia/Seoul)
    room_url: str | None  # matrix.to link of the council room


class DashboardDesk(Protocol):
    """The master's dashboard: what it shows, its login, its new-task form, its live feed."""

    async def overview(self) -> Overview: ...

    async def login(self, secret: str) -> bool:
        """True for the master's dashboard token, or an unused, unexpired one-time link
        secret from `!dashboard` (which this call uses up)."""
        ...

    async def create_task(self, title: str, description: str, priority: str, key: str) -> TaskView:
        """The master's new-task form: the same intake as his `//chavion_task:`."""
        ...

    def feed(self) -> AsyncIterator[dict[str, Any]]:
        """Live events: {"kind": "message", "at", "sender", "body", "task_id"} |
        {"kind": "task", "task": <TaskView as dict>} | {"kind": "host", ...HostCard} |
        {"kind": "agent", ...AgentCard}."""
        ...


@dataclass
class Ports:
    """Everything the server calls; `executor` is None when the executor is not wired,
    `dashboard` None when the dashboard is not served."""

    tokens: TokenBook
    tasks: TaskDesk
    council: Council
    executor: ExecutorDesk | None
    dashboard: DashboardDesk | None = None
