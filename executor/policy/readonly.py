"""Whether a command only reads: on the read-only list, within its rule's denials and the
built-in ones, not writing, not reading secrets, not running through a wrapper.

A pure function of the command, its frame, the configured rules and a path resolver.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence
from fnmatch import fnmatchcase

from executor.policy.hazards import is_secret
from executor.policy.knowledge import (
    ALWAYS_DENY,
    MAX_POSITIONAL,
    METADATA_ONLY,
    SECRET_EXAMPLES,
    TRUSTED_BIN,
)
from executor.policy.model import ReadOnlyRule
from executor.policy.values import Arg, Frame, frame_problem, normalize_path


def readonly_problem(
    name: str,
    argv: tuple[Arg, ...],
    frame: Frame,
    rules: Sequence[ReadOnlyRule],
    resolve: Callable[[Arg], list[str | None]],
    *,
    is_secret: Callable[[str, bool], bool] = is_secret,
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
    deny = rule.deny + ALWAYS_DENY.get(" ".join(rule.prefix), ())
    if len(rule.prefix) > 1:
        deny += ALWAYS_DENY.get(name, ())
    if deny and any(a.dynamic or a.glob for a in extra):
        return "has arguments that are only known at run time"
    for a in extra:
        for pattern in deny:
            if fnmatchcase(a.value, pattern):
                return f"uses `{a.value}`, which is more than reading"
    limit = MAX_POSITIONAL.get(name)
    if limit is not None and sum(1 for a in extra if not a.value.startswith("-")) > limit:
        return "writes its output to a file"
    if name not in METADATA_ONLY:
        recursive = name in ("grep", "egrep", "fgrep", "zgrep") and any(
            a.value in ("--recursive", "--dereference-recursive")
            or re.fullmatch(r"-[A-Za-z]*[rR][A-Za-z]*", a.value) is not None
            for a in extra
            if not a.dynamic
        )
        for a in extra:
            if a.dynamic:
                return "reads files chosen at run time"
            if a.value.startswith("-"):
                continue
            for p in resolve(a):
                if p is None:
                    if is_secret(a.value, a.glob):
                        return f"reads {a.value}, which may hold secrets"
                    continue
                if is_secret(p, a.glob):
                    return f"reads {a.value}, which may hold secrets"
                if recursive and any(
                    s == p or s.startswith(p.rstrip("/") + "/") for s in SECRET_EXAMPLES
                ):
                    return f"searches {a.value} recursively, which holds secrets"
    return None


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
