"""`chavion service install|remove|show`: a systemd unit so the council survives reboots.

The master cannot restart Chavion from a truck cab: after a reboot, a crash or an upgrade the
council must come back by itself. The unit runs `chavion up` in the foreground (systemd
supervises it, so no `--detach`) as the invoking user, with the config file and data dir as
absolute paths, so it starts the same council whatever the working directory. API keys stay
out of the unit (which is world-readable): they go in an environment file the unit names.

`render_unit` is pure (a `UnitSpec` in, the unit text out) so every quoting rule is tested
without systemd; the actions around it write the file and ask systemctl, or say exactly what
to run where systemctl cannot be used (containers, no systemd as PID 1, a test unit dir).
"""

from __future__ import annotations

import argparse
import os
import pwd
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bots.app.exit_codes import CONFIG_ERROR
from bots.errors import BotError
from bots.settings.model import Settings
from bots.settings.paths import CONFIG_ENV, DATA_DIR_ENV, EXAMPLE_CONFIG, REPO_ROOT

UNIT_NAME = "chavion.service"
SYSTEM_UNIT_DIR = Path("/etc/systemd/system")
USER_UNIT_SUBDIR = Path(".config/systemd/user")
ENV_FILE_NAME = "chavion.env"
"""The default environment file (API keys), next to the config file."""
STOP_TIMEOUT_S = 90
"""`chavion down` waits 60 s for a clean stop (bots, then Synapse); systemd waits longer
before it kills what is left."""
RESTART_DELAY_S = 10


@dataclass(frozen=True)
class UnitSpec:
    """Everything the unit says; absolute paths only (systemd resolves nothing relative)."""

    command: tuple[str, ...]
    """ExecStart's argv, without `up`: the venv's `chavion`, or python -m bots."""
    config: Path
    data_dir: Path
    working_dir: Path
    env_file: Path
    user: str | None
    """None for a user unit (`--user`): a user manager runs units as its own user."""


def render_unit(spec: UnitSpec) -> str:
    """The unit file's text; raises BotError for a path systemd cannot be told."""
    for path in (spec.config, spec.data_dir, spec.working_dir, spec.env_file):
        if not path.is_absolute():
            raise BotError(f"{path} is not an absolute path; the unit needs absolute paths")
    executable, *arguments = (*spec.command, "up")
    exec_start = " ".join([exec_path(executable), *(exec_arg(arg) for arg in arguments)])
    system = spec.user is not None
    lines = [
        "# Written by `chavion service install`; `chavion service remove` undoes it.",
        "[Unit]",
        "Description=Chavion AI council on Matrix",
    ]
    if system:
        # A user manager cannot see the system's network-online.target.
        lines += ["Wants=network-online.target", "After=network-online.target"]
    lines += ["", "[Service]", "Type=simple"]
    if spec.user is not None:
        lines.append("User=" + _user_name(spec.user))
    lines += [
        "WorkingDirectory=" + raw_value(str(spec.working_dir)),
        "Environment=" + exec_arg(f"{CONFIG_ENV}={spec.config}", dollar=False),
        "Environment=" + exec_arg(f"{DATA_DIR_ENV}={spec.data_dir}", dollar=False),
        "Environment=PYTHONUNBUFFERED=1",
        # "-": a missing file is fine (keys may come later, or not be needed at all).
        "EnvironmentFile=-" + raw_value(str(spec.env_file)),
        "ExecStart=" + exec_start,
        "Restart=always",
        f"RestartSec={RESTART_DELAY_S}",
        # A config error waits for the master to fix the config; anything else is retried.
        f"RestartPreventExitStatus={CONFIG_ERROR}",
        # SIGTERM to `chavion up` alone: it stops its bots, then its Synapse, in order;
        # only what is left after the timeout gets SIGKILL.
        "KillMode=mixed",
        "KillSignal=SIGTERM",
        f"TimeoutStopSec={STOP_TIMEOUT_S}",
        "",
        "[Install]",
        "WantedBy=" + ("multi-user.target" if system else "default.target"),
        "",
    ]
    return "\n".join(lines)


def exec_arg(value: str, *, dollar: bool = True) -> str:
    """One word for ExecStart= or Environment=: double-quoted with C escapes, `%` doubled
    (specifiers) and, in ExecStart, `$` doubled (variable expansion), per systemd.service(5)."""
    _refuse_control(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    if dollar:
        escaped = escaped.replace("$", "$$")
    return f'"{escaped}"'


def exec_path(value: str) -> str:
    """ExecStart='s executable: quoted for spaces, `%` doubled, but no variables are expanded
    there (so `$` stays) and systemd refuses one holding a quote or a backslash."""
    if not value.startswith("/"):
        raise BotError(f"{value!r} is not an absolute path; ExecStart needs one")
    if any(ch in value for ch in "\"'\\"):
        raise BotError(
            f"systemd refuses an executable path with a quote or a backslash ({value}); "
            "move the checkout (and its .venv) to a plainer path"
        )
    return exec_arg(value, dollar=False)


def raw_value(value: str) -> str:
    """A whole-line value (WorkingDirectory=, EnvironmentFile=): systemd takes it verbatim
    but for specifiers, so only `%` is doubled; a trailing backslash would continue the line."""
    _refuse_control(value)
    if value.endswith("\\"):
        raise BotError(f"{value!r} ends with a backslash, which systemd reads as a continuation")
    return value.replace("%", "%%")


def _refuse_control(value: str) -> None:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise BotError(f"{value!r} holds a control character (a newline?); systemd cannot take it")


def _user_name(name: str) -> str:
    if not name or any(ch.isspace() or ch in "%\\\"'" for ch in name):
        raise BotError(f"{name!r} is not a user name systemd accepts")
    return name


# --- the actions --------------------------------------------------------------------------


def cmd_service(settings: Settings, args: argparse.Namespace) -> int:
    """install, remove or show; 0 when done (or the remaining commands printed), 1 when
    systemctl failed (its message shown)."""
    if args.user and os.geteuid() == 0 and os.environ.get("SUDO_USER"):
        raise BotError(
            "--user installs a unit for the user running the command: run it as "
            f"{os.environ['SUDO_USER']}, without sudo"
        )
    unit_dir = unit_dir_for(args)
    if args.action == "remove":
        return _remove(unit_dir / UNIT_NAME, args.user, _manages(args))
    spec = spec_for(settings, args)
    text = render_unit(spec)
    if args.action == "show":
        print(text, end="")
        return 0
    if settings.source == EXAMPLE_CONFIG:
        raise BotError(
            f"no config file: the service would run the example ({EXAMPLE_CONFIG}); copy it "
            "to config/chavion.yaml (or pass --config) first"
        )
    return _install(unit_dir / UNIT_NAME, text, spec, args.user, _manages(args))


def spec_for(settings: Settings, args: argparse.Namespace) -> UnitSpec:
    """This venv's chavion, this config and data dir, the invoking user."""
    env_file = Path(args.env_file).expanduser() if args.env_file else None
    return UnitSpec(
        command=chavion_command(),
        config=settings.source.resolve(),
        data_dir=settings.data_dir,
        working_dir=REPO_ROOT,
        env_file=(env_file or settings.source.parent / ENV_FILE_NAME).absolute(),
        user=None if args.user else invoking_user(os.environ, os.geteuid()),
    )


def chavion_command() -> tuple[str, ...]:
    """The `chavion` script beside this interpreter (not resolved: the venv's bin is the
    venv, its python a symlink out of it); else this python running the package."""
    beside = Path(os.path.abspath(sys.executable)).parent / "chavion"
    if beside.is_file() and os.access(beside, os.X_OK):
        return (str(beside),)
    return (os.path.abspath(sys.executable), "-m", "bots")


def invoking_user(environ: dict[str, str] | os._Environ[str], euid: int) -> str:
    """Who asked: under sudo the user who ran sudo (never root for it), else whoever runs."""
    sudo_user = environ.get("SUDO_USER")
    if euid == 0 and sudo_user and sudo_user != "root":
        return sudo_user
    return pwd.getpwuid(euid).pw_name


def unit_dir_for(args: argparse.Namespace) -> Path:
    if args.unit_dir:
        return Path(args.unit_dir).expanduser().absolute()
    return Path.home() / USER_UNIT_SUBDIR if args.user else SYSTEM_UNIT_DIR


def _manages(args: argparse.Namespace) -> bool:
    """systemctl is asked only for the unit dir systemd reads: a `--unit-dir` elsewhere (a
    test, a staging copy) must never enable or stop the real service."""
    return not args.unit_dir


def _systemctl(user: bool) -> list[str]:
    return ["systemctl", "--user"] if user else ["systemctl"]


def _install(path: Path, text: str, spec: UnitSpec, user: bool, manage: bool) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        path.chmod(0o644)
    except PermissionError as exc:
        hint = "run it with sudo, or pass --user for a user unit"
        raise BotError(f"cannot write {path}: {exc.strerror}; {hint}") from exc
    except OSError as exc:
        raise BotError(f"cannot write {path}: {exc.strerror}") from exc
    print(f"chavion: wrote {path}")
    for warning in _ownership_warnings(spec):
        print(f"chavion: warning: {warning}", file=sys.stderr)
    base = _systemctl(user)
    return run_or_say(
        [[*base, "daemon-reload"], [*base, "enable", "--now", UNIT_NAME]],
        cannot_run(manage, user),
        done=f"chavion: {UNIT_NAME} is enabled and started; "
        f"`journalctl {'--user ' if user else ''}-u chavion -f` follows its log",
    )


def _remove(path: Path, user: bool, manage: bool) -> int:
    """Disable and stop through systemctl when it can be asked; the file and the links
    `enable` made (`*.wants/chavion.service`) go either way, so nothing starts it again."""
    if not path.exists():
        print(f"chavion: no unit at {path}; nothing to remove")
        return 0
    base = _systemctl(user)
    why = cannot_run(manage, user)
    if not why and run_or_say([[*base, "disable", "--now", UNIT_NAME]], why, done=""):
        return 1
    links = [link for link in path.parent.glob(f"*.wants/{UNIT_NAME}") if link.is_symlink()]
    for doomed in (*links, path):
        try:
            doomed.unlink()
        except OSError as exc:
            raise BotError(f"cannot delete {doomed}: {exc.strerror}") from exc
        print(f"chavion: deleted {doomed}")
    if why:
        print("chavion: if Chavion still runs, `chavion down` stops it")
    return run_or_say([[*base, "daemon-reload"]], why, done="chavion: the service is removed")


def run_or_say(commands: Sequence[list[str]], why: str, done: str) -> int:
    """Run the systemctl commands in order (the first failure stops, its message shown), or,
    when there is a reason not to (`why`), print them with it: never a bare traceback."""
    if why:
        print(f"chavion: {why}; to apply it, run:")
        for command in commands:
            print("    " + " ".join(command))
        return 0
    for command in commands:
        try:
            result = subprocess.run(command, capture_output=True, text=True, check=False)
        except OSError as exc:
            print(f"chavion: cannot run `{' '.join(command)}`: {exc.strerror}", file=sys.stderr)
            return 1
        if result.returncode != 0:
            message = (result.stderr or result.stdout).strip() or f"exit status {result.returncode}"
            print(f"chavion: `{' '.join(command)}` failed: {message}", file=sys.stderr)
            return 1
    if done:
        print(done)
    return 0


def cannot_run(manage: bool, user: bool) -> str:
    """Why systemctl is not asked, or "" when it is."""
    if not manage:
        return "--unit-dir is not a directory systemd reads, so systemctl was not asked"
    if shutil.which("systemctl") is None:
        return "systemctl is not installed"
    if not Path("/run/systemd/system").is_dir():
        return "systemd is not running as PID 1 here (a container?), so systemctl cannot work"
    if user and not os.environ.get("XDG_RUNTIME_DIR"):
        return "no user session bus (XDG_RUNTIME_DIR unset; log in as the user, not su)"
    return ""


def _ownership_warnings(spec: UnitSpec) -> list[str]:
    """What would stop the service at its first start: files the unit's user cannot use,
    or an environment file of API keys others can read."""
    warnings = []
    if spec.user is not None:
        for path in (spec.config, spec.data_dir):
            try:
                owner = pwd.getpwuid(path.stat().st_uid).pw_name
            except (OSError, KeyError):
                continue
            if owner != spec.user:
                warnings.append(
                    f"{path} belongs to {owner}, but the service runs as {spec.user}: "
                    f"`chown -R {spec.user} {shlex.quote(str(path))}`"
                )
    try:
        mode = spec.env_file.stat().st_mode
    except OSError:
        return warnings
    if mode & 0o077:
        warnings.append(f"{spec.env_file} holds API keys and others can read it: chmod 600 it")
    return warnings
