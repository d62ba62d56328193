"""The commands every bot answers, whatever its kind: `!ping` and the `!help` it lists.

They live beside the command specs rather than with one bot so the coordinator, the agents
and the executor bot declare them the same way without importing one another.
"""

from __future__ import annotations

import html

from bots.message import Reply
from bots.routing.commands import CommandRequest, CommandSpec, Registry


async def ping(request: CommandRequest) -> list[Reply]:
    return [Reply.answering(request.message, f"pong ({request.bot.account.display_name})")]


def make_help(registry: Registry) -> CommandSpec:
    """`!help` for `registry`: its commands the sender may run, one line each."""

    async def help_(request: CommandRequest) -> list[Reply]:
        message = request.message
        specs = registry.visible_to(
            message.sender, message.sender_power, request.bot.settings.access
        )
        lines = [f"{spec.synopsis} — {spec.summary}" for spec in specs]
        intro = (
            f"{request.bot.account.display_name} commands (type them with !, / or //; "
            "! works in every Element app):"
        )
        body = "\n".join([intro, *(f"• {line}" for line in lines)])
        items = "".join(
            f"<li><code>{html.escape(s.synopsis)}</code> — {html.escape(s.summary)}</li>"
            for s in specs
        )
        return [Reply.answering(message, body, html=f"<p>{html.escape(intro)}</p><ul>{items}</ul>")]

    return CommandSpec("help", "list the commands you may run", help_)
