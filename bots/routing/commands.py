"""Room commands, declared once: name, arguments, one-line help and handler live together.

Help is generated from these declarations and filtered by the same access rules that
guard the commands, so it never lists what the sender may not run. Who may run a command
is its access rule, found by its name (`bots.routing.access.rule_for`): the built-in rules
sit with the settings (`DEFAULT_COMMAND_RULES`) because the config file overrides them key
by key while it is read, before any bot has declared its commands.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from bots.context import BotContext
from bots.message import Message, Reply
from bots.routing.access import may_run
from bots.settings import AccessSettings


@dataclass(frozen=True)
class CommandRequest:
    message: Message
    args: str
    bot: BotContext


Handler = Callable[[CommandRequest], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class CommandSpec:
    """One command: typed as `!name`, with `usage` naming its arguments for `!help`."""

    name: str
    summary: str
    handler: Handler
    usage: str = ""

    @property
    def synopsis(self) -> str:
        return f"!{self.name} {self.usage}".rstrip()


class Registry:
    """One bot's commands by name; a name declared twice is a programming error."""

    def __init__(self, specs: Iterable[CommandSpec] = ()) -> None:
        self._specs: dict[str, CommandSpec] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: CommandSpec) -> None:
        if spec.name in self._specs:
            raise ValueError(f"command !{spec.name} declared twice")
        self._specs[spec.name] = spec

    def get(self, name: str) -> CommandSpec | None:
        return self._specs.get(name)

    def visible_to(self, sender: str, power: int, access: AccessSettings) -> list[CommandSpec]:
        return [
            spec
            for spec in sorted(self._specs.values(), key=lambda s: s.name)
            if may_run(spec.name, sender, power, access).allowed
        ]
