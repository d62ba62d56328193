"""The HTTP bridge's bearer tokens: one per external agent, kept as a sha256 only.

A token is 32 random bytes (urlsafe text); its hash is what the table holds, and a lookup
hashes what the caller sent and compares with `hmac.compare_digest`, so neither the store
nor the timing of a refusal gives a token away. A new token replaces the old one at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import aiosqlite

from bots.store.connection import Writer, fetch_all
from bots.store.errors import converted

TOKEN_BYTES = 32


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class BridgeTokens:
    def __init__(self, db: aiosqlite.Connection, writes: Writer) -> None:
        self._db = db
        self._writes = writes

    async def issue(self, agent: str, now: float) -> str:
        """A new token for `agent`, replacing its old one; returned once, never stored."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with converted("the bridge tokens"):
            await self._writes.execute(
                "INSERT INTO bridge_tokens (agent, hash, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (agent) DO UPDATE SET hash = excluded.hash, "
                "created_at = excluded.created_at",
                (agent, token_hash(token), now),
            )
        return token

    async def agent_for(self, token: str) -> str | None:
        """The agent this token belongs to, or None. Every stored hash is compared in
        constant time (a handful of external agents: no index lookup to time)."""
        wanted = token_hash(token)
        with converted("the bridge tokens"):
            rows = await fetch_all(self._db, "SELECT agent, hash FROM bridge_tokens")
        found = None
        for agent, stored in rows:
            if hmac.compare_digest(str(stored), wanted):
                found = str(agent)
        return found

    async def revoke(self, agent: str) -> bool:
        with converted("the bridge tokens"):
            done = await self._writes.execute("DELETE FROM bridge_tokens WHERE agent = ?", (agent,))
        return done.rowcount > 0
