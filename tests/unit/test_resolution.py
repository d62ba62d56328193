"""A command route against the registry and the access rules, as a table: run or refuse."""

from __future__ import annotations

import pytest

from bots.message import Reply
from bots.routing.commands import CommandRequest, CommandSpec, Registry
from bots.routing.resolution import Refuse, Resolution, Run, resolve
from bots.routing.router import Command
from bots.settings import AccessRule, AccessSettings


async def _noop(request: CommandRequest) -> list[Reply]:
    return []


PING = CommandSpec("ping", "check that the bot answers", _noop)
STATUS = CommandSpec("status", "bots online", _noop)
RUN = CommandSpec("run", "run a command on a host", _noop, "<host> -- <command>")
REGISTRY = Registry([PING, STATUS, RUN])
ACCESS = AccessSettings(
    default=AccessRule(),
    commands={
        "status": AccessRule(min_power=50),
        "run": AccessRule(allow=("@master:hs",), deny=("@intern:hs",), min_power=100),
    },
)

CASES: list[tuple[str, Command, str, int | None, Resolution]] = [
    ("a known command anyone may run", Command("ping", ""), "@guest:hs", 0, Run(PING, "")),
    (
        "the arguments travel with the run",
        Command("run", "web1 -- uptime"),
        "@master:hs",
        100,
        Run(RUN, "web1 -- uptime"),
    ),
    (
        "an unknown command points at !help",
        Command("nope", "x"),
        "@master:hs",
        100,
        Refuse("Unknown command !nope. Try !help."),
    ),
    (
        "unknown before refused: a command that is not here is never judged",
        Command("audit", ""),
        "@guest:hs",
        0,
        Refuse("Unknown command !audit. Try !help."),
    ),
    (
        "too little power",
        Command("status", ""),
        "@guest:hs",
        10,
        Refuse("Not allowed: !status needs power level 50 (you have 10)."),
    ),
    (
        "unknown power fails closed",
        Command("status", ""),
        "@mod:hs",
        None,
        Refuse("Not allowed: !status needs power level 50 (yours is unknown)."),
    ),
    (
        "not on the allow list",
        Command("run", "web1 -- ls"),
        "@guest:hs",
        100,
        Refuse("Not allowed: @guest:hs is not allowed to run !run."),
    ),
    (
        "denied by name",
        Command("run", "web1 -- ls"),
        "@intern:hs",
        100,
        Refuse("Not allowed: @intern:hs is denied !run."),
    ),
]


@pytest.mark.parametrize(
    ("route", "sender", "power", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_resolve(route: Command, sender: str, power: int | None, expected: Resolution) -> None:
    assert resolve(route, sender, power, REGISTRY, ACCESS) == expected
