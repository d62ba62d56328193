"""Who the embedded `local` host runs commands as, and how a command is started as them.

Why a user of its own (`chavion-run`, made by scripts/local-host): Chavion's data dir holds
the homeserver's macaroon key (it mints a login for anyone, the master included), the bots'
passwords and tokens. Commands run as Chavion's own user could read them, even ones the
master approved by mistake; as an unprivileged user with no group of Chavion's, the 0700
data dir is out of their reach. Root switches user itself (setgid, setgroups([]), setuid in
the child); any other user goes through `sudo -n -u chavion-run /bin/sh …`, which the
sudoers drop-in of scripts/local-host allows and nothing else.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import pwd
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from executor.errors import ExecutorError
from executor.sandbox import FIXED_PATH

LOGIN_SHELL: Final = "/bin/sh"
"""What runs the (POSIX) wrapper; the wrapper then runs bash. chavion-run's own login shell
is /usr/sbin/nologin: nobody logs in as it."""

SCRIPT: Final = "scripts/local-host"


@dataclass(frozen=True)
class LocalUser:
    """The account commands on `local` run as."""

    name: str
    uid: int
    gid: int
    home: Path
    switch: bool
    """False when it is the user Chavion runs as: nothing to switch."""

    @property
    def via_sudo(self) -> bool:
        return self.switch and os.geteuid() != 0

    @property
    def cwd(self) -> Path:
        """Where commands start: the user's home when it exists (it may be /nonexistent)."""
        return self.home if self.home.is_dir() else Path("/")

    def environment(self) -> dict[str, str]:
        """A clean login-like environment, not Chavion's own (which holds API keys)."""
        env = {
            "HOME": str(self.home),
            "USER": self.name,
            "LOGNAME": self.name,
            "SHELL": LOGIN_SHELL,
            "PATH": FIXED_PATH,
        }
        env.update({k: v for k, v in os.environ.items() if k in ("LANG", "LC_ALL", "TZ")})
        return env

    def argv(self, command: str) -> list[str]:
        """The child's argv: the login shell running `command`, through sudo when needed."""
        shell = [LOGIN_SHELL, "-c", command]
        if self.via_sudo:
            return ["sudo", "-n", "-u", self.name, "--", *shell]
        return shell

    @property
    def drops_privileges(self) -> bool:
        """True when the child itself switches (Chavion is root): setgid, setgroups([]),
        setuid, through subprocess's user/group/extra_groups."""
        return self.switch and not self.via_sudo


def current_user() -> LocalUser:
    """The user Chavion runs as (`run_as: null`)."""
    entry = pwd.getpwuid(os.geteuid())
    return LocalUser(getpass.getuser(), entry.pw_uid, entry.pw_gid, Path.home(), switch=False)


def local_user(name: str | None, host_name: str) -> LocalUser:
    """The account `run_as` names, checked now, with what to do when it cannot be used."""
    if name is None:
        return current_user()
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise ExecutorError(
            f"host {host_name!r} runs commands as the OS user {name!r}, which does not "
            f"exist: run {SCRIPT} as root (it creates the user and installs bubblewrap), or "
            f"set execution.hosts.{host_name}.run_as: null to run them as Chavion's own user"
        ) from None
    if entry.pw_uid == os.geteuid():
        return current_user()
    if entry.pw_uid == 0:
        raise ExecutorError(f"host {host_name!r}: run_as must not be root")
    user = LocalUser(name, entry.pw_uid, entry.pw_gid, Path(entry.pw_dir), switch=True)
    if user.via_sudo and shutil.which("sudo") is None:
        raise ExecutorError(
            f"host {host_name!r} runs commands as {name!r}, and Chavion is not root, so it "
            f"needs sudo, which is not installed: run {SCRIPT} as root"
        )
    return user


async def check_switch(user: LocalUser, host_name: str) -> None:
    """Starts one no-op as the user, so a missing sudo rule is reported at start, with
    what to do, not as a failure of the first command."""
    if not user.via_sudo:
        return
    process = await asyncio.create_subprocess_exec(
        *user.argv("true"),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    if process.returncode != 0:
        said = " ".join(err.decode(errors="replace").split())[:300]
        raise ExecutorError(
            f"host {host_name!r}: cannot run commands as {user.name!r} through sudo ({said}): "
            f"run {SCRIPT} --for {getpass.getuser()} as root"
        )
