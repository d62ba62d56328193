"""Answers owed: questions an agent claimed and has not answered yet (see migration v05).

`begin` before the model is called, `finish` once the answer is sent; whatever is still
here when a bot starts was cut off by a crash and is answered again (`retry` counts it).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

import aiosqlite

from bots.ids import EventID, RoomID, UserID
from bots.message import Mentions, Message
from bots.store.connection import Writer, fetch_all
from bots.store.errors import converted


@dataclass(frozen=True)
class PendingAnswer:
    """One owed answer: the question, the streamed answer's first event if one was shown,
    and how many runs have started on it (1 = the run that was cut off)."""

    message: Message
    placeholder: EventID | None
    attempts: int
    started_at: float


def encode_message(message: Message) -> str:
    return json.dumps(asdict(message), ensure_ascii=False, separators=(",", ":"))


def decode_message(text: str) -> Message:
    """The question as it was claimed; a field this version does not know is dropped."""
    data: dict[str, Any] = json.loads(text)
    known = set(Message.__dataclass_fields__)
    data = {k: v for k, v in data.items() if k in known}
    mentions = data.get("mentions")
    if isinstance(mentions, dict):
        data["mentions"] = Mentions(
            tuple(UserID(u) for u in mentions.get("user_ids", ())), bool(mentions.get("room"))
        )
    data["room_id"] = RoomID(data["room_id"])
    data["event_id"] = EventID(data["event_id"])
    return Message(**data)


class PendingAnswers:
    def __init__(self, db: aiosqlite.Connection, writes: Writer) -> None:
        self._db = db
        self._writes = writes

    async def begin(self, bot: str, message: Message) -> None:
        with converted("recording an answer owed"):
            await self._writes.execute(
                "INSERT OR IGNORE INTO pending_answers "
                "(bot, event_id, room_id, message, started_at) VALUES (?, ?, ?, ?, ?)",
                (bot, message.event_id, message.room_id, encode_message(message), time.time()),
            )

    async def note_placeholder(self, bot: str, event_id: str, placeholder: str) -> None:
        """The streamed answer is visible: a re-run must finish this event, not leave it."""
        with converted("recording an answer's placeholder"):
            await self._writes.execute(
                "UPDATE pending_answers SET placeholder = ? WHERE bot = ? AND event_id = ?",
                (placeholder, bot, event_id),
            )

    async def retry(self, bot: str, event_id: str) -> int:
        """Counts one more run on an owed answer; the number of this run."""
        with converted("counting an answer's runs"):
            row = await self._writes.fetch_one(
                "UPDATE pending_answers SET attempts = attempts + 1 "
                "WHERE bot = ? AND event_id = ? RETURNING attempts",
                (bot, event_id),
            )
            return int(row[0]) if row else 0

    async def finish(self, bot: str, event_id: str) -> None:
        """The answer is out: the question's text leaves the store with the row."""
        with converted("settling an answer owed"):
            await self._writes.execute(
                "DELETE FROM pending_answers WHERE bot = ? AND event_id = ?", (bot, event_id)
            )

    async def unfinished(self, bot: str) -> list[PendingAnswer]:
        """Owed answers, oldest question first."""
        with converted("reading answers owed"):
            rows = await fetch_all(
                self._db,
                "SELECT message, placeholder, attempts, started_at FROM pending_answers "
                "WHERE bot = ? ORDER BY started_at",
                (bot,),
            )
        return [
            PendingAnswer(
                decode_message(str(row[0])),
                EventID(str(row[1])) if row[1] else None,
                int(row[2]),
                float(row[3]),
            )
            for row in rows
        ]
