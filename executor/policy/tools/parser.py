"""Walking one argv against a tool spec the way the tool parses it, to see what it would do.

One pass over the arguments (linear): every option must be known and read-only, the verb
(resolved like the tool resolves abbreviations) read-only, and the operands are collected for
the caller's secret check. The first problem stops the walk: that command is not read-only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase

from executor.policy.tools.spec import Operands, Opt, Subcommands, ToolSpec, Verb
from executor.policy.values import Arg

_NUMBER = re.compile(r"-[0-9]+")
_FIND_OPERATORS = frozenset(("(", ")", "!", ",", "-not", "-a", "-and", "-o", "-or"))


@dataclass(frozen=True)
class Reading:
    """What the walk found: a problem (not read-only), or the files the command would read."""

    problem: str | None = None
    operands: tuple[Arg, ...] = ()
    """Operands that are files or paths (see `kind`)."""
    kind: Operands = "files"
    files: tuple[Arg, ...] = ()
    """Values of options that name files the tool reads (`grep -f FILE`)."""
    recursive: bool = False
    verbs: tuple[str, ...] = ()
    """The subcommands resolved, in full (`ip r` → ("route",))."""
    options: tuple[str, ...] = ()
    """The options used, each by its first name in the spec (`-lu x` → ("-l", "-u"))."""


def read_argv(spec: ToolSpec, args: Sequence[Arg]) -> Reading:
    """Judge `args` (the words after the tool's name) against `spec`."""
    return _Walk(spec).run(tuple(args))


def could_be_option(a: Arg) -> bool:
    """Whether an argument may start with `-`: a run-time one whose text does not start
    literally, or a glob that may match a file named `-o…` (`sort *` with a file `-o x`)."""
    if a.glob and not a.dynamic and a.value[:1] in ("*", "?", "["):
        return True
    if not a.dynamic:
        return a.value.startswith("-") and a.value != "-"
    head = a.raw.lstrip("\"'")
    return not head or head[0] in "-$`\\{*?[!@"


class _Problem(Exception):
    """The walk stops: the command is not read-only, for this reason."""


class _Walk:
    def __init__(self, spec: ToolSpec) -> None:
        self.tool = spec
        self.spec = spec
        self.tables: tuple[ToolSpec, ...] = (spec,)
        self.subs: Subcommands | None = spec.subcommands
        self.operands: list[Arg] = []
        self.files: list[Arg] = []
        self.recursive = False
        self.verbs: list[str] = []
        self.used: list[str] = []

    def run(self, args: tuple[Arg, ...]) -> Reading:
        try:
            self.walk(args)
            self.check_operands()
        except _Problem as exc:
            return Reading(problem=str(exc), verbs=tuple(self.verbs))
        keep = self.spec.operands in ("files", "paths")
        operands = self.operands
        given = self.spec.pattern_options
        if given is not None and not given.intersection(self.used):
            operands = operands[1:]
        return Reading(
            None,
            tuple(operands) if keep else (),
            self.spec.operands,
            tuple(self.files),
            self.recursive,
            tuple(self.verbs),
            tuple(self.used),
        )

    # ---- the walk, by style

    def walk(self, args: tuple[Arg, ...]) -> None:
        style = self.spec.style
        if style == "none":
            for k in range(len(args)):
                if self.operand(args, k):
                    return
            self.need_verb()
            return
        if style == "find":
            self.find(args)
            return
        i, done = 0, False
        while i < len(args):
            a = args[i]
            if done or not could_be_option(a):
                was_verb = self.subs is not None
                if self.operand(args, i):
                    return
                done = done or (style != "gnu" and not was_verb)
                i += 1
                continue
            if a.dynamic:
                raise _Problem(
                    f"has an argument only known at run time ({a.raw}), which could be an option"
                )
            if a.glob and not a.value.startswith("-"):
                raise _Problem(
                    f"has a glob ({_short(a.raw)}) that may match a file named like an option; "
                    "write it as ./… to be read-only"
                )
            v = a.value
            if v == "--":  # ip.c ends its options at `--` too
                done = True
                i += 1
            elif self.spec.numbers and _NUMBER.fullmatch(v):
                i += 1
            elif style == "iproute2":
                i = self.keyword_option(args, i)
            elif v.startswith("--"):
                i = self.long_option(args, i)
            else:
                i = self.short_options(args, i)
        self.need_verb()

    def need_verb(self) -> None:
        if self.subs is not None and self.subs.required:
            raise _Problem(f"names no subcommand of {self.spec.name}")

    def operand(self, args: tuple[Arg, ...], i: int) -> bool:
        """Take an operand; True when a verb's own spec has judged the rest of `args`."""
        a = args[i]
        if self.subs is None:
            self.operands.append(a)
            return False
        verb = self.verb(self.subs, a)
        self.verbs.append(verb.names[0])
        assert verb.spec is not None
        shared = self.subs.shared_options
        self.spec = verb.spec
        self.subs = verb.spec.subcommands
        if shared:
            self.tables = (*self.tables, verb.spec)
            return False
        self.tables = (verb.spec,)
        self.walk(args[i + 1 :])
        return True

    def verb(self, subs: Subcommands, a: Arg) -> Verb:
        name = self.spec.name
        if a.dynamic or a.glob:
            raise _Problem(f"has a subcommand of {name} only known at run time ({a.raw})")
        word = a.value
        found = resolve_verb(subs, word)
        if isinstance(found, str):
            raise _Problem(found.format(word=word, tool=name))
        if found.spec is None:
            full = found.names[0]
            named = f"`{word}`" if word in found.names else f"`{word}` (`{full}`)"
            raise _Problem(f"uses {named}, which {found.reason}")
        return found

    # ---- options

    def lookup(self, name: str) -> Opt | None:
        for table in reversed(self.tables):
            opt = table.opt(name)
            if opt is not None:
                return opt
        return None

    def long_option(self, args: tuple[Arg, ...], i: int) -> int:
        v = args[i].value
        name, eq, value = v.partition("=")
        opt = self.refused(self.lookup(name) or self.long_prefix(name, v), f"`{_short(v)}`")
        if eq:
            if opt.kind in ("flag", "recursive"):
                raise _Problem(f"gives a value to `{name}`, which takes none")
            self.value(opt, replace(args[i], value=value, raw=value), v)
            return i + 1
        if opt.takes_value:
            return self.next_value(opt, args, i)
        self.recursive = self.recursive or opt.kind == "recursive"
        return i + 1

    def long_prefix(self, name: str, word: str) -> Opt:
        """Resolve an abbreviated long option the way getopt_long does, or fail honestly."""
        unknown = (
            f"uses `{_short(word)}`, an option Chavion does not know to be read-only "
            f"for {self.spec.name}"
        )
        if not all(t.complete for t in self.tables):
            raise _Problem(unknown)
        found: dict[int, tuple[Opt, str]] = {}
        for table in self.tables:
            for opt in table.options:
                for n in opt.names:
                    if n.startswith("--") and n.startswith(name):
                        found.setdefault(id(opt), (opt, n))
        if not found:
            raise _Problem(unknown)
        if len(found) > 1:
            names = ", ".join(sorted(n for _, n in found.values()))
            raise _Problem(
                f"uses `{_short(word)}`, an abbreviation {self.spec.name} finds ambiguous ({names})"
            )
        ((opt, full),) = found.values()
        if not opt.read_only:
            raise _Problem(f"uses `{_short(word)}` (`{full}`), which {opt.reason}")
        return opt

    def short_options(self, args: tuple[Arg, ...], i: int) -> int:
        v = args[i].value
        if not self.spec.attached:
            return self.separate_values(args, i)
        for j in range(1, len(v)):
            flag = "-" + v[j]
            shown = f"`{flag}`" if len(v) == 2 else f"`{flag}` in `{_short(v)}`"
            opt = self.refused(self.lookup(flag), shown)
            rest = v[j + 1 :]
            if opt.kind == "optional":
                if rest:
                    self.value(opt, replace(args[i], value=rest, raw=rest), v)
                return i + 1
            if opt.takes_value:
                if rest:
                    self.value(opt, replace(args[i], value=rest, raw=rest), v)
                    return i + 1
                return self.next_value(opt, args, i)
            self.recursive = self.recursive or opt.kind == "recursive"
        return i + 1

    def separate_values(self, args: tuple[Arg, ...], i: int) -> int:
        """A cluster whose value options each take the next word in turn (tree)."""
        v = args[i].value
        nxt = i + 1
        for j in range(1, len(v)):
            flag = "-" + v[j]
            shown = f"`{flag}`" if len(v) == 2 else f"`{flag}` in `{_short(v)}`"
            opt = self.refused(self.lookup(flag), shown)
            if opt.takes_value:
                if nxt >= len(args):
                    raise _Problem(f"gives `{flag}` no value")
                self.value(opt, args[nxt], f"{flag} {args[nxt].raw}")
                nxt += 1
            self.recursive = self.recursive or opt.kind == "recursive"
        return nxt

    def keyword_option(self, args: tuple[Arg, ...], i: int) -> int:
        """iproute2: `-word` (or `--word`), the first option in order that it starts."""
        v = args[i].value
        word = v[1:] if v.startswith("--") else v
        opt = next(
            (o for t in self.tables for o in t.options if any(n.startswith(word) for n in o.names)),
            None,
        )
        if opt is None:
            raise _Problem(
                f"uses `{_short(v)}`, an option Chavion does not know to be read-only "
                f"for {self.spec.name}"
            )
        full = next(n for n in opt.names if n.startswith(word))
        self.refused(opt, f"`{v}`" if v == full else f"`{_short(v)}` (`{full}`)")
        if opt.takes_value:
            return self.next_value(opt, args, i)
        return i + 1

    def refused(self, opt: Opt | None, shown: str) -> Opt:
        """`opt` if it is read-only; `shown` is how the command wrote it, quoted."""
        if opt is None:
            raise _Problem(
                f"uses {shown}, an option Chavion does not know to be read-only "
                f"for {self.spec.name}"
            )
        if not opt.read_only:
            raise _Problem(f"uses {shown}, which {opt.reason}")
        self.used.append(opt.names[0])
        return opt

    def next_value(self, opt: Opt, args: tuple[Arg, ...], i: int) -> int:
        if i + 1 >= len(args):
            raise _Problem(f"gives `{args[i].value}` no value")
        self.value(opt, args[i + 1], f"{args[i].value} {args[i + 1].raw}")
        return i + 2

    def value(self, opt: Opt, a: Arg, shown: str) -> None:
        if opt.kind == "file":
            self.files.append(a)
        elif opt.kind == "choice" and (a.dynamic or a.value not in opt.choices):
            raise _Problem(
                f"uses `{_short(shown)}`, a value Chavion does not know to be read-only "
                f"for {self.spec.name}"
            )

    # ---- find

    def find(self, args: tuple[Arg, ...]) -> None:
        i = 0
        while i < len(args) and not args[i].dynamic and args[i].value in ("-H", "-L", "-P"):
            i += 1
        while i < len(args) and not args[i].dynamic and args[i].value.startswith(("-D", "-O")):
            i += 2 if args[i].value == "-D" else 1
        while i < len(args) and not could_be_option(args[i]) and args[i].value not in "()!,":
            self.operands.append(args[i])
            i += 1
        while i < len(args):
            a = args[i]
            if a.dynamic:
                raise _Problem(f"has a find expression only known at run time ({a.raw})")
            if a.value in _FIND_OPERATORS:
                i += 1
                continue
            opt = self.refused(self.spec.opt(a.value), f"`{_short(a.value)}`")
            if opt.takes_value or opt.kind == "optional":
                if i + 1 >= len(args):
                    raise _Problem(f"gives `{a.value}` no value")
                self.value(opt, args[i + 1], f"{a.value} {args[i + 1].raw}")
                i += 2
            else:
                i += 1

    # ---- operands

    def check_operands(self) -> None:
        spec = self.spec
        ops = self.operands
        if spec.operands == "none" and ops:
            raise _Problem(
                f"uses the operand `{_short(ops[0].raw)}`, which {spec.name} only "
                "takes when it does more than read"
            )
        if spec.max_operands is not None and len(ops) > spec.max_operands:
            raise _Problem(
                f"has {len(ops)} operands; with more than {spec.max_operands}, {spec.name} "
                "does more than read"
            )
        refused = dict(spec.refuse_operands)
        for a in ops if refused else ():
            if a.dynamic or a.glob:
                raise _Problem(f"has an operand only known at run time ({_short(a.raw)})")
            if a.value in refused:
                raise _Problem(f"uses `{_short(a.value)}`, which {refused[a.value]}")
        if spec.operand_pattern is not None:
            for a in ops:
                if a.dynamic or a.glob or not fnmatchcase(a.value, spec.operand_pattern):
                    raise _Problem(
                        f"uses the operand `{_short(a.raw)}`, which Chavion does not know to be "
                        f"read-only for {spec.name}"
                    )


def resolve_verb(subs: Subcommands, word: str) -> Verb | str:
    """The verb `word` names under `subs`' resolution, or why none ({word}, {tool} left open)."""
    unknown = "uses the subcommand `{word}`, which Chavion does not know to be read-only for {tool}"
    if not word:
        return unknown
    for verb in subs.verbs:
        if word in verb.names and subs.resolve != "first-prefix":
            return verb
    if subs.resolve == "exact":
        return unknown
    hits = [v for v in subs.verbs if any(n.startswith(word) for n in v.names)]
    if not hits:
        return unknown
    if subs.resolve == "unique-prefix" and len(hits) > 1:
        names = ", ".join(v.names[0] for v in hits)
        return "uses `{word}`, an abbreviation {tool} finds ambiguous (" + names + ")"
    return hits[0]


def _short(text: str, limit: int = 40) -> str:
    text = text.replace("`", "'")
    return text if len(text) <= limit else text[: limit - 1] + "…"
