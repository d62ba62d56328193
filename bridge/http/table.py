"""The one route table's vocabulary: the app registers from it, `/help` and
`/api/openapi.json` describe it, so the documentation cannot drift from the server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bridge.http.ports import AgentIdentity, Ports


@dataclass(frozen=True)
class Call:
    """What a handler gets: the checked body and the caller's agent (None on public routes)."""

    request: web.Request
    ports: Ports
    agent: AgentIdentity | None
    body: dict[str, Any]
    key: str

    @property
    def me(self) -> AgentIdentity:
        """The caller, on a route that requires a token."""
        assert self.agent is not None, "a public route has no caller"
        return self.agent


Handler = Callable[[Call], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Field:
    """One field of a JSON body (or of a nested object, `fields`).

    `kind` is the JSON type: "string", "integer", "object". `aliases` are other accepted
    spellings (the SOP's `agentname`). `choices` limits a string; `low`/`high` an integer.
    """

    name: str
    kind: str
    required: bool = False
    doc: str = ""
    aliases: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    default: Any = None
    low: int | None = None
    high: int | None = None
    nonempty: bool = True
    fields: tuple[Field, ...] = ()


@dataclass(frozen=True)
class Query:
    """One query parameter."""

    name: str
    kind: str
    doc: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Route:
    """A call of the API: how it is reached, what it takes, what it answers."""

    method: str
    path: str  # aiohttp form, e.g. /api/tasks/{id:\d+}/claim
    handler: Handler
    summary: str
    auth: bool = True
    body: tuple[Field, ...] = ()
    query: tuple[Query, ...] = ()
    agent_field: bool = False  # the body names the agent (agent_name / agentname)
    agent_in_path: bool = False  # the path names the agent ({name})
    status: int = 200
    errors: tuple[int, ...] = ()
    example: Mapping[str, Any] | None = None
    answer: Mapping[str, Any] = field(default_factory=dict)  # an example answer
    stream: bool = False  # server-sent events

    @property
    def plain_path(self) -> str:
        """The path with its parameters' patterns removed: /api/tasks/{id}/claim."""
        out, depth, skipping = [], 0, False
        for ch in self.path:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    skipping = False
            elif ch == ":" and depth == 1:
                skipping = True
                continue
            if not skipping:
                out.append(ch)
        return "".join(out)


AGENT_NAME = Field(
    "agent_name",
    "string",
    required=True,
    doc="your agent's name (the SOP's `agentname` is accepted too); must be the token's",
    aliases=("agentname",),
)
