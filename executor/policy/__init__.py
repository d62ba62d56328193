"""The executor's command policy: may a command run on a host, must a person approve it, or never?

`decide` is pure (no I/O, no global state) and fails closed. It parses the command with
`executor.shell` and walks every simple command a shell would run, including the ones hidden in
pipes, lists, subshells, `$(...)`, backticks, here-documents, `sh -c`/`eval` strings and wrappers
such as `sudo`, `env`, `xargs`, `find -exec` and `ssh`. It expands what can be known before run time
(quotes, escapes, `$'..'`, braces, variables assigned in the command itself, `cd` targets) and then
checks each command against a built-in forbid list that no configuration and no permission level
can switch off: recursive deletes of `/` and system directories, `mkfs`, writes onto disks,
shutdown and runlevel changes, fork bombs, recursive chmod/chown of system paths, overwriting
`/etc/passwd`-like files, killing sshd or PID 1, wiping the firewall, and running downloaded or
decoded code. What it cannot prove harmless needs a person; only commands on the read-only list
are auto-approved, and only when the host's configuration says so.

The package, from the outside in: `verdict` (`decide`), `analyzer` (the walker) over `expansion`
and `state`; `wrappers` and `interpreters` (commands that run commands) and `checks` (the forbid
list, one check per command), registered by name through `registry`; `readonly`, `output`,
`hazards`, `embedded`, `forkbombs`, `constructs` (pure judgements; `constructs.UNMODELLED` lists
the bash constructs that are never read-only); `knowledge` (the tables); `values`;
`model`, `config`, `loading`, `patterns` (what a configuration is and how it is read).
"""

from executor.policy.config import READONLY_FILE, PolicyConfig, default_readonly, load_config
from executor.policy.knowledge import CRITICAL_FILES, PROTECTED_PATHS
from executor.policy.loading import ForbiddenList, load_forbidden, load_readonly
from executor.policy.model import (
    LEVELS,
    Decision,
    ForbiddenRule,
    HostPolicy,
    Mode,
    PolicyConfigError,
    ReadOnlyRule,
    Requester,
    Verdict,
)
from executor.policy.patterns import pattern_matches
from executor.policy.verdict import decide


def __getattr__(name: str) -> tuple[ReadOnlyRule, ...]:
    """`DEFAULT_READONLY`: the shipped read-only list, read on first use."""
    if name == "DEFAULT_READONLY":
        return default_readonly()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CRITICAL_FILES",
    "DEFAULT_READONLY",
    "LEVELS",
    "PROTECTED_PATHS",
    "READONLY_FILE",
    "Decision",
    "ForbiddenList",
    "ForbiddenRule",
    "HostPolicy",
    "Mode",
    "PolicyConfig",
    "PolicyConfigError",
    "ReadOnlyRule",
    "Requester",
    "Verdict",
    "decide",
    "default_readonly",
    "load_config",
    "load_forbidden",
    "load_readonly",
    "pattern_matches",
]
