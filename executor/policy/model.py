"""What the policy speaks in: verdicts, decisions, requesters and the rules a config holds.

Plain frozen values with no behaviour beyond validation, so the store, the execution service and
the settings loader can use them without pulling in the analysis.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal, TypeAlias

from executor.errors import ExecutorError


class PolicyConfigError(ExecutorError):
    """The policy configuration is invalid; the message says which part."""


class Verdict(enum.Enum):
    """What happens to a command: it runs, a person decides, or it is refused outright."""

    ALLOW = "allow"
    NEEDS_APPROVAL = "needs_approval"
    FORBID = "forbid"

    @property
    def severity(self) -> int:
        """ALLOW < NEEDS_APPROVAL < FORBID, for picking the strictest of several verdicts."""
        return _SEVERITY[self]


_SEVERITY = {Verdict.ALLOW: 0, Verdict.NEEDS_APPROVAL: 1, Verdict.FORBID: 2}

Mode: TypeAlias = Literal["blocklist", "allowlist"]
LEVELS: tuple[str, ...] = ("readonly", "operator", "admin")
"""Permission levels. `readonly` may only run read-only commands; `operator` and `admin` may ask
for anything, but nobody gets past the forbid list."""


@dataclass(frozen=True)
class Decision:
    """The verdict, a short reason fit for a chat room, and the rule that decided it."""

    verdict: Verdict
    reason: str
    rule: str


@dataclass(frozen=True)
class Requester:
    """Who asks: a Matrix user (or agent) id and its permission level (one of LEVELS)."""

    user_id: str
    level: str


@dataclass(frozen=True)
class ReadOnlyRule:
    """A command that may be auto-approved: argv starts with `prefix`, no argument matches
    `deny`, and its tool spec (`data/tools/`) finds every option and file it uses read-only.

    `deny` holds fnmatch patterns (``--vacuum*``) and can only take read-only status away: a
    configured list never makes a writing option read-only. A listed tool without a spec is
    read-only only when it uses no options at all.
    """

    prefix: tuple[str, ...]
    deny: tuple[str, ...] = ()

    @classmethod
    def of(cls, spec: str, *deny: str) -> ReadOnlyRule:
        """`ReadOnlyRule.of("systemctl status")` — a rule from a space-separated prefix."""
        words = tuple(spec.split())
        if not words:
            raise PolicyConfigError("a read-only rule needs a command")
        return cls(words, tuple(deny))


@dataclass(frozen=True)
class ForbiddenRule:
    """An extra command to refuse, as a pattern (see `pattern_matches`) with a plain reason."""

    pattern: str
    reason: str


@dataclass(frozen=True)
class HostPolicy:
    """Per-host overrides; None keeps the global value, tuples of extra rules are added."""

    mode: Mode | None = None
    allowlist: tuple[str, ...] | None = None
    readonly: tuple[ReadOnlyRule, ...] | None = None
    auto_approve_readonly: bool | None = None
    forbidden: tuple[ForbiddenRule, ...] = ()
    protected_paths: tuple[str, ...] = ()
    workdir: str | None = None
    env: tuple[tuple[str, str], ...] | None = None
