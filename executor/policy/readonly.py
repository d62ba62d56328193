"""Whether a command only reads, by allowlist: listed, and every option, subcommand and file
it uses known to be read-only for that tool.

The user's list (`readonly.yaml`) says which commands may be auto-approved; the tool specs
(`data/tools/*.yaml`, package data) say what each tool's arguments do. A listed tool without a
spec is read-only only with no options at all. A pure function of the command, its frame, the
configured rules, a path resolver and a secret check.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from fnmatch import fnmatchcase

from executor.policy.knowledge import SECRET_EXAMPLES, TRUSTED_BIN
from executor.policy.model import ReadOnlyRule
from executor.policy.tools import Reading, read_tool
from executor.policy.tools.parser import could_be_option
from executor.policy.values import Arg, Frame, frame_problem, literal_arg, normalize_path

SecretCheck = Callable[[str, bool], bool]
"""Whether reading a path (or, with True, any path a glob matches) shows secrets."""
Resolver = Callable[[Arg], list[str | None]]


def readonly_problem(
    name: str,
    argv: tuple[Arg, ...],
    frame: Frame,
    rules: Sequence[ReadOnlyRule],
    resolve: Resolver,
    is_secret: SecretCheck,
) -> str | None:
    """Why this command is not read-only, or None if it only reads; `is_secret` is the
    config-aware secret test (Chavion's own data dir included)."""
    if frame.via:
        return f"runs through {frame.via}"
    if frame.env_problem:
        return frame.env_problem
    if frame.writes or frame.secret_input or frame.net:
        return frame_problem(frame)
    path = argv[0].value
    if "/" in path and posixpath.dirname(normalize_path(path)) not in TRUSTED_BIN:
        return f"runs {path}, which is not a system program"
    rule = readonly_rule(rules, name, argv)
    if rule is None:
        return "is not on the read-only list"
    extra = argv[len(rule.prefix) :]
    problem = denied(rule.deny, extra)
    if problem:
        return problem
    known = read_tool(name, argv[1:])
    reading = known if known is not None else without_spec(name, extra)
    if reading.problem:
        return reading.problem
    return secret_problem(reading, resolve, is_secret)


def denied(deny: Sequence[str], extra: Sequence[Arg]) -> str | None:
    """The user's extra `deny` globs: they can only take read-only status away."""
    if not deny:
        return None
    if any(a.dynamic or a.glob for a in extra):
        return "has arguments that are only known at run time"
    for a in extra:
        for pattern in deny:
            if fnmatchcase(a.value, pattern):
                return f"uses `{a.value}`, which the read-only list refuses"
    return None


def without_spec(name: str, extra: Sequence[Arg]) -> Reading:
    """A listed tool Chavion has no spec for: read-only with operands only, never options."""
    for a in extra:
        if a.dynamic and could_be_option(a):
            return Reading(f"has an argument only known at run time ({a.raw})")
        if could_be_option(a):
            return Reading(
                f"uses `{a.value}`, and Chavion knows no option of {name} to be read-only"
            )
    return Reading(None, tuple(extra))


def secret_problem(reading: Reading, resolve: Resolver, is_secret: SecretCheck) -> str | None:
    """Whether a file the command reads (an operand or an option's value) may hold secrets."""
    checked = list(reading.files)
    if reading.kind == "files":
        checked += reading.operands or ([literal_arg(".")] if reading.recursive else [])
    for a in checked:
        if a.dynamic:
            return "reads files chosen at run time"
        for p in resolve(a):
            if is_secret(a.value if p is None else p, a.glob):
                return f"reads {a.value}, which may hold secrets"
            where = "the current directory" if a.value == "." else a.value
            if reading.recursive and p is None:
                return f"searches {where} recursively, and it is only known at run time"
            if reading.recursive and p is not None and holds_secrets(p):
                return f"searches {where} recursively, which holds secrets"
    return None


def holds_secrets(directory: str) -> bool:
    """Whether a well-known secret lies under `directory` (for recursive searches)."""
    top = directory.rstrip("/") + "/"
    return any(s == directory or s.startswith(top) for s in SECRET_EXAMPLES)


def readonly_rule(
    rules: Sequence[ReadOnlyRule], name: str, argv: tuple[Arg, ...]
) -> ReadOnlyRule | None:
    """The longest rule whose prefix `argv` starts with, if any."""
    best: ReadOnlyRule | None = None
    for rule in rules:
        if rule.prefix[0] != name or len(argv) < len(rule.prefix):
            continue
        if all(
            not argv[k].dynamic and argv[k].value == rule.prefix[k]
            for k in range(1, len(rule.prefix))
        ) and (best is None or len(rule.prefix) > len(best.prefix)):
            best = rule
    return best
