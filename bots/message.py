"""The plain values that cross the Matrix edge: an incoming `Message`, an outgoing `Reply`.

`bots.matrix` builds the first from nio events and sends the second; nothing in between
sees nio, so routing and handlers are tested with ordinary values.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from bots.ids import EventID, RoomID, UserID


@dataclass(frozen=True)
class Mentions:
    """`m.mentions` as sent by Element Web and Element X; classic mobile sends none."""

    user_ids: tuple[UserID, ...] = ()
    room: bool = False


@dataclass(frozen=True)
class Message:
    room_id: RoomID
    event_id: EventID
    sender: UserID
    body: str
    formatted_body: str | None = None
    msgtype: str = "m.text"
    mentions: Mentions | None = None
    thread_root: EventID | None = None
    reply_to: EventID | None = None
    reply_to_sender: UserID | None = None
    replaces: EventID | None = None
    timestamp_ms: int = 0
    sender_power: int = 0
    is_direct: bool = False
    encrypted: bool = False


@dataclass(frozen=True)
class Reply:
    """Something a bot says. `key` makes the Matrix transaction id stable across retries."""

    room_id: RoomID
    body: str
    html: str | None = None
    notice: bool = True
    thread_root: EventID | None = None
    reply_to: EventID | None = None
    mention: tuple[UserID, ...] = ()
    replaces: EventID | None = None
    key: str = field(default="")

    @staticmethod
    def answering(
        message: Message, body: str, *, html: str | None = None, notice: bool = True, index: int = 0
    ) -> Reply:
        """A reply to `message`, kept in its thread, with a transaction key derived from it."""
        return Reply(
            room_id=message.room_id,
            body=body,
            html=html,
            notice=notice,
            thread_root=message.thread_root,
            reply_to=message.event_id,
            key=f"{message.event_id}/{index}",
        )


def transaction_id(bot: UserID, key: str) -> str:
    """Same bot + same key → same txn id, so a re-run handler never posts twice."""
    return "chv" + hashlib.sha256(f"{bot}\0{key}".encode()).hexdigest()[:32]
