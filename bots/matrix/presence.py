"""A bot's presence mark in the council room (`org.chavion.bot` state), both ways.

Synapse's presence is off (it costs CPU), so each bot writes its own state event at start,
every heartbeat and at a clean stop, and reads the others' back for the council's status.
Plain functions, so the format is tested without a homeserver.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bots.context import BotPresence
from bots.events import BOT_STATE_EVENT
from bots.ids import UserID


def presence_content(
    *,
    online: bool,
    version: str,
    host: str,
    pid: int,
    started_at: float,
    now: float,
    cross_signing: str = "",
) -> dict[str, Any]:
    """The content of a bot's mark; `started_at` and `now` are Unix times in seconds;
    `cross_signing` is the device's state at start (`XSignState` values), "" if unknown."""
    content: dict[str, Any] = {
        "online": online,
        "version": version,
        "host": host,
        "pid": pid,
        # Canonical JSON has no floats: times travel as whole milliseconds.
        "started_at": int(started_at * 1000),
        "heartbeat_at": int(now * 1000),
    }
    if cross_signing:
        content["cross_signing"] = cross_signing
    return content


def presences_from_state(events: Iterable[Mapping[str, Any]]) -> dict[UserID, BotPresence]:
    """Every bot's mark among a room's state events, by the bot's user id."""
    found: dict[UserID, BotPresence] = {}
    for event in events:
        if event.get("type") != BOT_STATE_EVENT:
            continue
        content = event.get("content") or {}
        user = UserID(str(event.get("state_key", "")))
        found[user] = BotPresence(
            user_id=user,
            online=content.get("online") is True,
            version=str(content.get("version", "")),
            host=str(content.get("host", "")),
            pid=int(content.get("pid", 0)),
            started_at=int(content.get("started_at", 0)) / 1000,
            heartbeat_at=int(content.get("heartbeat_at", 0)) / 1000,
            # Marks written before cross-signing existed have no such key.
            cross_signing=str(content.get("cross_signing", "")),
        )
    return found
