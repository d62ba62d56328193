"""Parse shell command lines into a syntax tree, without running or expanding anything.

The command policy has to see every simple command a shell *would* run: the ones in pipes and
lists, in subshells and braces, in `$(...)`, backticks and `<(...)`, in here-documents and in
`if`/`while`/`for`/`case`. This is a careful subset of bash's grammar. Whatever it cannot read
raises `ShellSyntaxError`, so the policy can fail closed instead of guessing; `lenient=True` asks
for a best-effort tree anyway (unclosed quotes and groups are closed at the end of the input) so the
policy can still spot a forbidden command in input it will not allow.

The package: `nodes` (the tree), `cursor` (position, look-ahead, errors), `words` (one word),
`parser` (the grammar), `walk` (every command in a tree), `expansions` (escapes and braces).
"""

from executor.shell.cursor import MAX_NESTING, ShellSyntaxError
from executor.shell.expansions import brace_expand, decode_escapes
from executor.shell.nodes import (
    AndOr,
    Assignment,
    Case,
    CaseArm,
    Command,
    For,
    FunctionDef,
    Group,
    If,
    Loop,
    Part,
    PartKind,
    Pipeline,
    Redirect,
    Script,
    SimpleCommand,
    TestExpr,
    Word,
)
from executor.shell.parser import parse
from executor.shell.walk import iter_commands, iter_simple_commands

__all__ = [
    "MAX_NESTING",
    "AndOr",
    "Assignment",
    "Case",
    "CaseArm",
    "Command",
    "For",
    "FunctionDef",
    "Group",
    "If",
    "Loop",
    "Part",
    "PartKind",
    "Pipeline",
    "Redirect",
    "Script",
    "ShellSyntaxError",
    "SimpleCommand",
    "TestExpr",
    "Word",
    "brace_expand",
    "decode_escapes",
    "iter_commands",
    "iter_simple_commands",
    "parse",
]
