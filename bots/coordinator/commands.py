"""The commands every council has from day one: help, ping, status, whoami."""

from __future__ import annotations

import html
import time

from bots import __version__
from bots.context import BotPresence
from bots.ids import UserID
from bots.message import Reply
from bots.routing.commands import CommandRequest, CommandSpec, Registry
from bots.text.durations import coarse


async def ping(request: CommandRequest) -> list[Reply]:
    return [Reply.answering(request.message, f"pong ({request.bot.account.display_name})")]


def make_help(registry: Registry) -> CommandSpec:
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


async def whoami(request: CommandRequest) -> list[Reply]:
    message = request.message
    return [
        Reply.answering(
            message, f"You are {message.sender}, power level {message.sender_power} in the council."
        )
    ]


def describe_presence(presence: BotPresence | None, now: float, heartbeat: float) -> str:
    """One status word per bot, judged from its last mark: a crashed bot goes stale."""
    if presence is None:
        return "never started"
    if not presence.online:
        return f"offline (stopped {coarse(now - presence.heartbeat_at)} ago)"
    silent = now - presence.heartbeat_at
    if silent > 2.5 * heartbeat:
        return f"not responding (last sign {coarse(silent)} ago)"
    where = f" on {presence.host}" if presence.host else ""
    return f"online{where}, up {coarse(now - presence.started_at)}, v{presence.version}"


async def status(request: CommandRequest) -> list[Reply]:
    bot = request.bot
    now = time.time()
    reachable = await bot.matrix.homeserver_reachable()
    presences = await bot.matrix.presences() if reachable else {}
    heartbeat = bot.settings.runtime.heartbeat_seconds
    lines = [
        f"Chavion {__version__} — homeserver {bot.settings.homeserver.server_name}: "
        + ("reachable" if reachable else "NOT reachable"),
        f"{bot.account.display_name} up {coarse(now - bot.started_at)}",
    ]
    for account in bot.settings.accounts:
        user_id = UserID(bot.settings.user_id(account))
        state = describe_presence(presences.get(user_id), now, heartbeat)
        lines.append(f"• {account.display_name} ({account.kind}): {state}")
    return [Reply.answering(request.message, "\n".join(lines))]


def coordinator_commands() -> Registry:
    from bots.coordinator.council import agents_overview, budget_report

    registry = Registry(
        [
            CommandSpec("ping", "check that the council answers", ping),
            CommandSpec("status", "bots online, homeserver, uptime and version", status),
            CommandSpec("whoami", "your user id and power level in this room", whoami),
            CommandSpec(
                "agents", "each agent's model, role, state and budget left", agents_overview
            ),
            CommandSpec("budget", "tokens and cost per agent today", budget_report),
        ]
    )
    registry.add(make_help(registry))
    return registry
