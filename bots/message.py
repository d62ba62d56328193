"""The plain values that cross the Matrix edge: an incoming `Message`, an outgoing `Reply`,
and the `HistoryEntry` lines of a conversation read back.

`bots.matrix` builds messages and history from nio events and sends replies; nothing
in between sees nio, so routing and handlers are tested with ordinary values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bots.ids import EventID, RoomID, UserID


@dataclass(frozen=True)
class Mentions:
    """`m.mentions` as sent by Element Web and Element X; classic mobile sends none."""

    user_ids: tuple[UserID, ...] = ()
    room: bool = False


@dataclass(frozen=True)
class AudioAttachment:
    """An `m.audio` message's media, as sent (issue 20): where it lives, what Element says
    of it, and the decryption keys when the room is encrypted (`file`)."""

    url: str
    """The `mxc://` address (of the ciphertext in an encrypted room)."""
    mimetype: str = ""
    size: int = 0
    """`info.size` as the sender stated it (0 when absent); checked again on download."""
    duration_ms: int = 0
    voice: bool = False
    """Marked `org.matrix.msc3245.voice`: recorded as a voice message, not a shared file."""
    encryption: Mapping[str, Any] | None = None
    """The `file` object of an encrypted attachment (key, iv, hashes), None in the clear."""


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
    answers_agent: bool = False
    """Sent by a Chavion agent answering another agent (see `Reply.answers_agent`)."""
    stream: str | None = None
    """A Chavion answer's `org.chavion.stream`: "partial" while it is being written; "done"
    once complete (a streamed answer arrives a second time, whole, with its first id)."""
    council: Mapping[str, Any] | None = None
    """A task message's `org.chavion.council` object (an ask, an answer, a plan), as sent;
    `bots.tasks` reads it. None on every other message."""
    audio: AudioAttachment | None = None
    """An `m.audio` message's media (a voice message when `audio.voice`); None otherwise."""
    spoken_in: EventID | None = None
    """Set on the transcript of a voice message (`bots.events.TRANSCRIPT_KEY`): the voice
    event it was heard from. `sender` is then the person who spoke, as the transcribing bot
    vouches, and `body` what he said, so the message is handled as if he had typed it."""


@dataclass(frozen=True)
class RoomEvent:
    """A non-text event a bot may act on: a reaction, or one of Chavion's own event types.

    Its content stays a mapping: each consumer parses it with its own schema
    (e.g. `bots.execution.requests.parse_request`) and refuses what does not fit.
    """

    room_id: RoomID
    event_id: EventID
    sender: UserID
    type: str
    content: Mapping[str, Any]
    sender_power: int = 0
    timestamp_ms: int = 0

    @property
    def reacts_to(self) -> EventID | None:
        relates = self.content.get("m.relates_to")
        if not isinstance(relates, Mapping) or not isinstance(relates.get("event_id"), str):
            return None
        if self.type == "m.reaction" and relates.get("rel_type") == "m.annotation":
            return EventID(relates["event_id"])
        return None

    @property
    def reaction_key(self) -> str | None:
        relates = self.content.get("m.relates_to")
        key = relates.get("key") if isinstance(relates, Mapping) else None
        return key if self.type == "m.reaction" and isinstance(key, str) else None


Incoming = Message | RoomEvent


@dataclass(frozen=True)
class HistoryEntry:
    """One text message of the room (or thread), as `bots.matrix` reads it back for an
    agent's conversation (`bots.agents.conversation`)."""

    event_id: EventID
    sender: UserID
    sender_name: str
    body: str
    timestamp_ms: int


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
    stream: str | None = None
    """"partial" while an answer is still being written, "done" on its last edit."""
    answers_agent: bool = False
    """An agent's answer to another agent: one turn for every bot's loop guard."""
    council: Mapping[str, Any] | None = None
    """Sent as the content's `org.chavion.council` object (see `bots.events.COUNCIL_KEY`)."""
    urgent: bool = False
    """Notifies the master even inside a night window (a host down, a task that stopped
    the queue, a cap reached); other notifying replies become `m.notice` then (issue 19)."""

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
