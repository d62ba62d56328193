"""The policy configuration: global settings, per-host overrides, and the shipped defaults.

The built-in lists ship inside the package (`executor/policy/data/`), so a config file kept
anywhere, or an installed Chavion with no repository next to it, finds them. The read-only
list exists once, there: it is read here by `default_readonly()`, the list a config uses
when none is given; a user who wants another names their own copy in the config. The built-in
safety rules that no list can switch off are the tool specs (`data/tools/`): a list says which
commands may be auto-approved, the specs which of their options and files only read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from types import MappingProxyType

from executor.policy.limits import DEFAULT_CHECK_SECONDS
from executor.policy.loading import load_forbidden, load_readonly
from executor.policy.model import ForbiddenRule, HostPolicy, Mode, PolicyConfigError, ReadOnlyRule
from executor.policy.patterns import pattern_words

DATA_DIR = Path(__file__).resolve().parent / "data"
"""The lists shipped inside the package (declared as package data in pyproject.toml)."""
READONLY_FILE = DATA_DIR / "readonly.yaml"
"""The shipped read-only list; also the default when a config names none."""
FORBIDDEN_FILE = DATA_DIR / "forbidden.yaml"
"""The shipped extra forbid rules; the default when a config names no forbidden_file."""


@cache
def default_readonly() -> tuple[ReadOnlyRule, ...]:
    """Commands that may be auto-approved, when their tool specs find them read-only.

    Read on first use, not at import: a broken list is then reported where the config is
    checked (with its dotted key) instead of failing every import of the policy."""
    return load_readonly(READONLY_FILE)


@dataclass(frozen=True)
class PolicyConfig:
    """How a host's commands are judged. `hosts` maps host names (or fnmatch patterns) to
    overrides; `forbidden` and `protected_paths` only ever add to the built-in forbid list.

    Modes: in "blocklist" mode anything not forbidden may be asked for; in "allowlist" mode every
    command must be read-only or match an `allowlist` pattern, or it is forbidden.
    """

    mode: Mode = "blocklist"
    allowlist: tuple[str, ...] = ()
    readonly: tuple[ReadOnlyRule, ...] = field(default_factory=default_readonly)
    auto_approve_readonly: bool = False
    forbidden: tuple[ForbiddenRule, ...] = ()
    protected_paths: tuple[str, ...] = ()
    workdir: str | None = None
    """Where commands start (as in HostConfig.workdir): `rm -rf *` there can be judged."""
    env: tuple[tuple[str, str], ...] = ()
    """Variables exported before each command (as in HostConfig.env): not assumed empty."""
    hosts: Mapping[str, HostPolicy] = field(default_factory=dict, hash=False)
    check_seconds: float = DEFAULT_CHECK_SECONDS
    """CPU time one decision may take; a command that needs more needs approval instead."""
    secret_paths: tuple[str, ...] = ()
    """Chavion's own secrets (its data dir, resolved): any operand under one is a secret."""

    def __post_init__(self) -> None:
        if not self.check_seconds > 0:
            raise PolicyConfigError(
                f"check_seconds must be a positive number of seconds, not {self.check_seconds!r}"
            )
        if self.mode not in ("blocklist", "allowlist"):
            raise PolicyConfigError(f"unknown policy mode {self.mode!r}")
        for host, override in self.hosts.items():
            if override.mode is not None and override.mode not in ("blocklist", "allowlist"):
                raise PolicyConfigError(f"unknown policy mode {override.mode!r} for {host}")
        for pattern in self.allowlist:
            pattern_words(pattern)
        paths = (
            *self.protected_paths,
            *self.secret_paths,
            *([self.workdir] if self.workdir else []),
        )
        for path in paths:
            if not path.startswith("/"):
                raise PolicyConfigError(f"the path {path!r} must be absolute")
        object.__setattr__(self, "hosts", MappingProxyType(dict(self.hosts)))

    def for_host(self, host: str) -> PolicyConfig:
        """This config with `host`'s overrides applied: exact name first, then glob patterns."""
        override = self.hosts.get(host)
        if override is None:
            for pattern, candidate in self.hosts.items():
                if fnmatchcase(host, pattern):
                    override = candidate
                    break
        if override is None:
            return replace(self, hosts={})
        return PolicyConfig(
            mode=override.mode or self.mode,
            allowlist=self.allowlist if override.allowlist is None else override.allowlist,
            readonly=self.readonly if override.readonly is None else override.readonly,
            auto_approve_readonly=(
                self.auto_approve_readonly
                if override.auto_approve_readonly is None
                else override.auto_approve_readonly
            ),
            forbidden=self.forbidden + override.forbidden,
            protected_paths=self.protected_paths + override.protected_paths,
            workdir=self.workdir if override.workdir is None else override.workdir,
            env=self.env if override.env is None else override.env,
            check_seconds=self.check_seconds,
            secret_paths=self.secret_paths,
        )


def load_config(
    readonly_path: str | Path | None = None,
    forbidden_path: str | Path | None = None,
    *,
    base: PolicyConfig | None = None,
) -> PolicyConfig:
    """`base` (default: built-in defaults) with the lists from the given YAML files."""
    config = base or PolicyConfig()
    if readonly_path is not None:
        config = replace(config, readonly=load_readonly(readonly_path))
    if forbidden_path is not None:
        extra = load_forbidden(forbidden_path)
        config = replace(
            config,
            forbidden=config.forbidden + extra.rules,
            protected_paths=config.protected_paths + extra.protected_paths,
        )
    return config
