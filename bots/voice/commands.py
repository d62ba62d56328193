"""`!voice` (the coordinator's): whether the council speaks in this room, and per agent.

`!voice` shows it; `!voice on|off` sets it for the room (reports, read-out plans, every
agent without its own setting); `!voice on|off claude` for one agent. Only the master changes
it; the agents read it each time they would speak, so it holds at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bots.context import BotContext
from bots.errors import CommandError
from bots.message import Reply
from bots.routing.commands import CommandRequest, CommandSpec
from bots.settings import AgentSettings
from bots.store.voice import ROOM
from bots.voice.services import speech_services

USAGE = "[on|off] [agent]"
EXAMPLE = "!voice off, !voice on claude, or !voice to see it"


@dataclass(frozen=True)
class VoiceOrder:
    """`speaks` None: show the setting. `agent` "" : the room's own."""

    speaks: bool | None
    agent: str = ""


SWITCHES = {"on": True, "off": False, "켜": True, "꺼": False}


def read_voice(args: str) -> VoiceOrder:
    """`!voice` arguments; `CommandError` (with an example) for anything else."""
    words = args.split()
    if not words:
        return VoiceOrder(None)
    switch = SWITCHES.get(words[0].casefold())
    if switch is None or len(words) > 2:
        raise CommandError(f"!voice takes on or off, and an agent's name: {EXAMPLE}.")
    return VoiceOrder(switch, words[1] if len(words) == 2 else "")


def agent_named(agents: Sequence[AgentSettings], name: str) -> str:
    """The configured agent a name, localpart, display name or alias means."""
    wanted = name.strip().lstrip("@").split(":")[0].casefold()
    for agent in agents:
        names = {agent.name, agent.account.localpart, agent.account.display_name}
        if wanted in {n.casefold() for n in (*names, *agent.account.aliases) if n}:
            return agent.name
    known = ", ".join(a.name for a in agents) or "none"
    raise CommandError(f"No agent named {name!r} (agents: {known}). Example: {EXAMPLE}.")


async def voice_status(bot: BotContext, room_id: str) -> str:
    """What `!voice` says: the room's setting, each agent's own, and whether TTS works."""
    voice = bot.settings.voice
    prefs = {p.agent: p for p in await bot.store.voice.prefs(room_id)}
    room = prefs.get(ROOM)
    room_on = room.speaks if room is not None else voice.speak_by_default
    origin = "set by !voice" if room is not None else "the default"
    lines = [f"🔊 Voice is {'on' if room_on else 'off'} in this room ({origin})."]
    for name, pref in sorted(prefs.items()):
        if name != ROOM:
            lines.append(f"• {name}: {'on' if pref.speaks else 'off'}")
    said = [what for what, on in (("reports", voice.reports), ("answers", voice.answers)) if on]
    lines.append(
        "Spoken: plans waiting for you" + "".join(f", {w}" for w in said) + " (voice.* config)."
    )
    problem = speech_services(bot.settings).problem_tts
    if problem:
        lines.append(f"⚠️ Text-to-speech is not available: {problem}")
    lines.append(f"Change it: {EXAMPLE}.")
    return "\n".join(lines)


def voice_spec(clock: Callable[[], float] = time.time) -> CommandSpec:
    async def voice(request: CommandRequest) -> list[Reply]:
        bot, message = request.bot, request.message
        order = read_voice(request.args)
        if order.speaks is None:
            return [Reply.answering(message, await voice_status(bot, message.room_id))]
        if message.sender != bot.settings.master_user_id:
            raise CommandError("Only the master turns voice on or off; !voice shows it.")
        agent = agent_named(bot.settings.agents, order.agent) if order.agent else ROOM
        await bot.store.voice.set_pref(
            message.room_id, agent, order.speaks, by=message.sender, now=clock()
        )
        state = "on" if order.speaks else "off"
        who = "the council" if agent == ROOM else agent
        return [Reply.answering(message, f"🔊 Voice {state} for {who} in this room.")]

    return CommandSpec(
        "voice", "whether the council speaks here (per room, per agent)", voice, USAGE
    )
