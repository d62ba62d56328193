"""Command patterns for the allowlist and extra forbid rules (`systemctl restart *`).

Words compared with fnmatch one for one; used when a config is loaded (to reject bad patterns
early) and when a command is judged.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Sequence
from fnmatch import fnmatchcase

from executor.policy.knowledge import TRUSTED_BIN
from executor.policy.model import PolicyConfigError
from executor.policy.values import normalize_path


def pattern_words(pattern: str) -> tuple[str, ...]:
    """The words of a pattern, or PolicyConfigError when it is not one (read when loading)."""
    try:
        words = tuple(shlex.split(pattern))
    except ValueError as exc:
        raise PolicyConfigError(f"cannot read the pattern {pattern!r}: {exc}") from exc
    if not words or words[0] == "...":
        raise PolicyConfigError(f"the pattern {pattern!r} needs a command name")
    if "..." in words[:-1]:
        raise PolicyConfigError(f"in the pattern {pattern!r}, '...' may only come last")
    return words


def pattern_matches(pattern: str, argv: Sequence[str]) -> bool:
    """Whether `argv` matches `pattern`: words compared with fnmatch, one for one; a final
    ``...`` stands for any further arguments. ``systemctl restart *`` matches exactly one unit,
    ``journalctl ...`` any journalctl call."""
    return match_words(pattern_words(pattern), [(a, False) for a in argv])


def match_words(words: tuple[str, ...], argv: Sequence[tuple[str, bool]]) -> bool:
    """`pattern_matches` on pattern words and (value, dynamic) arguments: dynamic never match."""
    rest = bool(words) and words[-1] == "..."
    if rest:
        words = words[:-1]
    if len(argv) < len(words) or (not rest and len(argv) != len(words)):
        return False
    for k, expected in enumerate(words):
        value, dynamic = argv[k]
        if dynamic:
            return False
        if k == 0 and "/" in value:
            if posixpath.dirname(normalize_path(value)) not in TRUSTED_BIN:
                return False
            value = value.rsplit("/", 1)[-1]
        if not fnmatchcase(value, expected):
            return False
    return True
