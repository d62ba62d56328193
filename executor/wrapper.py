"""The command line sent to a host: the command, run by bash in a fixed environment (in the
read-only sandbox when asked), under a POSIX kill-on-EOF wrapper.

Why bash, always: the policy parses commands as bash does (`$'…'`, `((…))`, brace
expansion), so they must run under bash, not under whatever the login shell is (dash on
Debian reads `echo $'\\'; id; #\\''` as two commands). Why `env -i`: variables such as
BASH_ENV, ENV, LD_PRELOAD or a PATH through /tmp change what a command does without showing
in it; the command gets a fixed PATH, HOME, USER, LOGNAME, LANG/LC_ALL/TZ where set, and the
host's configured `env` (whose names hosts.py checks), nothing else.

The wrapper itself stays POSIX so any login shell (sh, dash, bash, zsh, ksh) can start it:
the command gets /dev/null as stdin while the wrapper watches the channel's stdin. When that
stdin ends, because we sent EOF (`RemoteProcess.stop`), closed the channel, or the
connection broke, the wrapper kills its whole process group: TERM, then KILL after a grace
period. That works with any sshd (signal requests only reach the session shell, not its
children) and needs no pty. A sandboxed command dies with bwrap (--die-with-parent, its own
pid namespace).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from typing import Final

from executor.sandbox import FIXED_PATH, bwrap_args

KILL_GRACE: Final = 2
"""Seconds the wrapper waits between TERM and KILL when a command is stopped."""

BASH_MISSING: Final = "chavion: bash is required on this host"
"""What the wrapper prints (exit 127) where bash cannot be found on FIXED_PATH."""

KEPT_VARIABLES: Final = ("HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ")
"""Taken from the login session where set; everything else is dropped."""

FIXED_VARIABLES: Final = (("GIT_OPTIONAL_LOCKS", "0"),)
"""Set for every command: `git status` takes no optional index lock, so it only reads (in the
read-only sandbox it would attempt a write; measured by tests/integration/
test_readonly_sandbox.py)."""

_WRAPPER: Final = """\
exec 3<&0 </dev/null
PATH={path}; export PATH
command -v bash >/dev/null 2>&1 || {{ echo '{missing}' >&2; exit 127; }}
{prelude}{launcher} {bash} 3<&- &
c=$!
{{ while read -r _; do :; done
  trap '' TERM
  kill -TERM 0 2>/dev/null || kill -TERM $c
  sleep {grace}
  kill -KILL 0 2>/dev/null || kill -KILL $c
}} <&3 >/dev/null 2>&1 &
w=$!
exec 3<&-
wait $c
s=$?
kill $w 2>/dev/null
exit $s
"""


BASH: Final = ("bash", "--noprofile", "--norc", "-c")


def _quoted(words: Iterable[str]) -> str:
    return " ".join(shlex.quote(word) for word in words)


def launcher(
    env: Iterable[tuple[str, str]] = (), *, sandbox: bool = False, hidden: Iterable[str] = ()
) -> str:
    """The words (POSIX sh) that start bash with the fixed environment: `env -i` with the
    kept variables and the host's env, or, sandboxed, bwrap doing the same itself
    (--clearenv, --setenv: one exec fewer per command, measured in tests/bench/executor.py).
    """
    if not sandbox:
        kept = " ".join(f'${{{name}+"{name}=${name}"}}' for name in KEPT_VARIABLES)
        assignments = _quoted(f"{name}={value}" for name, value in (*FIXED_VARIABLES, *env))
        parts = [f"env -i PATH={FIXED_PATH}", kept, assignments]
    else:
        jail = bwrap_args()[:-1]  # without the "--" before the command
        # Covered only where the user sees it: where it cannot even reach it (a data dir
        # under /root), bwrap could not mount there, and need not (sandbox_prelude sets h0…).
        covers = " ".join(
            f"${{h{index}:+--tmpfs {shlex.quote(path)}}}" for index, path in enumerate(hidden)
        )
        kept = " ".join(f'${{{name}+--setenv {name} "${name}"}}' for name in KEPT_VARIABLES)
        settings = _quoted(
            word for name, value in (*FIXED_VARIABLES, *env) for word in ("--setenv", name, value)
        )
        cleared = _quoted((*jail, "--clearenv", "--setenv", "PATH", FIXED_PATH))
        parts = [cleared, covers, kept, settings, "--"]
    return " ".join(part for part in parts if part)


def wrap_command(
    command: str,
    *,
    workdir: str | None = None,
    env: tuple[tuple[str, str], ...] = (),
    sandbox: bool = False,
    hidden: Iterable[str] = (),
) -> str:
    """The command line sent to the server (see the module docstring).

    sshd runs it as `$SHELL -c …`, so the login shell must be POSIX-like (not fish or csh);
    the session shell is the leader of its process group (sshd and the embedded server
    start it as a session leader), which `kill 0` reaches whole.
    """
    prelude = f"cd {shlex.quote(workdir)} || exit 1\n" if workdir else ""
    if sandbox:
        for index, path in enumerate(hidden):
            prelude += f"h{index}=; [ -d {shlex.quote(path)} ] && h{index}=1\n"
    return _WRAPPER.format(
        path=FIXED_PATH,
        missing=BASH_MISSING,
        prelude=prelude,
        launcher=launcher(env, sandbox=sandbox, hidden=hidden),
        bash=_quoted((*BASH, command)),
        grace=KILL_GRACE,
    )
