"""Encrypted events whose key has not arrived yet: held, retried, given up only after a while.

A room key travels as a to-device message, apart from the events it opens, and Synapse
hands out at most 100 to-device messages per sync: after a long absence (or a burst of
new sessions) a bot meets events before their key. Dropping them lost the master's words
without a trace (measured: the newest page of 300 messages sent to a stopped bot was never
answered). Each such event is held here, its key requested from the sender's devices, and
tried again after every sync; only past `KEY_WAIT_SECONDS` is it given up, and said so.
A sender's client that refuses the key says so with `m.room_key.withheld` (Element, for
devices it does not trust): such an event is given up at once, with the sender's reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bots.events import UNREADABLE_EVENT
from bots.ids import EventID, RoomID, UserID
from bots.message import RoomEvent

KEY_WAIT_SECONDS = 60.0
MAX_HELD = 2_000  # per bot; past it the oldest is given up early rather than memory grown

F = TypeVar("F")


@dataclass
class Held(Generic[F]):
    """One event waiting for its key, with what is needed to handle it once readable."""

    event: Any
    room_id: str
    facts: F
    held_at: float


class LateKeys(Generic[F]):
    """Oldest first; `sweep` hands back what became readable and what waited too long."""

    def __init__(self, wait_seconds: float = KEY_WAIT_SECONDS) -> None:
        self.wait_seconds = wait_seconds
        self._held: dict[str, Held[F]] = {}
        self._withheld: dict[str, tuple[str, str]] = {}

    def withheld(self, session_id: str) -> tuple[str, str] | None:
        """(code, reason) the sender gave for refusing this session's key, if it did."""
        return self._withheld.get(session_id)

    def note_withheld(self, content: Any) -> None:
        """Remembers an `m.room_key.withheld` notice (its content, as the sender wrote it)."""
        if not isinstance(content, dict):
            return
        session_id, code = content.get("session_id"), content.get("code")
        if isinstance(session_id, str) and isinstance(code, str):
            reason = content.get("reason")
            self._withheld[session_id] = (code, reason if isinstance(reason, str) else "")
            while len(self._withheld) > MAX_HELD:
                del self._withheld[next(iter(self._withheld))]

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, event: Any, room_id: str, facts: F, now: float) -> list[Held[F]]:
        """Keep `event` (once, by id); returns what had to be given up to make room."""
        event_id = str(getattr(event, "event_id", ""))
        if event_id in self._held:
            return []
        self._held[event_id] = Held(event, room_id, facts, now)
        dropped: list[Held[F]] = []
        while len(self._held) > MAX_HELD:
            oldest = next(iter(self._held))
            dropped.append(self._held.pop(oldest))
        return dropped

    def sweep(
        self, decrypt: Callable[[Held[F]], Any | None], now: float
    ) -> tuple[list[tuple[Held[F], Any]], list[Held[F]]]:
        """(readable: each held entry with its decrypted event, given up: too old)."""
        readable: list[tuple[Held[F], Any]] = []
        expired: list[Held[F]] = []
        for event_id, held in list(self._held.items()):
            decrypted = decrypt(held)
            if decrypted is not None:
                readable.append((held, decrypted))
                del self._held[event_id]
            elif (
                now - held.held_at >= self.wait_seconds
                or self.withheld(str(getattr(held.event, "session_id", ""))) is not None
            ):
                expired.append(held)
                del self._held[event_id]
        return readable, expired


def unreadable_event(
    held: Held[Any], sender_power: int, waited_seconds: float, withheld: tuple[str, str] | None
) -> RoomEvent:
    """What the handlers are told about an event given up: who sent it, when, and why
    (`reason`: "no-key", or the withheld code such as "m.unverified", with `detail`)."""
    event = held.event
    return RoomEvent(
        room_id=RoomID(held.room_id),
        event_id=EventID(str(event.event_id)),
        sender=UserID(str(event.sender)),
        type=UNREADABLE_EVENT,
        content={
            "reason": withheld[0] if withheld else "no-key",
            "detail": withheld[1] if withheld else "",
            "waited_seconds": round(waited_seconds),
            "session_id": str(getattr(event, "session_id", "")),
        },
        sender_power=sender_power,
        timestamp_ms=int(getattr(event, "server_timestamp", 0) or 0),
    )
