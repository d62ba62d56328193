"""`!minutes [N | search <words>]`: a task's minutes (asked of the scribe when there are
none yet), the minutes of the recent discussion, or a search through all of them.

Without a number, inside a task's thread it means that task; anywhere else, the room's (or
that thread's) messages since its last minutes, written by the scribe. Arguments are read
by a small pure function, so every usage error is a `CommandError` with an example.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from bots.errors import CommandError
from bots.message import Message, Reply
from bots.routing.commands import CommandRequest, CommandSpec
from bots.tasks.intake import parse_task_ref
from bots.tasks.minutes import clip
from bots.text.markdown import markdown_to_html

if TYPE_CHECKING:
    from bots.store.minutes import MinutesRecord

SEARCH_WORDS = ("search", "find", "검색", "찾기")
SHOWN = 5
"""Search results listed (one found is shown whole)."""
SNIPPET_CHARS = 120


class MinutesOps(Protocol):
    """What the command asks of the engine (`bots.coordinator.tasks.minutes.TaskMinutes`)."""

    async def for_task(self, n: int) -> tuple[str, MinutesRecord | None]: ...

    async def discussion(self, message: Message) -> str: ...


@dataclass(frozen=True)
class Search:
    words: str


def read_minutes(args: str) -> int | Search | None:
    """`!minutes` (None), `!minutes 12` / `#12`, `!minutes search disk full`."""
    text = args.strip()
    if not text:
        return None
    first, _, rest = text.partition(" ")
    if first.lower() in SEARCH_WORDS:
        if not rest.strip():
            raise CommandError("Search for what? e.g. !minutes search nginx.")
        return Search(rest.strip())
    number = parse_task_ref(text)
    if number is not None:
        return number
    raise CommandError(
        f'"{clip(text, 40)}" is not a task number. Send !minutes, !minutes 12 or '
        "!minutes search <words>."
    )


def search_text(query: str, found: Sequence[MinutesRecord], tz: ZoneInfo) -> str:
    """The results of a search: one found is shown whole, several as one line each."""
    if not found:
        return f'🔎 No minutes mention "{clip(query, 60)}".'
    if len(found) == 1:
        return found[0].text
    lines = [f'🔎 Minutes mentioning "{clip(query, 60)}":']
    for record in found[:SHOWN]:
        what = f"#{record.task_id}" if record.task_id is not None else "Discussion"
        when = datetime.fromtimestamp(record.created_at, tz).strftime("%-d %b %H:%M")
        lines.append(f"- {what} · {when} — {clip(_gist(record.text), SNIPPET_CHARS)}")
    lines.append("!minutes 12 shows a task's in full.")
    return "\n".join(lines)


def _gist(text: str) -> str:
    """The minutes without their heading: what the scribe wrote first."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    return (paragraphs[1] if len(paragraphs) > 1 else paragraphs[0]) if paragraphs else ""


class MinutesCommands:
    def __init__(self, ops: MinutesOps, clock: Callable[[], float] = time.time) -> None:
        self.ops = ops
        self._clock = clock

    async def minutes(self, request: CommandRequest) -> list[Reply]:
        message = request.message
        bot = request.bot
        parsed = read_minutes(request.args)
        if isinstance(parsed, Search):
            found = await bot.store.minutes.search(parsed.words, limit=SHOWN)
            text = search_text(parsed.words, found, ZoneInfo(bot.settings.timezone))
            return [Reply.answering(message, text, html=markdown_to_html(text))]
        if parsed is None and message.thread_root is not None:
            parsed = await bot.store.minutes.task_in_thread(message.room_id, message.thread_root)
        if parsed is None:
            await self.ops.discussion(message)  # posted in a thread of its own, with its ask
            return []
        said, _ = await self.ops.for_task(parsed)
        return [Reply.answering(message, said, html=markdown_to_html(said))]

    def specs(self) -> list[CommandSpec]:
        return [
            CommandSpec(
                "minutes",
                "minutes of task N or of the talk here; or search them",
                self.minutes,
                "[N | search <words>]",
            )
        ]
