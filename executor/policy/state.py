"""The analysis state of one decision and the ways it records what it finds.

Findings are verdicts with their rule (forbid or approve); facts are the commands that will run
and why each is not read-only. Checks see only this state: paths it resolves, dangers it names.
"""

from __future__ import annotations

import copy
import posixpath
from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Self, TypeAlias

from executor.policy.config import PolicyConfig
from executor.policy.hazards import is_broad, is_secret, through_proc_root
from executor.policy.knowledge import GLOB_RE, PROTECTED_PATHS
from executor.policy.limits import Budget
from executor.policy.model import Decision
from executor.policy.patterns import pattern_words
from executor.policy.values import (
    APPROVE,
    FORBID,
    NO_STREAM,
    Arg,
    Fact,
    Hit,
    Stream,
    Value,
    normalize_path,
    quote,
)
from executor.shell import Script


class AnalysisState:
    """What one decision has learnt so far: findings, facts, variables, working directories.

    Nested code (`sh -c`, `eval`) gets a child state that shares the findings, facts and cache.
    The expansion and the walker build on it (`Expander`, `Analyzer`).
    """

    def __init__(self, cfg: PolicyConfig) -> None:
        self.cfg = cfg
        self.findings: list[Decision] = []
        """What the script earns: forbid or approval verdicts, each with its rule."""
        self.facts: list[Fact] = []
        self.protected = frozenset(
            PROTECTED_PATHS | {normalize_path(p) for p in cfg.protected_paths}
        )
        self.env: dict[str, list[Value]] = {name: [Value(value)] for name, value in cfg.env}
        self.cwds: frozenset[str | None] = frozenset(
            {normalize_path(cfg.workdir) if cfg.workdir else None}
        )
        self.positional: tuple[Arg, ...] | None = None
        self.sub_cache: dict[int, Stream] = {}
        self.keep: list[Script] = []
        self.depth = 0
        self.cond = 0
        self.loops = 0
        """Loops around the command walked: their bodies run again and again, the walk once."""
        self.only_forbid = False
        self.last_cd: frozenset[str | None] | None = None
        self.out_stdin: Stream = NO_STREAM
        self.pipe_text = ""
        self.context = ""
        self.where = ""
        self.forbidden = [(pattern_words(r.pattern), r) for r in cfg.forbidden]
        self.budget = Budget(cfg.check_seconds)
        """Shared with every child state: nested code spends from the same budget."""
        self.secret_paths = tuple(normalize_path(p) for p in cfg.secret_paths)
        self.warnings: list[str] = []
        """Lines the approver must see whatever the verdict's reason is (shared by children)."""

    def child(
        self,
        *,
        positional: tuple[Arg, ...] | None,
        share_env: bool,
        fresh: bool = False,
        only_forbid: bool = False,
    ) -> Self:
        """An analyzer for nested code that shares findings, facts and the cache with this one."""
        c = copy.copy(self)
        if fresh:
            c.env, c.cwds = {}, frozenset({None})
        elif not share_env:
            c.env = {k: list(v) for k, v in self.env.items()}
        c.positional = positional
        c.depth = self.depth + 1
        c.only_forbid = self.only_forbid or only_forbid
        c.last_cd = None
        c.out_stdin = NO_STREAM
        c.pipe_text = ""
        return c

    def warn(self, line: str) -> None:
        """A warning for the approval prompt (e.g. a recursive delete of a computed target)."""
        if line not in self.warnings and len(self.warnings) < 5:
            self.warnings.append(line)

    def note_approval(self, rule: str, reason: str) -> None:
        self._add(Decision(APPROVE, reason, rule))

    def _add(self, finding: Decision) -> None:
        if self.only_forbid and finding.verdict is not FORBID:
            return
        if finding not in self.findings:
            self.findings.append(finding)

    def forbid(self, rule: str, text: str, what: str) -> None:
        self._add(Decision(FORBID, f"forbidden: {quote(text)} {what}{self.inside(text)}", rule))

    def approve(self, rule: str, text: str, what: str) -> None:
        reason = f"needs approval: {quote(text)} {what}{self.inside(text)}"
        self._add(Decision(APPROVE, reason, rule))

    def too_complex(self, text: str, limit: str) -> None:
        """A bound of the analysis was reached: what was not checked goes to a person."""
        self.approve("too-complex", text, f"is too complex to check (limit: {limit})")

    def inside(self, text: str) -> str:
        """Where nested code came from: `rm -rf /` alone would hide the `trap` around it."""
        if not self.context or text.split() == self.context.split():
            return ""
        return f" (inside {quote(self.context, 48)})"

    def hit(self, text: str, hits: list[Hit]) -> None:
        for verdict, rule, what in hits:
            if verdict is FORBID:
                self.forbid(rule, text, what)
            else:
                self.approve(rule, text, what)

    def fact(self, argv: tuple[Arg, ...], text: str, problem: str | None) -> None:
        if not self.only_forbid:
            self.facts.append(Fact(argv, text, problem))

    def is_secret(self, path: str, glob: bool) -> bool:
        """The secret test with this config's own secrets (Chavion's data dir) added."""
        return is_secret(path, glob, self.secret_paths)

    def resolve(self, arg: Arg) -> list[str | None]:
        """Absolute, normalised paths `arg` may name (None where the directory is unknown)."""
        if arg.dynamic:
            return [None]
        value = arg.value
        if not value:
            return []
        if value.startswith("/"):
            return [normalize_path(value)]
        return [None if cwd is None else normalize_path(cwd + "/" + value) for cwd in self.cwds]

    def danger(self, path: str, glob: bool) -> str | None:
        """How bad deleting (or chmod-ing) `path` recursively is, or None if not catastrophic.

        `/proc/PID/root` is the root directory as that process sees it: `/` again."""
        inner = through_proc_root(path)
        if inner is not None:
            desc = self.danger(inner, glob)
            return None if desc is None else f"{desc} (through {path})"
        if not glob:
            if path == "/":
                return "the root filesystem"
            if path in self.protected:
                return path
            return None
        comps = [c for c in path.split("/") if c]
        index = next((k for k, c in enumerate(comps) if GLOB_RE.search(c)), None)
        if index is None:
            return self.danger(path, False)
        parent = "/" + "/".join(comps[:index])
        first, rest = comps[index], comps[index + 1 :]
        if not path.startswith("/") or not all(is_broad(c) for c in rest):
            return None
        if parent == "/" and is_broad(first):
            return "everything under /"
        if parent in self.protected and is_broad(first):
            return f"everything in {parent}"
        for p in self.protected:
            if posixpath.dirname(p) == parent and fnmatchcase(posixpath.basename(p), first):
                return f"system directories matching {path}"
        return None


Check: TypeAlias = Callable[[AnalysisState, tuple[Arg, ...], Stream], list[Hit]]
"""A per-command check: the forbid-list hits of one argv (rm, chmod, dd, kill, systemctl...)."""
