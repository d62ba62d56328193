"""The recent conversation of each room, kept from the timeline for agents' context.

An agent answering needs what was said before; asking the homeserver on every answer would
be slow, so the client records every message it syncs (the last `HISTORY_KEPT` per room)
and, after a restart, reads each room back once (`BACKFILL` events) to fill what it missed
while it was down. No I/O here: the client fetches, this keeps.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from bots.ids import EventID, RoomID, UserID
from bots.matrix.convert import mapping, timestamp, transcript_marker
from bots.message import HistoryEntry

HISTORY_KEPT = 300
"""Messages kept per room for agents' context."""
BACKFILL = 100
"""Messages read back once per room after a restart."""

NameOf = Callable[[str], str]
"""A sender's display name in the room (the client asks nio's room)."""


@dataclass(frozen=True)
class _Said:
    thread: object  # the thread root as the event named it; None on the main timeline
    entry: HistoryEntry


class RoomHistory:
    """What was said in each room, oldest first, edits applied in place."""

    def __init__(
        self, kept_per_room: int = HISTORY_KEPT, transcribers: frozenset[UserID] = frozenset()
    ) -> None:
        """`transcribers`: whose voice transcripts are kept as the speaker's words (an agent
        must not read the master's spoken order as the transcriber's, or as its own)."""
        self._kept = kept_per_room
        self._transcribers = transcribers
        self._rooms: dict[str, OrderedDict[str, _Said]] = {}
        self._read_back: set[str] = set()
        self._edits: dict[str, dict[str, str]] = {}
        """Per room, each edit's id → the message it changed (a redacted edit drops it)."""

    def record(self, room_id: str, source: Mapping[str, Any], name_of: NameOf) -> None:
        """Keeps a message's text; an edit changes the text kept for the message it edits;
        a redaction drops what it removed."""
        sender, event_id = source.get("sender"), source.get("event_id")
        if not isinstance(sender, str) or not isinstance(event_id, str):
            return
        if source.get("type") == "m.room.redaction":
            self.forget(room_id, redacted_id(source))
            return
        content = source.get("content")
        if source.get("type") != "m.room.message" or not isinstance(content, dict):
            return
        relates = mapping(content.get("m.relates_to"))
        said = self._rooms.setdefault(room_id, OrderedDict())
        if relates.get("rel_type") == "m.replace":
            new = mapping(content.get("m.new_content"))
            original = said.get(str(relates.get("event_id")))
            if original and isinstance(new.get("body"), str):
                said[original.entry.event_id] = replace(
                    original, entry=replace(original.entry, body=new["body"])
                )
                edits = self._edits.setdefault(room_id, {})
                edits[event_id] = original.entry.event_id
                while len(edits) > self._kept:
                    del edits[next(iter(edits))]
            return
        if not isinstance(content.get("body"), str):
            return
        thread = relates.get("event_id") if relates.get("rel_type") == "m.thread" else None
        body = content["body"]
        heard = transcript_marker(content) if sender in self._transcribers else None
        if heard is not None:
            sender, body = heard.speaker, heard.text
        said[event_id] = _Said(
            thread,
            HistoryEntry(
                event_id=EventID(event_id),
                sender=UserID(sender),
                sender_name=name_of(sender),
                body=body,
                timestamp_ms=timestamp(source),
            ),
        )
        while len(said) > self._kept:
            said.popitem(last=False)

    def forget(self, room_id: str, event_id: str | None) -> None:
        """Drops a redacted message, or the message a redacted edit changed (its text before
        the edit is not kept), so what was removed from the room never reaches a prompt."""
        if event_id is None:
            return
        edits = self._edits.get(room_id, {})
        said = self._rooms.get(room_id, OrderedDict())
        said.pop(edits.pop(event_id, event_id), None)
        for edit in [e for e, original in edits.items() if original == event_id]:
            del edits[edit]

    def entries(
        self, room_id: RoomID, thread_root: EventID | None, limit: int
    ) -> list[HistoryEntry]:
        """The thread (root included), or the room's main timeline: the last `limit`
        messages, oldest first."""
        said = self._rooms.get(room_id, OrderedDict()).values()
        if thread_root is None:
            entries = [s.entry for s in said if s.thread is None]
        else:
            entries = [
                s.entry for s in said if s.thread == thread_root or s.entry.event_id == thread_root
            ]
        entries.sort(key=lambda entry: entry.timestamp_ms)
        return entries[-limit:]

    def first_look(self, room_id: RoomID) -> bool:
        """True the first time a room's history is asked for: the time to read it back."""
        if room_id in self._read_back:
            return False
        self._read_back.add(room_id)
        return True

    def read_back(
        self, room_id: RoomID, sources: Iterable[Mapping[str, Any]], name_of: NameOf
    ) -> None:
        """Records messages read back from the homeserver (`sources` oldest first) before
        those synced since, which stay the newest."""
        said = self._rooms.setdefault(room_id, OrderedDict())
        synced = OrderedDict(said)
        said.clear()
        for source in sources:
            self.record(room_id, source, name_of)
        for event_id, value in synced.items():
            said[event_id] = value


def redacted_id(source: Mapping[str, Any]) -> str | None:
    """The event a redaction removes: `content.redacts` from room version 11 on, the
    top-level `redacts` before (Synapse sends both)."""
    redacts = mapping(source.get("content")).get("redacts", source.get("redacts"))
    return redacts if isinstance(redacts, str) else None
