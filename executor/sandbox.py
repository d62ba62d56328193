"""The read-only sandbox auto-approved commands run in: bubblewrap's argv, and how to find
out whether a host can run it.

Plain values only (no asyncssh): the wrapper puts this argv between `env -i` and bash.
What the sandbox is for: the policy judged the command read-only with nobody asked, so a
write it attempts anyway (a misjudged option, an abbreviation the policy did not model) must
fail with EROFS instead of happening. It is a file-system wall, not a network one: the
network stays (dig, ss, curl need it), and so do Unix sockets such as systemd's.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

FIXED_PATH: Final = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""The one PATH every command gets, on every host: the one the policy judges by."""

BWRAP: Final = "bwrap"

_BASE_ARGS: Final = (
    # Everything read-only (recursive: /sys, /run, /boot and the rest too).
    "--ro-bind",
    "/",
    "/",
    # A minimal /dev: null, zero, random, tty, but no disks (they hold secrets too).
    "--dev",
    "/dev",
    # The host's /proc, read-only (ps, ss and top work; sysctl -w does not). With a pid
    # namespace of its own, the sandbox's processes all die with its first one.
    "--ro-bind",
    "/proc",
    "/proc",
    "--unshare-pid",
    # Private, empty, writable scratch space.
    "--tmpfs",
    "/tmp",
    "--tmpfs",
    "/var/tmp",
    # The kill-on-EOF wrapper kills bwrap; the sandbox must go with it.
    "--die-with-parent",
    # No TIOCSTI into a terminal outside.
    "--new-session",
    # Run as root (a host logged into as root, `local` with run_as: null under root), bwrap
    # keeps every capability: a remount of / would undo the sandbox.
    "--cap-drop",
    "ALL",
)

RO_MESSAGE: Final = "Read-only file system"
"""strerror(EROFS), what a write attempted in the sandbox prints."""

REFUSED_WRITE_NOTE: Final = (
    "the read-only sandbox refused a write: this command was judged read-only but tried to write"
)


def bwrap_args(hidden: Iterable[str] = ()) -> tuple[str, ...]:
    """bwrap and its options, up to the `--` before the command; `hidden` directories are
    covered by an empty tmpfs (Chavion's data dir on `local`)."""
    covered: list[str] = []
    for path in hidden:
        covered += ["--tmpfs", path]
    return (BWRAP, *_BASE_ARGS, *covered, "--")


@dataclass(frozen=True)
class SandboxSupport:
    """Whether a host can run the sandbox, and why not when it cannot."""

    available: bool
    reason: str = ""
    lasting: bool = True
    """False for a check that timed out: asked again next time, not kept for the connection."""


_PROBE_OK: Final = "chavion-sandbox: ok"
_PROBE_MISSING: Final = "chavion-sandbox: missing"
_PROBE_BROKEN: Final = "chavion-sandbox: broken"


def probe_command(hidden: Iterable[str] = ()) -> str:
    """A POSIX sh command for the login shell: does bwrap exist, and does it start a sandbox
    with the options real runs use? (It may exist but fail, e.g. where user namespaces are
    off.) Run once per connection."""
    argv = " ".join(shlex.quote(arg) for arg in bwrap_args(hidden))
    return (
        f"PATH={FIXED_PATH}; export PATH\n"
        f"command -v {BWRAP} >/dev/null 2>&1 || {{ echo '{_PROBE_MISSING}'; exit 0; }}\n"
        f"if out=$(env -i PATH={FIXED_PATH} {argv} true 2>&1 </dev/null); "
        f"then echo '{_PROBE_OK}'; else echo '{_PROBE_BROKEN}'; echo \"$out\"; fi\n"
    )


def parse_probe(output: str) -> SandboxSupport:
    """What probe_command printed, as a verdict with a reason fit for a person."""
    first, _, rest = output.strip().partition("\n")
    if first == _PROBE_OK:
        return SandboxSupport(True)
    if first == _PROBE_MISSING:
        return SandboxSupport(False, "bubblewrap (bwrap) is not installed there")
    if first == _PROBE_BROKEN:
        detail = " ".join(rest.split())[:300] or "no message"
        return SandboxSupport(False, f"bwrap is installed but cannot start a sandbox: {detail}")
    return SandboxSupport(False, f"the sandbox check gave an unexpected answer: {output[:200]!r}")
