"""What a path, a unit or a PID means for the machine: a disk, a critical file, a secret,
sshd, the firewall, init.

Pure functions over the knowledge tables; they return hits (verdict, rule, what) for the checks
and the analyzer to report.
"""

from __future__ import annotations

import posixpath
import re
from fnmatch import fnmatchcase, translate

from executor.policy.knowledge import (
    BACKUP_SUFFIX_RE,
    BLOCK_DEVICE,
    CODE_ENV,
    CRITICAL_FILES,
    DEVICE_SAMPLES,
    DEVICE_SUBDIRS_OK,
    FIREWALL_UNITS,
    GLOB_RE,
    HARMLESS_ENV,
    HARMLESS_SINKS,
    INIT_ORIGIN,
    PROC_SECRET_RE,
    RAW_MEMORY,
    SECRET_EXAMPLES,
    SECRET_FILE_EXAMPLES,
    SECRET_GLOBS,
    SECRET_NAME_TEMPLATES,
    SECRET_NAMES,
    SECRET_SUFFIX_GLOBS,
    SSH_ORIGIN,
    SSH_UNITS,
)
from executor.policy.values import (
    APPROVE,
    FORBID,
    Arg,
    Hit,
    literal_arg,
    normalize_path,
    with_note,
)


def is_broad(component: str) -> bool:
    """Whether a glob component matches (nearly) any name, like `*` or `?*`."""
    return all(fnmatchcase(sample, component) for sample in ("bin", "etc", "lib", "x1"))


def is_device(path: str) -> bool:
    """Whether `path` is a disk, partition or volume (not /dev/null, /dev/pts/...)."""
    return bool(BLOCK_DEVICE.fullmatch(path)) and not path.startswith(DEVICE_SUBDIRS_OK)


def is_critical(path: str, glob: bool) -> bool:
    """Whether `path` (or a glob) names a file whose loss locks everyone out."""
    if glob:
        return any(fnmatchcase(c, path) for c in CRITICAL_FILES)
    return path in CRITICAL_FILES


def is_secret(path: str, glob: bool, secret_paths: tuple[str, ...] = ()) -> bool:
    """Whether reading `path` (or a glob) would show secrets in the chat room: shadow and its
    backups, keys, another process's root/fd/memory/environment, raw disks and memory, and
    anything under `secret_paths` (Chavion's own data dir). `../` chains are normalised; a
    relative path is also judged as if it started at `/`."""
    if not path.startswith("/"):
        rest = posixpath.normpath(path)
        while rest.startswith("../"):
            rest = rest[3:]
        rest = "" if rest in ("..", ".") else rest
        return _is_secret(path, glob, secret_paths) or (
            bool(rest) and _is_secret("/" + rest, glob, secret_paths)
        )
    return _is_secret(posixpath.normpath(path), glob, secret_paths)


def _is_secret(path: str, glob: bool, secret_paths: tuple[str, ...]) -> bool:
    base = posixpath.basename(path)
    for secret in secret_paths:
        if glob:  # `/srv/chav*/.d*/secrets/key`: its first components match the secret's
            inside, secret_parts = path.split("/"), secret.rstrip("/").split("/")
            if len(inside) >= len(secret_parts) and all(
                fnmatchcase(part, pattern)
                for part, pattern in zip(secret_parts, inside[: len(secret_parts)], strict=True)
            ):
                return True
        elif path == secret or path.startswith(secret.rstrip("/") + "/"):
            return True
    if glob:
        return (
            any(fnmatchcase(example, path) for example in SECRET_EXAMPLES)
            or any(_components_match(path, example) for example in SECRET_FILE_EXAMPLES)
            or any(fnmatchcase(name, base) for name in _GLOB_NAME_SAMPLES)
            or _has_secret_suffix(path)
        )
    m = PROC_SECRET_RE.fullmatch(path)
    if m:  # /proc/1/root/etc/shadow, /proc/self/fd/3, /proc/*/mem...
        return True
    if is_device(path):
        return True
    stripped = BACKUP_SUFFIX_RE.sub("", path)
    if stripped != path and stripped and _is_secret(stripped, False, secret_paths):
        return True
    return (
        any(fnmatchcase(path, g) for g in SECRET_GLOBS)
        or _has_secret_suffix(path)
        or (base not in SECRET_NAME_TEMPLATES and any(fnmatchcase(base, n) for n in SECRET_NAMES))
    )


_SECRET_SUFFIX_RE = re.compile(
    "|".join(translate(g.removeprefix("*")).removesuffix(r"\Z") for g in SECRET_SUFFIX_GLOBS)
)


def _has_secret_suffix(path: str) -> bool:
    """Whether `path`, or its tail from any `/` on, is a secret of SECRET_SUFFIX_GLOBS: under
    any root, `/x/merged/etc/shadow` is shadow too. A glob operand is matched as text:
    `/home/*/.ssh/id_ecdsa` fits `/home/*/.ssh/id_*`."""
    start = path.find("/")
    while start >= 0:
        if _SECRET_SUFFIX_RE.fullmatch(path, start):
            return True
        start = path.find("/", start + 1)
    return False


_GLOB_NAME_SAMPLES = (
    "id_rsa",
    ".env",
    "server.key",
    "environ",
    ".env.production",
    ".envrc",
    ".bash_history",
    ".vault-token",
    "krb5.keytab",
)
"""Secret base names a glob's last component is tried against (`cat /srv/*/.env*`)."""


def _components_match(pattern: str, path: str) -> bool:
    """Whether a glob can match `path` the way the shell expands it: `*` stays inside one
    component, so `/etc/*.conf` does not reach `/etc/kubernetes/admin.conf`."""
    parts, names = pattern.split("/"), path.split("/")
    return len(parts) == len(names) and all(
        fnmatchcase(name, part) for name, part in zip(names, parts, strict=True)
    )


def write_hits(path: str, target: Arg, *, append: bool = False) -> list[Hit]:
    """What writing to `path` means: forbidden for disks, memory, sysrq and critical files."""
    note = target.note
    verb = "changes" if append else "overwrites"
    if target.glob:
        if any(fnmatchcase(sample, path) for sample in DEVICE_SAMPLES):
            what = with_note(f"writes onto the disks matching {path}", note)
            return [Hit(FORBID, "device-write", what)]
        if is_critical(path, True):
            return [Hit(FORBID, "critical-file", with_note(f"{verb} {path}", note))]
        return []
    if path in RAW_MEMORY:
        return [Hit(FORBID, "device-write", with_note(f"writes into {path} (raw memory)", note))]
    if is_device(path):
        return [
            Hit(
                FORBID,
                "device-write",
                with_note(f"writes straight onto the disk {path}, destroying its data", note),
            )
        ]
    if path in CRITICAL_FILES:
        what = with_note(f"{verb} {path}, which can lock everyone out", note)
        return [Hit(FORBID, "critical-file", what)]
    if path == "/proc/sysrq-trigger":
        return [
            Hit(
                FORBID,
                "power",
                "triggers a kernel SysRq action (instant reboot, crash or power-off)",
            )
        ]
    if (
        path.startswith("/dev/")
        and path not in HARMLESS_SINKS
        and not path.startswith(DEVICE_SUBDIRS_OK)
        and not re.fullmatch(r"/dev/tty\w*", path)
    ):
        return [Hit(APPROVE, "device-write", f"writes to the device {path}")]
    return []


def service_hits(unit: str, action: Arg | None) -> list[Hit]:
    """`service <unit> stop`: hits when the unit is sshd or the firewall."""
    if action is not None and not action.dynamic and action.value in ("stop", "kill", "force-stop"):
        return unit_hits(literal_arg(unit))
    return []


def unit_hits(unit: Arg) -> list[Hit]:
    """Stopping a unit: hits when it is sshd (also as a glob) or the firewall."""
    if unit.dynamic:
        return []
    base = unit.value
    for suffix in (".service", ".socket"):
        base = base.removesuffix(suffix)
    base = base.split("@")[0]
    pattern = bool(GLOB_RE.search(base))
    if base in SSH_UNITS or (pattern and any(fnmatchcase(s, base) for s in ("ssh", "sshd"))):
        return [Hit(FORBID, "kill-sshd", f"stops {unit.value}, which cuts off remote access")]
    if base in FIREWALL_UNITS:
        return [Hit(FORBID, "firewall", f"turns the firewall off ({unit.value})")]
    return []


def asks_for_help(argv: tuple[Arg, ...]) -> bool:
    """Whether a command only asks for its help or version (`mkfs --help`, `wipefs
    --version`): the tool prints and exits without touching a disk. Only as the one argument:
    not every tool stops at `--help` before acting on the other operands."""
    return len(argv) == 2 and not argv[1].dynamic and argv[1].value in ("--help", "--version")


def is_hangup(signal: str | None) -> bool:
    """Whether a `kill` signal (name or number, any case, with or without SIG) is SIGHUP."""
    return signal is not None and signal.upper().removeprefix("SIG") in ("HUP", "1")


def pid_hits(pids: list[Arg], signal: str | None = None) -> list[Hit]:
    """Killing PIDs: init, every process, or PIDs that came from looking up sshd/init.
    SIGHUP to PID 1 makes systemd reload (or re-execute) itself: that needs approval."""
    hits: list[Hit] = []
    for pid in pids:
        if pid.dynamic:
            if SSH_ORIGIN.search(pid.origin):
                hits.append(Hit(FORBID, "kill-sshd", "kills sshd, which cuts off remote access"))
            elif INIT_ORIGIN.search(pid.origin):
                hits.append(
                    Hit(FORBID, "kill-init", "kills init (PID 1), which brings the machine down")
                )
        elif pid.value == "1" and is_hangup(signal):
            hits.append(
                Hit(APPROVE, "kill-init", "sends SIGHUP to PID 1 (init), which reloads itself")
            )
        elif pid.value == "1":
            hits.append(
                Hit(FORBID, "kill-init", "kills PID 1 (init), which brings the machine down")
            )
        elif pid.value == "-1":
            hits.append(Hit(FORBID, "kill-all", "kills every process on the machine"))
    return hits


def env_hit(name: str, value: str | None) -> tuple[str, bool] | None:
    """What setting `name` (to `value`, None when only known at run time) for a command
    means, as (what it does, whether it can load or run code): nothing for a small harmless
    set (locale, time zone, sizes, no pager), code for BASH_ENV, LD_PRELOAD, PATH, GIT_*...,
    and "not read-only" for any other variable (the program may read any variable)."""
    for pattern, values in HARMLESS_ENV.items():
        if fnmatchcase(name, pattern) and value is not None and values.fullmatch(value):
            return None
    if CODE_ENV.fullmatch(name):
        return f"sets {name}, which can make the program load or run other code", True
    return f"sets {name} for the command it runs", False


def through_proc_root(path: str) -> str | None:
    """`/proc/1/root/etc` is `/etc` (any PID, `self`, a glob): the path inside, or None."""
    m = re.fullmatch(r"/proc/(?:\d+|self|thread-self|[^/]*[*?\[][^/]*)/root(/.*)?", path)
    if m is None:
        return None
    return normalize_path("/" + (m.group(1) or ""))
