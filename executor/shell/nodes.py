"""The syntax tree of a shell command line: words and their parts, commands, lists.

Frozen values only, no parsing here: the parser builds them; the policy and the progress
reports walk them, and need nothing else of the parser.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, TypeAlias

PartKind: TypeAlias = Literal["lit", "param", "cmdsub", "arith", "procsub", "tilde"]
GLOB_CHARS = re.compile(r"[*?\[]")
"""Characters that make an unquoted word a glob pattern."""


@dataclass(frozen=True)
class Part:
    """One piece of a word: literal text, or an expansion the shell only performs at run time.

    `text` is the literal text (``lit``), the parameter name (``param``), the user name
    (``tilde``) or the raw source (the others). `op` is the parameter operator (``":-"``,
    ``"#"``, ``"length"``, ``"indirect"`` ...) or the direction of a process substitution.
    """

    kind: PartKind
    text: str
    quoted: bool = False
    op: str = ""
    script: Script | None = None
    arg: Word | None = None


@dataclass(frozen=True)
class Word:
    """A shell word as written (`raw`) and as parts, before any expansion."""

    parts: tuple[Part, ...]
    raw: str

    @property
    def literal(self) -> str | None:
        """The word after quote removal, or None if it contains any expansion."""
        if all(p.kind == "lit" for p in self.parts):
            return "".join(p.text for p in self.parts)
        return None

    @property
    def unquoted_literal(self) -> bool:
        """True for plain words like `ls` or `/etc/*`: no quotes, escapes or expansions."""
        return all(p.kind == "lit" and not p.quoted for p in self.parts)

    @property
    def has_glob(self) -> bool:
        """Whether unquoted glob characters make the shell expand this word into file names."""
        return any(
            p.kind == "lit" and not p.quoted and GLOB_CHARS.search(p.text) for p in self.parts
        )

    def scripts(self) -> Iterator[Script]:
        """Every command or process substitution inside this word, outermost first."""
        for part in self.parts:
            if part.script is not None:
                yield part.script
            if part.arg is not None:
                yield from part.arg.scripts()


@dataclass(frozen=True)
class Redirect:
    """`fd op target`, e.g. ``2>&1``, ``>/dev/null``, ``<<EOF`` (with its body in `heredoc`)."""

    op: str
    target: Word
    fd: str = ""
    heredoc: Word | None = None


@dataclass(frozen=True)
class Assignment:
    """``NAME=value`` or ``NAME=(items...)`` (then `value` is None)."""

    name: str
    value: Word | None
    items: tuple[Word, ...] = ()
    append: bool = False
    raw: str = ""


@dataclass(frozen=True)
class SimpleCommand:
    """Assignments, words and redirections: one program (or builtin) the shell runs."""

    words: tuple[Word, ...]
    assignments: tuple[Assignment, ...] = ()
    redirects: tuple[Redirect, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class Group:
    """``( list )`` (a subshell) or ``{ list; }``; `coproc` marks ``coproc [NAME] command``,
    which bash runs as a subshell in the background, wired to the caller by two pipes."""

    body: Script
    subshell: bool
    redirects: tuple[Redirect, ...] = ()
    text: str = ""
    coproc: bool = False


@dataclass(frozen=True)
class FunctionDef:
    """``name() compound`` or ``function name compound``."""

    name: str
    body: Command
    text: str = ""


@dataclass(frozen=True)
class If:
    """``if c; then b; elif c; then b; else b; fi``."""

    clauses: tuple[tuple[Script, Script], ...]
    orelse: Script | None = None
    redirects: tuple[Redirect, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class Loop:
    """``while c; do b; done`` or, with `until`, ``until c; do b; done``."""

    condition: Script
    body: Script
    until: bool = False
    redirects: tuple[Redirect, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class For:
    """``for var in items; do b; done``; `items` None means ``"$@"``; `header` for ``((;;))``;
    `select` marks ``select var in items``, which reads the choice from standard input."""

    var: str
    items: tuple[Word, ...] | None
    body: Script
    header: Word | None = None
    redirects: tuple[Redirect, ...] = ()
    text: str = ""
    select: bool = False


@dataclass(frozen=True)
class CaseArm:
    """``pattern | pattern) body ;;``."""

    patterns: tuple[Word, ...]
    body: Script


@dataclass(frozen=True)
class Case:
    """``case word in arms esac``."""

    word: Word
    arms: tuple[CaseArm, ...]
    redirects: tuple[Redirect, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class TestExpr:
    """``[[ ... ]]`` or, with `arith`, ``(( ... ))``: evaluated by the shell, no program runs."""

    words: tuple[Word, ...]
    arith: bool = False
    redirects: tuple[Redirect, ...] = ()
    text: str = ""


Command: TypeAlias = SimpleCommand | Group | FunctionDef | If | Loop | For | Case | TestExpr


@dataclass(frozen=True)
class Pipeline:
    """``[!] cmd | cmd | ...``."""

    commands: tuple[Command, ...]
    negated: bool = False
    text: str = ""


@dataclass(frozen=True)
class AndOr:
    """``pipeline && pipeline || pipeline``, possibly run in the background with ``&``."""

    first: Pipeline
    rest: tuple[tuple[str, Pipeline], ...] = ()
    background: bool = False
    text: str = ""

    @property
    def pipelines(self) -> tuple[Pipeline, ...]:
        """All pipelines in order, without the operators."""
        return (self.first, *(p for _, p in self.rest))


@dataclass(frozen=True)
class Script:
    """A list of and-or lists, separated by ``;``, ``&`` or newlines."""

    items: tuple[AndOr, ...]
    text: str = ""
