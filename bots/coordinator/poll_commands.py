"""`!poll <question> | <option> | …` and `!poll close [N]`: read here, done by `PollService`.

The poll is posted where the command was given: in its thread, else in the main timeline.
A refused command says what was wrong and shows an example; nothing is posted then.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from bots.errors import CommandError
from bots.ids import EventID, RoomID, UserID
from bots.message import Reply
from bots.routing.commands import CommandRequest, CommandSpec
from bots.tasks.master_polls import PollClose, PollRefusal, parse_poll_command

if TYPE_CHECKING:
    from bots.store.polls import Poll


class PollOps(Protocol):
    """What the command asks of `bots.coordinator.polls.PollService`."""

    async def open(
        self,
        question: str,
        options: Sequence[str],
        *,
        requester: UserID,
        source: str,
        room_id: RoomID,
        thread_root: EventID | None,
        open_key: str | None = None,
    ) -> Poll: ...

    async def close(self, poll_id: int | None, by: str) -> str: ...


def poll_command(ops: PollOps) -> CommandSpec:
    """The `!poll` spec, bound to one coordinator's polls."""

    async def poll(request: CommandRequest) -> list[Reply]:
        message = request.message
        parsed = parse_poll_command(request.args)
        if isinstance(parsed, PollRefusal):
            raise CommandError(parsed.text)
        if isinstance(parsed, PollClose):
            said = await ops.close(parsed.poll, message.sender)
            return [Reply.answering(message, said)] if said else []
        await ops.open(
            parsed.question,
            parsed.options,
            requester=message.sender,
            source="matrix",
            room_id=message.room_id,
            thread_root=message.thread_root,
            open_key=message.event_id,
        )
        return []  # the poll itself is the answer

    return CommandSpec(
        "poll",
        "ask the council to vote (2-10 options); close [N] ends one",
        poll,
        "<question> | <option> | <option> … or close [N]",
    )
