"""The dashboard's logins, kept hashed: one-time links from `!dashboard` and the master's
own token (`chavion token --master`).

A link is 32 random bytes (urlsafe text) valid for a few minutes; its first login uses it
up in one conditional UPDATE, so two logins racing with the same link let one in, never
two. The master's token is a row of `bridge_tokens` under `MASTER`, a name no external
agent can have (names are identifiers), so the API never takes it for an agent's.
"""

from __future__ import annotations

import hmac
import secrets

import aiosqlite

from bots.store.bridge_tokens import TOKEN_BYTES, BridgeTokens, token_hash
from bots.store.connection import Writer
from bots.store.errors import converted

MASTER = ":master"
"""The reserved `bridge_tokens.agent` of the master's dashboard token."""
KEPT_SECONDS = 24 * 3600.0
"""Used or expired links are forgotten after a day."""


class DashboardLinks:
    def __init__(self, db: aiosqlite.Connection, writes: Writer) -> None:
        self._db = db
        self._writes = writes

    async def issue(self, now: float, valid_seconds: float) -> str:
        """A new one-time link secret, returned once, valid `valid_seconds` from `now`."""
        secret = secrets.token_urlsafe(TOKEN_BYTES)
        with converted("the dashboard links"):
            await self._writes.execute(
                "DELETE FROM dashboard_links WHERE expires_at < ?", (now - KEPT_SECONDS,)
            )
            await self._writes.execute(
                "INSERT INTO dashboard_links (hash, created_at, expires_at) VALUES (?, ?, ?)",
                (token_hash(secret), now, now + valid_seconds),
            )
        return secret

    async def use(self, secret: str, now: float) -> bool:
        """True once for an unused, unexpired link (which this call uses up), else False."""
        with converted("the dashboard links"):
            done = await self._writes.execute(
                "UPDATE dashboard_links SET used_at = ? "
                "WHERE hash = ? AND used_at IS NULL AND expires_at > ?",
                (now, token_hash(secret), now),
            )
        return done.rowcount == 1

    async def issue_master_token(self, now: float) -> str:
        """A new dashboard token for the master, replacing the old one; shown once."""
        return await BridgeTokens(self._db, self._writes).issue(MASTER, now)

    async def is_master_token(self, token: str) -> bool:
        """Compared in constant time against the stored hash (see `BridgeTokens`)."""
        found = await BridgeTokens(self._db, self._writes).agent_for(token)
        return found is not None and hmac.compare_digest(found, MASTER)
