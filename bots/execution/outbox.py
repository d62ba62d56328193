"""Where the executor bot says things: each send keyed (a retry never duplicates it) and
aimed at where the request was asked: its room, replying to it, in its thread when it was
asked in one (a task's steps come in the task's thread; the master reads them there).

Sends are on their own: a failing homeserver costs a message, never a run, its recorded
end or the result event, so the flow wraps them in `guarded` (or `logged`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from bots.context import BotContext
from bots.execution.requests import RESULT_EVENT, ExecResult, result_content
from bots.ids import EventID, RoomID, UserID
from bots.message import Reply

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Origin:
    """Where a request was asked: replies about it go there."""

    room_id: RoomID
    event_id: EventID | None
    thread_root: EventID | None = None
    task: str | None = None
    """The task the request is a step of: all said about it starts with `#N ` (as every
    message of a task does: it reads well inline, where Element X shows threads flat)."""

    def tag(self, text: str) -> str:
        """`text` (a body or its HTML) as said about this request."""
        return f"#{self.task} {text}" if self.task and text else text


class Outbox:
    """The executor bot's sending side; usable once `attach` has given it its bot."""

    def __init__(self) -> None:
        self._bot: BotContext | None = None

    def attach(self, bot: BotContext) -> None:
        self._bot = bot

    async def send(self, reply: Reply) -> EventID:
        return await self._attached().matrix.send(reply)

    async def say(
        self,
        origin: Origin,
        body: str,
        html: str | None = None,
        *,
        key: str,
        notice: bool = True,
        mention: tuple[UserID, ...] = (),
    ) -> EventID:
        """A reply to the request's asking event, in its thread."""
        return await self.send(
            Reply(
                origin.room_id,
                origin.tag(body),
                html=None if html is None else origin.tag(html),
                notice=notice,
                thread_root=origin.thread_root,
                reply_to=origin.event_id,
                mention=mention,
                key=key,
            )
        )

    async def send_file(self, reply: Reply, filename: str, data: bytes, mimetype: str) -> EventID:
        return await self._attached().matrix.send_file(reply, filename, data, mimetype)

    async def result_event(self, room_id: RoomID, result: ExecResult) -> None:
        """The `org.chavion.exec.result` event the coordinator acts on."""
        await self._attached().matrix.send_event(
            room_id, RESULT_EVENT, result_content(result), key=f"{result.request_id}/result-event"
        )

    def _attached(self) -> BotContext:
        if self._bot is None:
            raise RuntimeError("the executor service is not attached to its bot")
        return self._bot


async def guarded(what: str, sending: Awaitable[T]) -> T | None:
    """Awaits one send; a failure is logged with its traceback and the flow goes on."""
    try:
        return await sending
    except Exception:
        log.exception("%s could not be sent; carrying on", what)
        return None


@contextlib.contextmanager
def logged(what: str) -> Iterator[None]:
    """Best effort (startup reports): one failing must not hide the others."""
    try:
        yield
    except Exception:
        log.exception("%s failed", what)
