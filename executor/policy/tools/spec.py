"""The model of a tool's command line: its options (read-only or not), operands, subcommands.

Frozen values built by the loader from package data; the parser only reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

Style: TypeAlias = Literal["gnu", "posix", "none", "iproute2", "find"]
"""How a tool parses options: `gnu` = getopt_long (clusters, attached values, long options
and their unique prefixes, options after operands), `posix` = options end at the first operand,
`none` = every argument is an operand, `iproute2` = single-dash words resolved first-prefix in
the listed order, options end at the first operand, `find` = find's leading options, start
paths, then an expression whose primaries are the options."""
STYLES: tuple[str, ...] = ("gnu", "posix", "none", "iproute2", "find")

OptKind: TypeAlias = Literal["flag", "value", "optional", "file", "recursive", "choice", "refuse"]
"""`flag` takes no value; `value` takes one (attached or the next word); `optional` takes one
only attached (`--color=always`, `-l5`); `file` takes a file the tool reads (secret-checked);
`recursive` is a flag that makes file operands directories searched recursively; `choice` takes
a value limited to `choices`; `refuse` is an option that is not read-only (`reason` says why)."""

Operands: TypeAlias = Literal["files", "paths", "text", "none"]
"""`files`: read (their contents can show up: secret-checked); `paths`: only looked at (names,
sizes, hashes; not secret-checked); `text`: not files at all; `none`: the tool takes none."""
OPERANDS: tuple[str, ...] = ("files", "paths", "text", "none")

Resolve: TypeAlias = Literal["exact", "unique-prefix", "first-prefix"]
"""How a tool finds a subcommand from the word typed: the exact name, any unique prefix
(`ip`-style tools that check for ambiguity), or the first in the tool's order that starts with
the word (iproute2's `matches()`)."""
RESOLVES: tuple[str, ...] = ("exact", "unique-prefix", "first-prefix")


@dataclass(frozen=True)
class Opt:
    """One option of a tool, under all its names (`-o`, `--output`)."""

    names: tuple[str, ...]
    kind: OptKind
    choices: frozenset[str] = frozenset()
    reason: str = ""

    @property
    def takes_value(self) -> bool:
        """Whether the next word is this option's value when none is attached."""
        return self.kind in ("value", "file", "choice")

    @property
    def read_only(self) -> bool:
        return self.kind != "refuse"


@dataclass(frozen=True)
class Verb:
    """A subcommand under its names: a nested spec when it is read-only, else why not."""

    names: tuple[str, ...]
    spec: ToolSpec | None
    reason: str = ""


@dataclass(frozen=True)
class Subcommands:
    """A tool's subcommands in the tool's own order, and how the verb word is resolved."""

    resolve: Resolve
    verbs: tuple[Verb, ...]
    shared_options: bool = False
    """The tool's own options are also valid after the verb (systemctl); else the verb's spec
    alone parses what follows it (git, ip)."""
    required: bool = False
    """Whether a verb must be given (else the tool's default action is read-only)."""


@dataclass(frozen=True)
class ToolSpec:
    """Everything the parser needs to judge one tool's argv."""

    name: str
    style: Style = "gnu"
    complete: bool = False
    """The options listed are ALL the tool's options: unique prefixes of long ones resolve."""
    options: tuple[Opt, ...] = ()
    operands: Operands = "files"
    max_operands: int | None = None
    operand_pattern: str | None = None
    numbers: bool = False
    """`-NUM` is an option (head -5, tail -20)."""
    attached: bool = True
    """Short options take attached values (`-k2`); without, each value option in a cluster
    takes the next word in turn (tree: `-Lo 2 FILE` is `-L 2 -o FILE`)."""
    pattern_options: frozenset[str] | None = None
    """Set when the first operand is a pattern, not a file, unless one of these options gave
    the pattern (grep PATTERN FILE, but grep -e PATTERN FILE)."""
    refuse_operands: tuple[tuple[str, str], ...] = ()
    """Operand words that are not read-only, and why (`test -v NAME`, `getent shadow`)."""
    subcommands: Subcommands | None = None
    index: dict[str, Opt] = field(default_factory=dict, compare=False, repr=False)
    """Every name of every option, to its option (filled by the loader)."""

    def opt(self, name: str) -> Opt | None:
        """The option with exactly this name."""
        return self.index.get(name)
