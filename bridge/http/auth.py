"""Bearer tokens: each one acts only as its own agent.

401 (with `WWW-Authenticate: Bearer`) without a token or with one the book does not know;
403 when a path or body names another agent than the token's.
"""

from __future__ import annotations

from aiohttp import web

from bridge.http.ports import AgentIdentity, ApiError, TokenBook
from bridge.http.problems import HeaderedError

_REALM = 'Bearer realm="chavion"'


def bearer_token(request: web.Request) -> str:
    """The token of `Authorization: Bearer <token>`, or 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if not header:
        raise HeaderedError(
            401, "no token: send `Authorization: Bearer <your token>`", {"WWW-Authenticate": _REALM}
        )
    if scheme.lower() != "bearer" or not token.strip():
        raise HeaderedError(
            401,
            "the Authorization header must be `Bearer <your token>`",
            {"WWW-Authenticate": f'{_REALM}, error="invalid_request"'},
        )
    return token.strip()


async def authenticate(request: web.Request, tokens: TokenBook) -> tuple[str, AgentIdentity]:
    """The token and the agent it belongs to, or 401."""
    token = bearer_token(request)
    agent = await tokens.agent_for(token)
    if agent is None:
        raise HeaderedError(
            401,
            "unknown token: ask the master for a new one (`chavion token <agent>`)",
            {"WWW-Authenticate": f'{_REALM}, error="invalid_token"'},
        )
    return token, agent


def same_agent(agent: AgentIdentity, named: str, field: str) -> None:
    """403 unless `named` is the token's own agent (names compare without case)."""
    if named.strip().casefold() != agent.name.casefold():
        raise ApiError(403, f"this token acts for {agent.name!r}, not {named.strip()!r}", field)
