"""What a handler may use: the bot's identity, settings and services, as plain interfaces."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from bots.ids import EventID, RoomID, UserID
from bots.message import AudioAttachment, HistoryEntry, Reply
from bots.routing.addressing import Identity, Roster
from bots.settings import AccountSettings, Settings
from bots.store import Store
from bridge.speech import VoiceClip


@dataclass(frozen=True)
class BotPresence:
    """A bot's own mark in the council room: written at start, every heartbeat, at stop."""

    user_id: UserID
    online: bool
    version: str = ""
    host: str = ""
    pid: int = 0
    started_at: float = 0.0
    heartbeat_at: float = 0.0
    cross_signing: str = ""
    """The device's cross-signing state at the bot's start ("signed", "unsigned", ...);
    "" in a mark from a version that did not write it."""


class CouncilView(Protocol):
    """What the Matrix layer tells handlers about the council, without exposing nio."""

    async def presences(self) -> dict[UserID, BotPresence]: ...

    async def homeserver_reachable(self) -> bool: ...


class Outbox(Protocol):
    """How a handler that works for a while (streaming, progress) speaks before it returns."""

    async def send(self, reply: Reply) -> EventID: ...

    async def typing(self, room_id: RoomID, on: bool) -> None: ...

    async def send_event(
        self, room_id: RoomID, event_type: str, content: dict[str, Any], key: str
    ) -> EventID: ...

    async def send_file(
        self, reply: Reply, filename: str, data: bytes, mimetype: str = "text/plain"
    ) -> EventID: ...

    async def send_voice(self, reply: Reply, clip: VoiceClip) -> EventID:
        """`clip` as a voice message Element plays inline (uploaded encrypted in an encrypted
        room), `reply.body` its text fallback; threads and replies as for text (issue 20)."""
        ...

    async def redact(self, room_id: RoomID, event_id: EventID, reason: str, key: str) -> EventID:
        """Removes an event's content from the room (it needs the power to); the redaction
        event's id. `key` makes a retry redact once. Raises `MatrixError` when refused."""
        ...


class MediaSource(Protocol):
    """Media sent to the room, fetched (and decrypted) by `bots.matrix`."""

    async def download(self, audio: AudioAttachment, max_bytes: int) -> bytes:
        """The attachment's plain bytes. Raises `MatrixError` when it cannot be fetched, is
        larger than `max_bytes`, or does not decrypt (its hash does not match)."""
        ...


class HistorySource(Protocol):
    """Recent conversation from Matrix, for an agent's context."""

    async def history(
        self, room_id: RoomID, thread_root: EventID | None, limit: int
    ) -> list[HistoryEntry]: ...


class MetricsSink(Protocol):
    """Where bots count what they do, for `GET /metrics` (`bridge.http.metrics.Metrics` is
    one); optional everywhere: None records nothing, so nothing needs a bridge."""

    def llm_call(
        self,
        agent: str,
        model: str,
        outcome: str,
        tokens_in: int = 0,
        tokens_out: int = 0,
        cost: float = 0.0,
    ) -> None: ...

    def exec_run(self, host: str, exit_status: int | str | None, seconds: float) -> None: ...

    def matrix_send(self, bot: str, seconds: float) -> None: ...

    def sync_lag(self, bot: str, seconds: float) -> None: ...


class MatrixSide(CouncilView, Outbox, HistorySource, MediaSource, Protocol):
    """Everything `bots.matrix` offers handlers, in one object."""


@dataclass
class BotContext:
    settings: Settings
    account: AccountSettings
    identity: Identity
    roster: Roster
    matrix: MatrixSide
    store: Store
    started_at: float = field(default_factory=time.time)
    council_room: RoomID | None = None
    """The council room, where alerts to the master go (None in tests that build none)."""
