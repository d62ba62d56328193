"""Walking a syntax tree: every command a script holds, however deeply nested.

Kept apart from the parser so callers that only inspect commands (progress reporting, the
policy's fork-bomb checks) need nothing but the tree.
"""

from __future__ import annotations

from collections.abc import Iterator

from executor.shell.nodes import (
    Case,
    Command,
    For,
    FunctionDef,
    Group,
    If,
    Loop,
    Script,
    SimpleCommand,
    Word,
)


def iter_commands(script: Script) -> Iterator[Command]:
    """Every command in `script`, depth first, including those inside words and bodies."""
    for item in script.items:
        for pipeline in item.pipelines:
            for command in pipeline.commands:
                yield from _iter_command(command)


def iter_simple_commands(script: Script) -> Iterator[SimpleCommand]:
    """Every simple command the script contains anywhere, in source order."""
    for command in iter_commands(script):
        if isinstance(command, SimpleCommand):
            yield command


def _iter_command(command: Command) -> Iterator[Command]:
    yield command
    words: list[Word] = []
    bodies: list[Script] = []
    if isinstance(command, SimpleCommand):
        words.extend(command.words)
        for a in command.assignments:
            words.extend([a.value] if a.value is not None else [])
            words.extend(a.items)
    elif isinstance(command, Group):
        bodies.append(command.body)
    elif isinstance(command, FunctionDef):
        yield from _iter_command(command.body)
    elif isinstance(command, If):
        for cond, body in command.clauses:
            bodies.extend((cond, body))
        if command.orelse is not None:
            bodies.append(command.orelse)
    elif isinstance(command, Loop):
        bodies.extend((command.condition, command.body))
    elif isinstance(command, For):
        words.extend(command.items or ())
        if command.header is not None:
            words.append(command.header)
        bodies.append(command.body)
    elif isinstance(command, Case):
        words.append(command.word)
        for arm in command.arms:
            words.extend(arm.patterns)
            bodies.append(arm.body)
    else:
        words.extend(command.words)
    if not isinstance(command, FunctionDef):
        for redirect in command.redirects:
            words.append(redirect.target)
            if redirect.heredoc is not None:
                words.append(redirect.heredoc)
    for word in words:
        for sub in word.scripts():
            yield from iter_commands(sub)
    for body in bodies:
        yield from iter_commands(body)
