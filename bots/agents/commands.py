"""What an agent answers when a command names it: `!ping`, `!mute`, `!unmute`, `!summon`.

Kept apart from the agent itself so the agent's answering path reads without the room
commands around it; the commands only call what `Agent` offers.
"""

from __future__ import annotations

from bots.agents.agent import Agent
from bots.context import BotContext
from bots.message import Reply
from bots.routing.commands import CommandRequest, CommandSpec, Registry
from bots.routing.shared_commands import make_help, ping


def agent_commands(agent: Agent) -> Registry:
    """What an agent answers when the command names it: `!mute claude`, `!summon claude …`."""

    async def mute(request: CommandRequest) -> list[Reply]:
        await agent.store.agent_flags.set_muted(agent.agent.name, True, request.message.sender)
        name = agent.agent.account.display_name
        return [Reply.answering(request.message, f"{name} is muted: I stay silent until !unmute.")]

    async def unmute(request: CommandRequest) -> list[Reply]:
        await agent.store.agent_flags.set_muted(agent.agent.name, False, request.message.sender)
        name = agent.agent.account.display_name
        return [Reply.answering(request.message, f"{name} is listening again.")]

    async def summon(request: CommandRequest) -> list[Reply]:
        text = drop_names(request.args, request.bot)
        if not text:
            return [Reply.answering(request.message, "Usage: !summon <agent> <question>")]
        return await agent.answer(request.message, request.bot, text=text)

    registry = Registry(
        [
            CommandSpec("ping", "check that this agent answers", ping),
            CommandSpec("mute", "silence this agent until !unmute", mute, "<agent>"),
            CommandSpec("unmute", "let this agent speak again", unmute, "<agent>"),
            CommandSpec("summon", "ask this agent, even if muted", summon, "<agent> <question>"),
        ]
    )
    registry.add(make_help(registry))
    return registry


def drop_names(text: str, bot: BotContext) -> str:
    """`!summon claude what now?` → `what now?` (the agent's own name is the address)."""
    words = text.split(maxsplit=1)
    if words and bot.identity.pattern.fullmatch(words[0].rstrip(",:")):
        return words[1].strip() if len(words) > 1 else ""
    return text.strip()
