"""A `Command` route → `Run` or `Refuse`: the registry and the access rules, decided purely.

An unknown command and a refused one are outcomes the sender is told about, not failures,
so they are values here: the dispatcher says a `Refuse` as it is and runs a `Run`, and the
texts can be tested as a table without a bot.
"""

from __future__ import annotations

from dataclasses import dataclass

from bots.routing.access import may_run
from bots.routing.commands import CommandSpec, Registry
from bots.routing.router import Command
from bots.settings import AccessSettings


@dataclass(frozen=True)
class Run:
    """The sender may run this command: its declaration and the text after its name."""

    spec: CommandSpec
    args: str


@dataclass(frozen=True)
class Refuse:
    """The command is not run; `text` is said to the sender as it is."""

    text: str


Resolution = Run | Refuse


def resolve(
    route: Command, sender: str, power: int | None, registry: Registry, access: AccessSettings
) -> Resolution:
    """Whether this bot runs `route` for `sender` (whose power level is `power`)."""
    spec = registry.get(route.name)
    if spec is None:
        return Refuse(f"Unknown command !{route.name}. Try !help.")
    decision = may_run(route.name, sender, power, access)
    if not decision.allowed:
        return Refuse(f"Not allowed: {decision.reason}.")
    return Run(spec, route.args)
