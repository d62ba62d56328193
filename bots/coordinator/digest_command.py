"""`!digest` (the master's): the daily digest, now, since the last one."""

from __future__ import annotations

from typing import Protocol

from bots.errors import CommandError
from bots.message import Reply
from bots.routing.commands import CommandRequest, CommandSpec


class DigestOps(Protocol):
    """What the command asks of `bots.health.digest_job.DigestJob`."""

    async def send_now(self) -> str: ...


def digest_spec(ops: DigestOps) -> CommandSpec:
    async def digest(request: CommandRequest) -> list[Reply]:
        if request.args.strip():
            raise CommandError("!digest takes nothing after it. Send: !digest")
        await ops.send_now()
        return []  # the digest itself is the answer, sent to the master in the council room

    return CommandSpec("digest", "send the master's digest now (since the last one)", digest)
