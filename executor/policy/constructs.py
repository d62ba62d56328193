"""Bash constructs the policy does not fully model: each is never read-only, with its reason.

Commands run under `bash --noprofile --norc -c`, and the policy reads them as bash does. Some
of bash's constructs still do more than the walker follows (they evaluate values as code, read
input, change how later lines are read, or keep running in the background); rather than guess,
a command that uses one is judged "not read-only", and those that can hide code need approval.
`UNMODELLED` is the whole list, so the README and the tests can name every entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from executor.shell import AndOr, Command, For, FunctionDef, Group, SimpleCommand, TestExpr, Word

UNMODELLED: dict[str, str] = {
    # ---- in words
    "prompt-expansion": "expands a value as a prompt (`${x@P}`), which runs substitutions in it",
    "indirect-expansion": (
        "uses indirect expansion (`${!x}`), which evaluates a subscript held in $x as code"
    ),
    "locale-string": 'uses a `$"…"` string, which bash translates through a message catalog',
    "ansi-c-quote": (
        "has `\\'` inside a `$'…'` string: only bash reads it as a quote, another shell would "
        "end the string there and run what follows"
    ),
    "file-substitution": "reads a file into the command line (`$(<file)`)",
    "process-substitution": (
        "uses process substitution (`<(…)`/`>(…)`), which runs commands in the background"
    ),
    "here-string": "feeds a here-string (`<<<`), which bash may write to a temporary file",
    "fd-variable": "opens a file descriptor into a variable (`{fd}>…`)",
    # ---- compound commands
    "coproc": "starts a coprocess (`coproc`), which keeps running wired to the shell",
    "select": "uses `select`, which reads its choice from standard input and loops",
    "arith-command": (
        "evaluates `(( … ))` as arithmetic, where bash runs code hidden in subscripts "
        "(and a POSIX sh would run it as commands)"
    ),
    "test-v": "tests `[[ -v name[…] ]]`, whose subscript bash evaluates as arithmetic",
    "function": "defines a shell function, and the policy does not follow later calls into it",
    # ---- builtins that change the shell itself
    "shopt": "changes shell options, which change how the rest of the command is read",
    "set": "changes shell options or prints every variable",
    "enable": "enables, disables or loads shell builtins",
    "alias": "defines aliases, whose code runs wherever the alias is used",
    "unalias": "changes aliases",
    "hash": "changes which program a command name runs (`hash`)",
    "trap": "sets a trap, whose code runs later (on a signal, an error or before each command)",
    "declare": "declares variables with attributes (exported, name references, integers)",
    "export": "exports variables into the environment of every later command",
    "readonly": "makes variables read-only",
    "local": "declares local variables",
    "read": "reads input into variables, which later expansions may evaluate",
    "mapfile": "reads input into an array (and with -C runs a callback)",
    "getopts": "parses options into variables",
    "let": "evaluates arithmetic, which runs code hidden in subscripts",
    "exec": "replaces the shell or changes its open files for every later command",
    "compgen": "runs completion functions and commands (`-C`/`-F`)",
    "complete": "registers completion commands",
    "bind": "binds keys to shell commands",
    "fc": "re-runs commands from the history or opens an editor",
    "ulimit": "changes resource limits",
    "umask": "changes the file creation mask",
    "source": "runs a file of shell code",
}
"""Every bash construct the walker does not fully model, with why it is never read-only."""

BUILTIN_KEYS: dict[str, str] = {
    "shopt": "shopt",
    "set": "set",
    "enable": "enable",
    "alias": "alias",
    "unalias": "unalias",
    "hash": "hash",
    "trap": "trap",
    "declare": "declare",
    "typeset": "declare",
    "export": "export",
    "readonly": "readonly",
    "local": "local",
    "read": "read",
    "mapfile": "mapfile",
    "readarray": "mapfile",
    "getopts": "getopts",
    "let": "let",
    "compgen": "compgen",
    "complete": "complete",
    "compopt": "complete",
    "bind": "bind",
    "fc": "fc",
    "ulimit": "ulimit",
    "umask": "umask",
    "source": "source",
    ".": "source",
}
"""Builtins that change the shell itself, by name: never read-only whatever a list says."""

CODE_OPTIONS: dict[str, tuple[str, ...]] = {
    "enable": ("-f",),
    "mapfile": ("-C",),
    "readarray": ("-C",),
    "compgen": ("-C", "-F"),
    "complete": ("-C", "-F"),
    "bind": ("-x",),
    "hash": ("-p",),
}
"""Builtin options that load or run code: they need a person, not only "not read-only"."""


ANSI_C_ESCAPED_QUOTE = re.compile(r"\$'(?:[^'\\]|\\[^'])*\\'")
"""A `$'…'` string holding `\'`: where bash and a POSIX sh split the line differently."""


class Finding(NamedTuple):
    """One unmodelled construct: its key in UNMODELLED and whether it can hide code."""

    key: str
    hides_code: bool = False


def word_findings(word: Word) -> Iterator[Finding]:
    """The unmodelled constructs inside `word` (not inside its substitutions' scripts, which
    the walker visits as commands of their own)."""
    if re.search(r'(?<!\\)\$"', word.raw):
        yield Finding("locale-string")
    if ANSI_C_ESCAPED_QUOTE.search(word.raw):
        yield Finding("ansi-c-quote", hides_code=True)
    for part in word.parts:
        if part.kind == "param":
            if part.op == "indirect":
                yield Finding("indirect-expansion", hides_code=True)
            elif part.op == "@" and part.arg is not None and part.arg.literal == "P":
                yield Finding("prompt-expansion", hides_code=True)
        elif part.kind == "procsub":
            yield Finding("process-substitution")
        elif part.kind == "cmdsub" and part.script is not None and _reads_file(part.script.items):
            yield Finding("file-substitution")
        if part.arg is not None:
            yield from word_findings(part.arg)


def _reads_file(items: tuple[AndOr, ...]) -> bool:
    """`$(<file)`: a substitution that is one command with no words, only `<` redirects."""
    if len(items) != 1:
        return False
    pipelines = items[0].pipelines
    if len(pipelines) != 1 or len(pipelines[0].commands) != 1:
        return False
    command = pipelines[0].commands[0]
    return (
        isinstance(command, SimpleCommand)
        and not command.words
        and not command.assignments
        and any(r.op == "<" for r in command.redirects)
    )


def simple_findings(command: SimpleCommand) -> Iterator[Finding]:
    """The unmodelled constructs of one simple command's words, assignments and redirects."""
    words = list(command.words)
    for assignment in command.assignments:
        words.extend([assignment.value] if assignment.value is not None else [])
        words.extend(assignment.items)
    for redirect in command.redirects:
        words.append(redirect.target)
        if redirect.op == "<<<":
            yield Finding("here-string")
        if redirect.fd.startswith("{"):
            yield Finding("fd-variable")
    for word in words:
        yield from word_findings(word)


def compound_findings(command: Command) -> Iterator[Finding]:
    """The unmodelled constructs a compound command is itself (not its body's)."""
    if isinstance(command, Group) and command.coproc:
        yield Finding("coproc")
    elif isinstance(command, For) and command.select:
        yield Finding("select")
    elif isinstance(command, FunctionDef):
        yield Finding("function")
    elif isinstance(command, TestExpr):
        if command.arith:
            yield Finding("arith-command", hides_code=_has_letters(command.words))
            return
        literals = [w.literal for w in command.words]
        for k, literal in enumerate(literals[:-1]):
            following = command.words[k + 1]
            if literal == "-v" and (following.literal is None or "[" in following.raw):
                yield Finding("test-v", hides_code=following.literal is None)


def _has_letters(words: tuple[Word, ...]) -> bool:
    """Arithmetic naming variables (or commands, to a POSIX sh): it can hide code."""
    return any(re.search(r"[A-Za-z_]", w.raw) for w in words)


def builtin_finding(name: str, values: list[str]) -> Finding | None:
    """Whether the builtin `name` with these (static) arguments changes the shell itself."""
    if name == "exec":
        return Finding("exec") if not values else None
    key = BUILTIN_KEYS.get(name)
    if key is None:
        return None
    if name == "set" and not values:
        return Finding("set")
    code = CODE_OPTIONS.get(name, ())
    hides = key in ("alias",) or any(
        v == opt or (v.startswith("-") and not v.startswith("--") and opt[1] in v[1:])
        for v in values
        for opt in code
    )
    return Finding(key, hides_code=hides)


def reason(finding: Finding, name: str = "") -> str:
    """The reason shown to the approver for one unmodelled construct."""
    text = UNMODELLED[finding.key]
    if finding.key == "function" and name:
        return f"defines the shell function {name}(), and later calls of `{name}` run it"
    return text
