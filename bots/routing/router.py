"""Turns a `Message` into a `Route` for one bot. Pure: no I/O, every input gets a route.

Commands accept `!`, `/` and `//` (Element Web strips one slash of `//`, Element X and
classic Android send `//` as typed, and `!` passes every client untouched). A leading
address ("Executor: !ping", a pill, "@executor") is stripped before the prefix is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bots.ids import UserID
from bots.message import Message
from bots.routing.addressing import (
    Identity,
    Roster,
    addressed_bots,
    explicitly_addressed,
    is_broadcast,
    plain_text,
)

COMMAND = re.compile(r"^(?://|/|!)([A-Za-z][\w-]*)(?::|(?=\s)|$)\s*(.*)$", re.DOTALL)
ROOM_MENTION = re.compile(r"@room(?![\w])")
TEXT_TYPES = ("m.text", "m.notice", "m.emote")
# Typed aliases of command names: the task form is what the master types on the phone.
COMMAND_ALIASES = {"chavion_task": "task"}
# Commands whose first argument names the agent they are for: `!mute claude`.
TARGETED_COMMANDS = frozenset({"mute", "unmute", "summon"})
# Shared by the executor (a request id: `!approve r1a2b3`) and the coordinator (a task
# number: `!approve 12`, `!deny #12 too risky`): the first argument says whose it is.
TASK_OR_REQUEST_COMMANDS = frozenset({"approve", "deny", "cancel"})
TASK_NUMBER = re.compile(r"#?\d+")
_TASK_LEAD = re.compile(r"\s*#?(\d+)")
# After the number: a dash of any length, or `:` `,` `.` `;` `-` that ends a word.
_TASK_AFTER = re.compile(r"\s*(?:[—–]|[:,.;-](?=\s|\Z))")
# A bare `!approve` / `!deny [reason]` that replies to a message: the message says which plan
# (the coordinator's) or request (the executor's) it is about.
REPLY_VERDICTS = frozenset({"approve", "deny"})
# The coordinator's task commands, whoever is named: no other bot has them, and a mission or
# an `!assign 12 @Claude` pill names an agent without giving the command to it.
TASK_COMMANDS = frozenset(
    {"task", "tasks", "pause", "resume", "retry", "assign", "priority", "stats", "poll"}
    | {"lessons", "forget", "minutes", "model", "routine"}
    | {"budget", "unbench"}
    | {"vote"}
)


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
    """`owned_commands` are answered by this bot even when nobody is named (the executor's
    !run); `others_commands` belong to another bot, so this one stays silent on them unless
    it is named (the coordinator would otherwise say "Unknown command")."""

    me: Identity
    roster: Roster
    is_coordinator: bool
    is_agent: bool
    owned_commands: frozenset[str] = frozenset()
    others_commands: frozenset[str] = frozenset()


def parse(message: Message, ctx: RouterContext) -> Route:
    if message.sender == ctx.me.user_id:
        return Ignore("own message")
    if message.replaces is not None:
        return Ignore("edit of an earlier message")
    if message.stream == "partial":
        return Ignore("an answer still being written")
    if message.msgtype not in TEXT_TYPES:
        return Ignore(f"not text ({message.msgtype})")
    lead_named, lead_broadcast, text = leading_address(plain_text(message), ctx.roster)
    command = COMMAND.match(text)
    if command:
        return _command(message, ctx, command, lead_named, lead_broadcast)
    if not ctx.is_agent:
        return Ignore("conversation is for agents")
    if ctx.me.user_id in addressed_bots(message, ctx.roster):
        return Chat(text or message.body, broadcast=False)
    # After a leading name, a broadcast word is part of what that bot is told ("claude, tell
    # everyone"); first or last in the message, it speaks to the room.
    if lead_broadcast or (not lead_named and is_broadcast(message, ctx.roster)):
        return Chat(text or message.body, broadcast=True)
    return Ignore("not addressed")


def _command(
    message: Message,
    ctx: RouterContext,
    command: re.Match[str],
    lead_named: set[UserID],
    lead_broadcast: bool,
) -> Route:
    """Who a command is for: the bots named before it (or by pill, mention or reply), every
    bot on a broadcast, else the bot that owns the command. Names inside the arguments do not
    count (`!run local -- …` is not for an agent called Local), except the first argument of
    a command that takes an agent (`!mute claude`)."""
    if ctx.roster.get(message.sender) is not None:
        return Ignore("commands from bots are not run")
    name = command.group(1).lower()
    name = COMMAND_ALIASES.get(name, name)
    args = command.group(2).strip()
    named = set(lead_named) | explicitly_addressed(message, ctx.roster)
    if name in TARGETED_COMMANDS and args:
        target = ctx.roster.named_by(args.split(maxsplit=1)[0].rstrip(",:"))
        if target is not None:
            named.add(target.user_id)
    broadcast = lead_broadcast or (message.mentions is not None and message.mentions.room)
    is_named = ctx.me.user_id in named
    if name in TASK_COMMANDS or (name in TASK_OR_REQUEST_COMMANDS and is_task_reference(args)):
        # A task's: the coordinator's alone, whoever is named (the executor knows no tasks).
        if not ctx.is_coordinator:
            return Ignore("command for a task")
        if name == "task" and TASK_NUMBER.fullmatch(args):
            # `!task 12` only reads: it is `!tasks 12`, under the rule that guards reading.
            return Command("tasks", args)
        return Command(name, args)
    if ctx.is_coordinator and replies_with_verdict(name, args, message):
        # Maybe a reply to a task's plan: the coordinator looks the plan up, and says nothing
        # when it is not one and the message replied to was not its own (it may be the
        # executor's prompt: the executor answers that one, and is silent on a plan).
        others = named - {ctx.me.user_id}
        if message.reply_to_sender in (None, ctx.me.user_id) and not others and not broadcast:
            return Command(name, args)
    if name in ctx.others_commands and not is_named:
        return Ignore("command for another bot")
    unaddressed = not named and not broadcast
    owner = ctx.is_coordinator or name in ctx.owned_commands
    if not (is_named or broadcast or (unaddressed and owner)):
        return Ignore("command for another bot")
    return Command(name, args)


def is_task_reference(args: str) -> bool:
    """`12`, `#12`, `12 <reason>`, `12: <reason>`: a task number first, not a request id."""
    return task_reference(args) is not None


def task_reference(args: str) -> tuple[int, str] | None:
    """The task number `args` starts with and the text after it, as people type it: `12`,
    `#12`, `12.`, `12 too risky`, `12: too risky`, `#12 — too risky`, `12, too risky`. None
    when the first word is not a number on its own (`r1a2b3`, `12ab`, `12:ab`: request ids)."""
    lead = _TASK_LEAD.match(args)
    if lead is None:
        return None
    rest = args[lead.end() :]
    after = _TASK_AFTER.match(rest)
    if after is not None:
        rest = rest[after.end() :]
    elif rest and not rest[0].isspace():
        return None
    return int(lead.group(1)), rest.strip()


def replies_with_verdict(name: str, args: str, message: Message) -> bool:
    """A bare `!approve` or `!deny [reason]` sent as a reply to a message (what Element users
    do): it names no task (nor, for `!approve`, anything else), so the message it replies to
    says what it approves or denies."""
    if name not in REPLY_VERDICTS or message.reply_to is None:
        return False
    return not args.strip() if name == "approve" else task_reference(args) is None


def leading_address(text: str, roster: Roster) -> tuple[set[UserID], bool, str]:
    """Split "Executor: !ping" or "everyone !ping" into who was named, whether everyone
    was, and the rest."""
    named: set[UserID] = set()
    broadcast = False
    rest = text.lstrip()
    while True:
        for bot in roster.bots:
            match = bot.pattern.match(rest)
            if match:
                named.add(bot.user_id)
                break
        else:
            match = None
            for pattern in (roster.broadcast_pattern, ROOM_MENTION):
                match = pattern.match(rest) if pattern is not None else None
                if match:
                    broadcast = True
                    break
        if match is None:
            return named, broadcast, rest
        rest = rest[match.end() :].lstrip(" ,:").lstrip()
