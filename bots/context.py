"""What a handler may use: the bot's identity, settings and services, as plain interfaces."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from bots.addressing import Identity, Roster
from bots.ids import UserID
from bots.settings import AccountSettings, Settings


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


class CouncilView(Protocol):
    """What the Matrix layer tells handlers about the council, without exposing nio."""

    async def presences(self) -> dict[UserID, BotPresence]: ...

    async def homeserver_reachable(self) -> bool: ...


@dataclass
class BotContext:
    settings: Settings
    account: AccountSettings
    identity: Identity
    roster: Roster
    council: CouncilView
    started_at: float = field(default_factory=time.time)
