"""Fork bombs in shell structure: a function that pipes into itself, an endless spawning loop.

Read from the syntax tree alone, before any expansion.
"""

from __future__ import annotations

from collections.abc import Iterator

from executor.shell import (
    AndOr,
    Case,
    Command,
    For,
    FunctionDef,
    Group,
    If,
    Loop,
    Script,
    SimpleCommand,
)


def iter_and_ors(command: Command) -> Iterator[AndOr]:
    """Every and-or list inside a compound command, depth first."""
    bodies: list[Script] = []
    if isinstance(command, Group):
        bodies.append(command.body)
    elif isinstance(command, If):
        for cond, body in command.clauses:
            bodies.extend((cond, body))
        if command.orelse is not None:
            bodies.append(command.orelse)
    elif isinstance(command, Loop):
        bodies.extend((command.condition, command.body))
    elif isinstance(command, (For,)):
        bodies.append(command.body)
    elif isinstance(command, Case):
        bodies.extend(arm.body for arm in command.arms)
    for body in bodies:
        for item in body.items:
            yield item
            for pipeline in item.pipelines:
                for inner in pipeline.commands:
                    yield from iter_and_ors(inner)


def is_fork_bomb_function(fd: FunctionDef) -> bool:
    """`f(){ f|f& };f`: a function that calls itself in a pipe or background."""
    for item in iter_and_ors(fd.body):
        for pipeline in item.pipelines:
            calls = [
                c
                for c in pipeline.commands
                if isinstance(c, SimpleCommand) and c.words and c.words[0].literal == fd.name
            ]
            if calls and (len(pipeline.commands) > 1 or item.background):
                return True
    return False


def is_spawn_loop(condition: Script | None, body: Script, until: bool) -> bool:
    """An endless loop that starts background processes and never waits or sleeps."""
    if condition is not None:
        forever = ("false",) if until else ("true", ":")
        items = condition.items
        if len(items) != 1 or items[0].rest or len(items[0].first.commands) != 1:
            return False
        only = items[0].first.commands[0]
        if not (
            isinstance(only, SimpleCommand)
            and len(only.words) >= 1
            and only.words[0].literal in forever
        ):
            return False
    background = False
    for item in body.items:
        if item.background:
            background = True
            continue
        for pipeline in item.pipelines:
            for c in pipeline.commands:
                if (
                    isinstance(c, SimpleCommand)
                    and c.words
                    and c.words[0].literal
                    in (
                        "sleep",
                        "wait",
                        "read",
                    )
                ):
                    return False
    return background
