"""The Matrix accounts the bridge speaks for: one client per external agent, in the
coordinator's process.

A voice is a full Chavion Matrix client (E2E, cross-signed at start, exactly-once sends by
transaction key) that answers nothing itself: it sends what its agent says over HTTP, and
what it hears in the council room (messages addressed to its agent, task changes, executor
results) goes to that agent's listeners (`GET /api/events`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from bots.bridge.event_log import EventLog
from bots.bridge.hearing import heard
from bots.bridge.scans import MessageScans
from bots.errors import ConfigError, MatrixError
from bots.execution.requests import RESULT_EVENT
from bots.homeserver.credentials import load_credentials
from bots.ids import EventID, RoomID, UserID
from bots.matrix.client import BotConnection, MatrixBot
from bots.message import Incoming, Message, Reply, RoomEvent
from bots.routing.access import may_invite
from bots.routing.addressing import EXTERNAL, Identity, Roster
from bots.settings.data_dir import DataDir
from bots.settings.model import BridgeAgentSettings, Settings
from bots.store import Store
from bridge.http.ports import ApiError

log = logging.getLogger(__name__)

RECENT = 50
"""Messages of the room kept for `/api/status`."""
SYNC_WAIT_SECONDS = 30.0


@dataclass
class Voice:
    """One external agent's Matrix account, and who listens to what it hears."""

    agent: BridgeAgentSettings
    identity: Identity
    matrix: MatrixBot
    roster: Roster
    council_room: RoomID
    events: EventLog = field(default_factory=EventLog)
    """What it heard for its agent, numbered, for `GET /api/events` (resumable)."""
    requests: set[str] = field(default_factory=set)
    """Executor requests this agent made (while this process runs)."""
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=RECENT))
    scans: MessageScans = field(default_factory=MessageScans)
    """The bridge's one credential scan per message, shared with the other voices and the
    dashboard."""

    @property
    def user_id(self) -> UserID:
        return self.identity.user_id

    async def ready(self) -> None:
        """Waits until the client has synced (it must know the room's devices to speak);
        503 when it does not in time (the homeserver away)."""
        try:
            await asyncio.wait_for(self.matrix.synced.wait(), SYNC_WAIT_SECONDS)
        except TimeoutError:
            raise ApiError(
                503, f"{self.agent.name}'s Matrix account is not connected yet; try again"
            ) from None

    async def say(self, body: str, *, key: str, thread_root: EventID | None = None) -> EventID:
        """Posts `body` as the agent, as a person's message (not a notice); the same `key`
        gives the same transaction id, so a retried call posts once."""
        await self.ready()
        reply = Reply(
            self.council_room, body, notice=False, thread_root=thread_root, key=f"bridge/{key}"
        )
        try:
            return await self.matrix.send(reply)
        except MatrixError as exc:
            raise ApiError(503, f"the homeserver did not take the message: {exc}") from None

    async def send_event(self, event_type: str, content: dict[str, Any], key: str) -> EventID:
        await self.ready()
        try:
            return await self.matrix.send_event(
                self.council_room, event_type, content, f"bridge/{key}"
            )
        except MatrixError as exc:
            raise ApiError(503, f"the homeserver did not take the request: {exc}") from None

    async def hear(self, incoming: Incoming) -> list[Reply]:
        """What the account receives: passed on to listeners, never answered. Its own
        messages count among the room's last messages (`/api/status`), and go no further."""
        if incoming.room_id != self.council_room:
            return []
        if isinstance(incoming, Message) and self.scans.of(incoming).holds_credential:
            return []  # an outside agent reads no key, and no `!dashboard` link
        if isinstance(incoming, RoomEvent) and incoming.type == RESULT_EVENT:
            rid = incoming.content.get("request_id")
            if isinstance(rid, str):
                self.results[rid] = dict(incoming.content)
        if isinstance(incoming, Message):
            self.recent.append(
                {
                    "id": incoming.event_id,
                    "sender": incoming.sender,
                    "body": incoming.body[:2000],
                    "thread": incoming.thread_root,
                    "at": incoming.timestamp_ms / 1000 or time.time(),
                }
            )
        if incoming.sender == self.user_id:
            return []
        event = heard(incoming, self.identity, self.roster, self.requests)
        if event is not None:
            self.publish(event)
        return []

    def publish(self, event: dict[str, Any]) -> None:
        self.events.publish(event)

    def listen(self, after: str | None = None) -> AsyncIterator[dict[str, Any]]:
        """Every event for this agent after the cursor `after` (what it missed while away),
        else from now on, until the caller stops reading."""
        return self.events.listen(after)


def build_voices(
    settings: Settings,
    store: Store,
    data: DataDir,
    council_room: RoomID,
    roster: Roster,
    scans: MessageScans,
) -> dict[str, Voice]:
    """A voice per external agent, on the credentials `chavion up` provisioned; the roster
    gains the external agents so each voice can tell what is addressed to its agent. All
    share `scans`: a message is scanned for credentials once, not once per voice."""
    identities = {
        agent.name: Identity(
            settings.user_id(agent.account),
            agent.account.display_name,
            (agent.name,),
            EXTERNAL,
        )
        for agent in settings.bridge.agents
    }
    known = {b.user_id for b in roster.bots}  # `build_roster` has them already
    added = tuple(i for i in identities.values() if i.user_id not in known)
    everyone = Roster((*roster.bots, *added), roster.broadcast_words)
    voices: dict[str, Voice] = {}
    for agent in settings.bridge.agents:
        account = agent.account
        creds = load_credentials(data, account.localpart)
        if creds is None:
            raise ConfigError(
                f"no credentials for the bridge agent {agent.name} in {data.accounts}: run "
                "`chavion up` once so its Matrix account is made"
            )
        holder: list[Voice] = []

        async def on_message(incoming: Incoming, holder: list[Voice] = holder) -> list[Reply]:
            return await holder[0].hear(incoming) if holder else []

        matrix = MatrixBot(
            BotConnection(
                name=agent.name,
                homeserver_url=settings.homeserver.client_url,
                credentials=creds,
                crypto_store=data.crypto_store(account.localpart),
                council_room=council_room,
                max_backoff_seconds=settings.runtime.max_backoff_seconds,
                sync_timeout_ms=settings.runtime.sync_timeout_ms,
                heartbeat_seconds=settings.runtime.heartbeat_seconds,
                account_file=data.account_file(account.localpart),
                cross_signing_keys=data.cross_signing_file(account.localpart),
                key_wait_seconds=settings.runtime.key_wait_seconds,
                transcribers=frozenset(
                    {settings.user_id(settings.account(settings.voice.transcriber))}
                ),
            ),
            store,
            on_message,
            lambda inviter: may_invite(inviter, settings.master_user_id, settings.access),
        )
        voice = Voice(agent, identities[agent.name], matrix, everyone, council_room, scans=scans)
        holder.append(voice)
        voices[agent.name] = voice
    return voices
