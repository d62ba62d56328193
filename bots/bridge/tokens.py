"""`TokenBook`: a bearer token to the external agent it was issued for (the store keeps only
its hash; `chavion token <agent>` issues one)."""

from __future__ import annotations

from bots.settings.model import Settings
from bots.store import Store
from bridge.http.ports import AgentIdentity


class StoredTokens:
    def __init__(self, settings: Settings, store: Store) -> None:
        self._settings = settings
        self._store = store

    async def agent_for(self, token: str) -> AgentIdentity | None:
        """The agent, or None for an unknown token or one whose agent left the config."""
        name = await self._store.bridge_tokens.agent_for(token)
        agent = self._settings.bridge.agent(name) if name is not None else None
        if agent is None:
            return None
        return identity_of(self._settings, agent.name)


def identity_of(settings: Settings, name: str) -> AgentIdentity | None:
    agent = settings.bridge.agent(name)
    if agent is None:
        return None
    return AgentIdentity(agent.name, settings.user_id(agent.account), agent.role)
