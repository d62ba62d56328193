"""`!ping` and `!help`, which every bot answers: help lists only what the sender may run."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import pytest

from bots.context import BotContext
from bots.ids import EventID, RoomID, UserID
from bots.message import Message, Reply
from bots.routing.commands import CommandRequest, CommandSpec, Registry
from bots.routing.shared_commands import make_help, ping
from bots.settings import AccessRule, AccessSettings

ACCESS = AccessSettings(commands={"run": AccessRule(min_power=100)})
BOT = cast(
    BotContext,
    SimpleNamespace(
        account=SimpleNamespace(display_name="Executor"),
        settings=SimpleNamespace(access=ACCESS),
    ),
)


async def _noop(request: CommandRequest) -> list[Reply]:
    return []


def request(power: int) -> CommandRequest:
    message = Message(
        RoomID("!r:hs"), EventID("$ask"), UserID("@master:hs"), "!help", sender_power=power
    )
    return CommandRequest(message, "", BOT)


def registry() -> Registry:
    commands = Registry(
        [
            CommandSpec("ping", "check that it answers", ping),
            CommandSpec("run", "run <a> & <b>", _noop, "<host> -- <command>"),
        ]
    )
    commands.add(make_help(commands))
    return commands


async def test_ping_names_the_bot() -> None:
    [reply] = await ping(request(0))
    assert reply.body == "pong (Executor)"
    assert reply.reply_to == "$ask"


INTRO = "Executor commands (type them with !, / or //; ! works in every Element app):"


@pytest.mark.parametrize(
    ("power", "body", "items"),
    [
        pytest.param(
            0,
            f"{INTRO}\n• !help — list the commands you may run\n• !ping — check that it answers",
            "<li><code>!help</code> — list the commands you may run</li>"
            "<li><code>!ping</code> — check that it answers</li>",
            id="a guest does not see !run",
        ),
        pytest.param(
            100,
            f"{INTRO}\n• !help — list the commands you may run\n• !ping — check that it answers"
            "\n• !run <host> -- <command> — run <a> & <b>",
            "<li><code>!help</code> — list the commands you may run</li>"
            "<li><code>!ping</code> — check that it answers</li>"
            "<li><code>!run &lt;host&gt; -- &lt;command&gt;</code>"
            " — run &lt;a&gt; &amp; &lt;b&gt;</li>",
            id="the master sees it, its usage escaped in HTML",
        ),
    ],
)
async def test_help_lists_what_the_sender_may_run(power: int, body: str, items: str) -> None:
    help_spec = registry().get("help")
    assert help_spec is not None
    [reply] = await help_spec.handler(request(power))
    assert reply.body == body
    assert reply.html == f"<p>{INTRO}</p><ul>{items}</ul>"
