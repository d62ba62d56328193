"""Turns a `Message` into a `Route` for one bot. Pure: no I/O, every input gets a route.

Commands accept `!`, `/` and `//` (Element Web strips one slash of `//`, Element X and
classic Android send `//` as typed, and `!` passes every client untouched). A leading
address ("Executor: !ping", a pill, "@executor") is stripped before the prefix is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bots.addressing import Identity, Roster, addressed_bots, is_broadcast, plain_text
from bots.message import Message

COMMAND = re.compile(r"^(?://|/|!)([A-Za-z][\w-]*)(?::|(?=\s)|$)\s*(.*)$", re.DOTALL)
ROOM_MENTION = re.compile(r"@room(?![\w])")
TEXT_TYPES = ("m.text", "m.notice", "m.emote")
# Typed aliases of command names: the task form is what the master types on the phone.
COMMAND_ALIASES = {"chavion_task": "task"}


@dataclass(frozen=True)
class Ignore:
    reason: str


@dataclass(frozen=True)
class Command:
    name: str
    args: str


@dataclass(frozen=True)
class Chat:
    """Conversation for an agent: addressed to it by name, or to everyone."""

    text: str
    broadcast: bool


Route = Ignore | Command | Chat


@dataclass(frozen=True)
class RouterContext:
    me: Identity
    roster: Roster
    is_coordinator: bool
    is_agent: bool


def parse(message: Message, ctx: RouterContext) -> Route:
    if message.sender == ctx.me.user_id:
        return Ignore("own message")
    if message.replaces is not None:
        return Ignore("edit of an earlier message")
    if message.msgtype not in TEXT_TYPES:
        return Ignore(f"not text ({message.msgtype})")
    addressed = addressed_bots(message, ctx.roster)
    broadcast = is_broadcast(message, ctx.roster)
    text = strip_leading_address(plain_text(message), ctx.roster).strip()
    command = COMMAND.match(text)
    if command:
        if ctx.roster.get(message.sender) is not None:
            return Ignore("commands from bots are not run")
        for_me = ctx.me.user_id in addressed or broadcast or (not addressed and ctx.is_coordinator)
        if not for_me:
            return Ignore("command for another bot")
        name = command.group(1).lower()
        return Command(COMMAND_ALIASES.get(name, name), command.group(2).strip())
    if not ctx.is_agent:
        return Ignore("conversation is for agents")
    if ctx.me.user_id in addressed:
        return Chat(text or message.body, broadcast=False)
    if broadcast:
        return Chat(text or message.body, broadcast=True)
    return Ignore("not addressed")


def strip_leading_address(text: str, roster: Roster) -> str:
    """Drop "Name:", "@name,", a pill label or a broadcast word at the start, repeatedly."""
    patterns = [bot.pattern for bot in roster.bots]
    if roster.broadcast_pattern is not None:
        patterns.append(roster.broadcast_pattern)
    patterns.append(ROOM_MENTION)
    while True:
        stripped = text.lstrip()
        for pattern in patterns:
            match = pattern.match(stripped)
            if match:
                stripped = stripped[match.end() :].lstrip(" ,:")
                break
        else:
            return stripped
        text = stripped
