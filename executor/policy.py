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
"""

from __future__ import annotations

import copy
import enum
import posixpath
import re
import shlex
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

import yaml

from executor import shell
from executor.errors import ExecutorError
from executor.shell import (
    AndOr,
    Case,
    Command,
    For,
    FunctionDef,
    Group,
    If,
    Loop,
    Part,
    Pipeline,
    Redirect,
    Script,
    ShellSyntaxError,
    SimpleCommand,
    TestExpr,
    Word,
)

# ============================================================================================
# Public types


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
    """A command that only reads: argv starts with `prefix` and no argument matches `deny`.

    `deny` holds fnmatch patterns (``--vacuum*``). Built-in safety denials (``find -delete``,
    ``sort -o``...) apply on top, so a configured list can't make a writing command read-only.
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


class PolicyConfigError(ExecutorError):
    """The policy configuration is invalid; the message says which part."""


def _names(text: str) -> tuple[str, ...]:
    """Split a comma-separated table of names (entries may contain spaces)."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


DEFAULT_READONLY: tuple[ReadOnlyRule, ...] = tuple(
    ReadOnlyRule.of(spec)
    for spec in _names(
        # files and text
        "ls, pwd, cd, cat, tac, head, tail, wc, nl, grep, egrep, fgrep, zgrep, zcat, cut, column,"
        " sort, uniq, diff, cmp, stat, file, find, tree, du, df, md5sum, sha1sum, sha256sum,"
        " sha512sum, realpath, readlink, basename, dirname, namei, lsattr, getfacl, strings,"
        # shell builtins that change nothing
        " echo, printf, true, false, :, test, [, sleep, type, which, whereis, command -v,"
        " command -V,"
        # the machine
        " uptime, uname, hostname, date, whoami, id, groups, w, who, last, free, vmstat, iostat,"
        " nproc, lscpu, lsblk, lsmem, lspci, lsusb, lsmod, findmnt, runlevel, locale, getent, ps,"
        " pgrep, pidof, top, lsof, dmesg, sysctl,"
        # network
        " ip, ss, netstat, dig, host, iptables -L, iptables -S, iptables -nL, iptables -nvL,"
        " iptables -vnL, ip6tables -L, ip6tables -S, nft list, ufw status,"
        # services and logs
        " journalctl, systemctl status, systemctl is-active, systemctl is-enabled,"
        " systemctl is-failed, systemctl list-units, systemctl list-unit-files,"
        " systemctl list-timers, systemctl show, systemctl cat, systemctl --failed,"
        " timedatectl status, hostnamectl status, crontab -l, nginx -t, nginx -T, sshd -t,"
        # packages, containers, code
        " dpkg -l, apt list, apt-cache policy, docker ps, docker images, docker logs, docker stats,"
        " docker version, docker info, docker compose ps, docker compose logs, docker-compose ps,"
        " docker-compose logs, git status, git log, git diff, git show, git branch, git remote"
    )
)
"""Commands that only read, when the built-in safety denials (`_ALWAYS_DENY`) allow it."""


@dataclass(frozen=True)
class PolicyConfig:
    """How a host's commands are judged. `hosts` maps host names (or fnmatch patterns) to
    overrides; `forbidden` and `protected_paths` only ever add to the built-in forbid list.

    Modes: in "blocklist" mode anything not forbidden may be asked for; in "allowlist" mode every
    command must be read-only or match an `allowlist` pattern, or it is forbidden.
    """

    mode: Mode = "blocklist"
    allowlist: tuple[str, ...] = ()
    readonly: tuple[ReadOnlyRule, ...] = DEFAULT_READONLY
    auto_approve_readonly: bool = False
    forbidden: tuple[ForbiddenRule, ...] = ()
    protected_paths: tuple[str, ...] = ()
    workdir: str | None = None
    """Where commands start (as in HostConfig.workdir): `rm -rf *` there can be judged."""
    env: tuple[tuple[str, str], ...] = ()
    """Variables exported before each command (as in HostConfig.env): not assumed empty."""
    hosts: Mapping[str, HostPolicy] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.mode not in ("blocklist", "allowlist"):
            raise PolicyConfigError(f"unknown policy mode {self.mode!r}")
        for host, override in self.hosts.items():
            if override.mode is not None and override.mode not in ("blocklist", "allowlist"):
                raise PolicyConfigError(f"unknown policy mode {override.mode!r} for {host}")
        for pattern in self.allowlist:
            _pattern_words(pattern)
        for path in (*self.protected_paths, *([self.workdir] if self.workdir else [])):
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
        )


# ============================================================================================
# Loading the user-editable lists


@dataclass(frozen=True)
class ForbiddenList:
    """What `forbidden.yaml` adds to the built-in forbid list."""

    rules: tuple[ForbiddenRule, ...] = ()
    protected_paths: tuple[str, ...] = ()


def load_readonly(path: str | Path) -> tuple[ReadOnlyRule, ...]:
    """Read a read-only list: ``commands:`` of strings or ``{command: ..., deny: [...]}``."""
    data = _load_yaml(path)
    items = data.get("commands") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise PolicyConfigError(f"{path}: expected a list under 'commands'")
    rules: list[ReadOnlyRule] = []
    for item in items:
        if isinstance(item, str):
            rules.append(ReadOnlyRule.of(item))
        elif isinstance(item, dict) and isinstance(item.get("command"), str):
            deny = item.get("deny", [])
            if not isinstance(deny, list) or not all(isinstance(d, str) for d in deny):
                raise PolicyConfigError(f"{path}: 'deny' of {item['command']!r} must be strings")
            rules.append(ReadOnlyRule.of(item["command"], *deny))
        else:
            raise PolicyConfigError(f"{path}: cannot read the entry {item!r}")
    return tuple(rules)


def load_forbidden(path: str | Path) -> ForbiddenList:
    """Read extra forbid rules: ``commands: [{pattern, reason}]`` and ``protected_paths``."""
    data = _load_yaml(path)
    if data is None:
        return ForbiddenList()
    if not isinstance(data, dict):
        raise PolicyConfigError(f"{path}: expected a mapping")
    rules: list[ForbiddenRule] = []
    for item in data.get("commands") or []:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("pattern"), str)
            and isinstance(item.get("reason"), str)
        ):
            raise PolicyConfigError(f"{path}: each command needs a 'pattern' and a 'reason'")
        _pattern_words(item["pattern"])
        rules.append(ForbiddenRule(item["pattern"], item["reason"]))
    paths = data.get("protected_paths") or []
    if not isinstance(paths, list) or not all(
        isinstance(p, str) and p.startswith("/") for p in paths
    ):
        raise PolicyConfigError(f"{path}: protected_paths must be absolute paths")
    return ForbiddenList(tuple(rules), tuple(paths))


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


def _load_yaml(path: str | Path) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
        return yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyConfigError(f"cannot read the policy file {path}: {exc}") from exc


# ============================================================================================
# Patterns (allowlist and extra forbid rules)


def _pattern_words(pattern: str) -> tuple[str, ...]:
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
    return _match_words(_pattern_words(pattern), [(a, False) for a in argv])


def _match_words(words: tuple[str, ...], argv: Sequence[tuple[str, bool]]) -> bool:
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
            if posixpath.dirname(_norm(value)) not in _TRUSTED_BIN:
                return False
            value = value.rsplit("/", 1)[-1]
        if not fnmatchcase(value, expected):
            return False
    return True


# ============================================================================================
# The decision


def decide(
    command: str, host: str, requester: Requester, config: PolicyConfig | None = None
) -> Decision:
    """Judge `command` for running on `host` at `requester`'s request.

    Pure and fail-closed: any error while judging yields FORBID, never ALLOW.
    """
    try:
        return _decide(command, host, requester, config or PolicyConfig())
    except Exception as exc:  # fail closed, whatever went wrong
        return Decision(
            Verdict.FORBID,
            f"forbidden: the policy could not check this command ({type(exc).__name__}); "
            "nothing was run",
            "internal-error",
        )


_MAX_CHARS = 100_000


def _decide(command: str, host: str, requester: Requester, config: PolicyConfig) -> Decision:
    if not isinstance(command, str):
        return Decision(Verdict.FORBID, "forbidden: the command is not text", "invalid")
    if len(command) > _MAX_CHARS:
        return Decision(
            Verdict.FORBID,
            f"forbidden: the command is {len(command)} characters long, too long to check "
            f"(the limit is {_MAX_CHARS})",
            "too-long",
        )
    if "\x00" in command:
        return Decision(Verdict.FORBID, "forbidden: the command contains a NUL byte", "invalid")
    if not command.strip():
        return Decision(Verdict.FORBID, "forbidden: there is no command to run", "empty")
    if requester.level not in LEVELS:
        return Decision(
            Verdict.FORBID,
            f"forbidden: {requester.user_id} has the unknown permission level {requester.level!r}",
            "unknown-level",
        )
    cfg = config.for_host(host)
    analyzer = _Analyzer(cfg)
    hidden = _hidden_characters(command)
    if hidden:
        analyzer.note_approval(
            "hidden-characters",
            f"needs approval: the command contains invisible or control characters ({hidden}) "
            "that can hide what it really does",
        )
    script: Script | None
    try:
        script = shell.parse(command)
    except ShellSyntaxError as exc:
        analyzer.note_approval(
            "unparseable",
            f"needs approval: the command can't be parsed reliably ({exc.message}), "
            "so a person has to check it",
        )
        try:
            script = shell.parse(command, lenient=True)
        except ShellSyntaxError:
            script = None
    if script is not None:
        if not script.items and not analyzer.findings:
            return Decision(Verdict.FORBID, "forbidden: there is no command to run", "empty")
        analyzer.run(script)
    return _verdict(analyzer, cfg, command, host, requester)


def _verdict(
    analyzer: _Analyzer, cfg: PolicyConfig, command: str, host: str, requester: Requester
) -> Decision:
    findings = analyzer.findings
    for f in findings:
        if f.verdict is Verdict.FORBID:
            return f
    approvals = [f for f in findings if f.verdict is Verdict.NEEDS_APPROVAL]
    changes = [f for f in analyzer.facts if f.problem is not None]
    if cfg.mode == "allowlist":
        if approvals:
            return Decision(
                Verdict.FORBID,
                f"forbidden on {host} (allowlist mode): {_bare(approvals[0].reason)}",
                "allowlist",
            )
        patterns = [_pattern_words(p) for p in cfg.allowlist]
        for fact in changes:
            argv = [(a.value, a.dynamic) for a in fact.argv]
            if not any(_match_words(words, argv) for words in patterns):
                return Decision(
                    Verdict.FORBID,
                    f"forbidden: {_quote(fact.text)} is not on the allowlist for {host}",
                    "allowlist",
                )
    if requester.level == "readonly":
        if approvals:
            return Decision(
                Verdict.FORBID,
                f"forbidden: {requester.user_id} may only run read-only commands, and "
                f"{_bare(approvals[0].reason)}",
                "level",
            )
        if changes:
            fact = changes[0]
            return Decision(
                Verdict.FORBID,
                f"forbidden: {requester.user_id} may only run read-only commands; "
                f"{_quote(fact.text)} {fact.problem}",
                "level",
            )
    if approvals:
        return approvals[0]
    if changes:
        fact = changes[0]
        return Decision(
            Verdict.NEEDS_APPROVAL, f"needs approval: {_quote(fact.text)} {fact.problem}", "change"
        )
    if not cfg.auto_approve_readonly:
        return Decision(
            Verdict.NEEDS_APPROVAL,
            f"needs approval: {_quote(command)} only reads, but {host} does not auto-approve "
            "read-only commands",
            "readonly-manual",
        )
    return Decision(
        Verdict.ALLOW, f"allowed: {_quote(command)} only reads (auto-approved)", "readonly"
    )


def _bare(reason: str) -> str:
    for prefix in ("needs approval: ", "forbidden: "):
        if reason.startswith(prefix):
            return reason[len(prefix) :]
    return reason


def _quote(text: str, limit: int = 80) -> str:
    """`text` as inline code for the chat room, on one line and shortened."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    if "`" in flat:
        return f"`` {flat} ``"
    return f"`{flat}`"


def _hidden_characters(text: str) -> str:
    found: list[str] = []
    for ch in text:
        if ch in "\t\n":
            continue
        if unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp"):
            name = f"U+{ord(ch):04X}"
            if name not in found:
                found.append(name)
    return ", ".join(found[:3]) + (" …" if len(found) > 3 else "")


# ============================================================================================
# Built-in knowledge

PROTECTED_PATHS: frozenset[str] = frozenset(
    _names(
        "/bin, /boot, /dev, /etc, /home, /lib, /lib32, /lib64, /libx32, /media, /mnt, /opt, /proc,"
        " /root, /run, /sbin, /snap, /srv, /sys, /usr, /var, /boot/efi, /usr/bin, /usr/sbin,"
        " /usr/lib, /usr/lib32, /usr/lib64, /usr/libexec, /usr/local, /usr/share, /usr/include,"
        " /var/lib"
    )
)
"""Directories whose recursive deletion, chmod or chown wrecks the system (plus `/` itself)."""

CRITICAL_FILES: frozenset[str] = frozenset(
    _names("/etc/passwd, /etc/shadow, /etc/group, /etc/gshadow, /etc/sudoers")
)
"""Files whose loss or overwrite locks everyone out."""

_TRUSTED_BIN = frozenset(
    _names("/bin, /usr/bin, /sbin, /usr/sbin, /usr/local/bin, /usr/local/sbin")
)
_BLOCK_DEVICE = re.compile(
    r"/dev/(?:"
    r"[shv]d[a-z]+\d*|xvd[a-z]+\d*|nvme\d+(?:n\d+(?:p\d+)?)?|mmcblk\d+(?:p\d+)?|md\d+|md/.+"
    r"|dm-\d+|mapper/.+|disk/by-[^/]+/.+|loop\d+|nbd\d+|rbd\d+|zd\d+|zvol/.+|bcache\d+"
    r"|drbd\d+|sr\d+|root|[a-z][a-z0-9_.-]*/[a-z0-9_.+-]+)"
)
"""Disks, partitions and volumes (the last branch is LVM's /dev/<vg>/<lv>)."""
_DEVICE_SUBDIRS_OK = _names(
    "/dev/fd/, /dev/pts/, /dev/shm/, /dev/mqueue/, /dev/hugepages/, /dev/tcp/, /dev/udp/,"
    " /dev/net/, /dev/input/, /dev/snd/, /dev/dri/, /dev/bus/, /dev/char/, /dev/cpu/,"
    " /dev/serial/, /dev/usb/, /dev/vfio/"
)
_HARMLESS_SINKS = frozenset(
    _names(
        "/dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom, /dev/stdout, /dev/stderr,"
        " /dev/stdin, /dev/tty, /dev/console, /dev/kmsg, /dev/log"
    )
)
_RAW_MEMORY = frozenset(_names("/dev/mem, /dev/kmem, /dev/port"))
_DEVICE_SAMPLES = _names(
    "/dev/sda, /dev/sda1, /dev/vda, /dev/xvda, /dev/nvme0n1, /dev/nvme0n1p1, /dev/mmcblk0,"
    " /dev/md0, /dev/dm-0, /dev/mapper/root"
)
# Reading these is not destructive, but shows secrets in a chat room: a person must approve.
_SECRET_GLOBS = _names(
    "/etc/shadow, /etc/shadow-, /etc/gshadow, /etc/gshadow-, /etc/ssh/ssh_host_*_key,"
    " /etc/ssl/private/*, /root/.ssh/*, /home/*/.ssh/id_*, /proc/*/environ"
)
_SECRET_EXAMPLES = _names(
    "/etc/shadow, /etc/gshadow, /etc/ssh/ssh_host_ed25519_key, /etc/ssl/private/server.key,"
    " /root/.ssh/id_ed25519, /home/user/.ssh/id_rsa, /proc/1/environ"
)
_SECRET_NAMES = _names(
    "id_rsa, id_dsa, id_ecdsa, id_ed25519, .env, *.env, .netrc, .pgpass, .git-credentials,"
    " .my.cnf, credentials, *.key, environ"
)
_METADATA_ONLY = frozenset(
    _names(
        "ls, stat, du, find, tree, namei, lsattr, getfacl, wc, test, [, realpath, readlink,"
        " basename, dirname, file, cd, echo, printf, type, which, whereis, md5sum, sha1sum,"
        " sha256sum, sha512sum, command"
    )
)
"""Read-only commands that show names or sizes, not contents: they may look at secret files."""

_ZERO_COUNTERS = ("-Z*", "--zero*", "-[!-]*Z*")
# Options that make an otherwise read-only command write, delete or run things. Applied on top of
# any configured read-only list, keyed by the rule's command words.
_ALWAYS_DENY: dict[str, tuple[str, ...]] = {
    "find": _names("-delete, -exec, -execdir, -ok, -okdir, -fprint, -fprint0, -fprintf, -fls"),
    "sort": ("-o*", "--output*", "-[!-]*o*", "--compress-program*"),
    "journalctl": _names(
        "--vacuum*, --rotate, --flush, --sync, --relinquish-var, --smart-relinquish-var,"
        " --setup-keys, --update-catalog"
    ),
    "dmesg": (*_names("-c, -C, -D, -E, -n*, --clear, --read-clear, --console-*"), "-[!-]*[cCDEn]*"),
    "getent": _names("shadow, gshadow"),
    "printf": ("-v",),
    "test": ("-v",),
    "[": ("-v",),
    "nft list": _names(
        "*;*, add, delete, flush, insert, replace, create, destroy, reset, rename, -f*, --file*"
    ),
    "date": ("-s*", "--set*", "[!+-]*"),
    "hostname": ("[!-]*", "-F*", "--file*", "-b", "--boot"),
    "sysctl": ("-w", "--write", "-p*", "--load*", "--system", "*=*", "-[!-]*[wp]*"),
    "ip": _names(
        "add, del, delete, deleteall, change, replace, set, flush, append, prepend, exec, save,"
        " restore, update, allocspi, up, down, -b*, -batch, --batch, -force"
    ),
    "ss": ("-K", "--kill", "-[!-]*K*"),
    "ps": ("[!-]*e*",),
    "tree": ("-o*",),
    "git branch": (
        *_names(
            "-d, -D, -m, -M, -c, -C, -f, -u, --delete, --move, --copy, --force, --set-upstream*,"
            " --unset-upstream, --edit-description"
        ),
        "-[!-]*[dDmMcCfu]*",
        "[!-]*",
    ),
    "git remote": ("[!-]*",),
    "git log": ("--output*", "--ext-diff"),
    "git diff": ("--output*", "--ext-diff"),
    "git show": ("--output*", "--ext-diff"),
    "crontab -l": ("-r", "-e", "-i", "-[!-]*[rei]*", "[!-]*"),
    "nginx -t": ("-s*",),
    "nginx -T": ("-s*",),
    "iptables -L": _ZERO_COUNTERS,
    "iptables -nL": _ZERO_COUNTERS,
    "iptables -nvL": _ZERO_COUNTERS,
    "iptables -vnL": _ZERO_COUNTERS,
    "ip6tables -L": _ZERO_COUNTERS,
}
_MAX_POSITIONAL = {"uniq": 1, "xxd": 1}
_STANDARD_ENV = frozenset(
    _names(
        "USER, LOGNAME, PATH, SHELL, LANG, TERM, HOSTNAME, UID, EUID, PPID, RANDOM, SECONDS,"
        " LINENO, BASHPID, BASH_VERSION, SSH_CONNECTION, SSH_CLIENT, OLDPWD, MAIL, IFS, OSTYPE,"
        " HOSTTYPE, MACHTYPE"
    )
)
"""Variables that are always set in a login shell: never assumed empty."""
_SENSITIVE_ENV = re.compile(
    r"PATH|IFS|ENV|BASH_ENV|BASHOPTS|SHELLOPTS|PS4|PROMPT_COMMAND|CDPATH|GLOBIGNORE|HOME"
    r"|LD_.*|.*PAGER.*|.*EDITOR.*|VISUAL|BROWSER|GIT_.*|LESS.*|PYTHON.*|PERL5?.*|RUBY.*"
    r"|NODE_.*|SYSTEMD_.*|DOCKER_.*|KUBECONFIG|SSH_.*|TMPDIR|XDG_.*"
)
"""Variables that change which program runs or what it loads: setting them is not read-only."""
_SHELLS = frozenset(
    _names("sh, bash, dash, zsh, ksh, mksh, ash, fish, csh, tcsh, rbash, yash, posh")
)
_INTERPRETER_RE = re.compile(
    r"(?P<family>python|pypy|perl|ruby|node|nodejs|php|lua|luajit|tclsh|Rscript|deno|bun)"
    r"[0-9.]*"
)
_CODE_FLAGS: dict[str, frozenset[str]] = {
    "python": frozenset(("-c",)),
    "pypy": frozenset(("-c",)),
    "perl": frozenset(("-e", "-E")),
    "ruby": frozenset(("-e",)),
    "node": frozenset(("-e", "--eval", "-p", "--print")),
    "nodejs": frozenset(("-e", "--eval", "-p", "--print")),
    "php": frozenset(("-r",)),
    "lua": frozenset(("-e",)),
    "luajit": frozenset(("-e",)),
    "Rscript": frozenset(("-e",)),
    "deno": frozenset(("eval",)),
    "bun": frozenset(("-e", "--eval")),
}
_VALUE_FLAGS: dict[str, frozenset[str]] = {
    "python": frozenset(("-W", "-X", "--check-hash-based-pycs")),
    "pypy": frozenset(("-W", "-X")),
    "perl": frozenset(("-M", "-m", "-I")),
    "ruby": frozenset(("-r", "-I", "-C")),
    "node": frozenset(("-r", "--require", "--import", "--loader")),
    "nodejs": frozenset(("-r", "--require")),
    "php": frozenset(("-c", "-d")),
}
_AWKS = frozenset(_names("awk, gawk, mawk, nawk"))
_DOWNLOADERS = frozenset(
    _names(
        "curl, wget, fetch, aria2c, http, https, xh, lynx, links, w3m, nc, ncat, netcat, socat,"
        " telnet, ftp, tftp, lftp"
    )
)
"""Programs whose output comes from the network: never pipe it into a shell."""
_ALWAYS_DECODERS = frozenset(
    _names(
        "uudecode, gunzip, zcat, bzcat, bunzip2, xzcat, unxz, zstdcat, unzstd, lzcat, unlzma,"
        " rev, tr"
    )
)
"""Programs that unscramble text: their output piped into a shell is hidden code."""
_STDIN_PATHS = frozenset(_names("-, /dev/stdin, /proc/self/fd/0, /dev/fd/0"))
_POWER_VERBS = {
    "reboot": "reboots the machine",
    "poweroff": "powers the machine off",
    "halt": "halts the machine",
    "kexec": "reboots the machine into another kernel",
    "suspend": "suspends the machine",
    "hibernate": "hibernates the machine",
    "hybrid-sleep": "suspends the machine",
    "suspend-then-hibernate": "suspends the machine",
    "sleep": "suspends the machine",
    "emergency": "drops the machine into emergency mode (no network, no SSH)",
    "rescue": "drops the machine into rescue mode (no network, no SSH)",
    "default": "switches the machine to its default target",
    "soft-reboot": "restarts the machine's whole userspace",
    "switch-root": "switches the machine to another root filesystem",
}
_DANGER_TARGETS = frozenset(
    f"{name}.target"
    for name in _names(
        "poweroff, reboot, halt, kexec, rescue, emergency, shutdown, sleep, suspend, hibernate,"
        " hybrid-sleep, suspend-then-hibernate, ctrl-alt-del, exit, final, soft-reboot,"
        " runlevel0, runlevel1, runlevel6"
    )
)
_SSH_UNITS = frozenset(_names("ssh, sshd, openssh, openssh-server, sshd-session"))
_FIREWALL_UNITS = frozenset(
    _names(
        "firewalld, ufw, nftables, iptables, ip6tables, netfilter-persistent, shorewall, csf, ferm"
    )
)
# What sshd and init look like to pkill, by name and (with -f) by full command line.
_SSHD_LINES = (
    "sshd",
    "/usr/sbin/sshd -D",
    "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",
    "sshd: root@pts/0",
    "sshd: deploy [priv]",
    "sshd-session: root@pts/0",
)
_SSHD_NAMES = ("sshd", "sshd-session")
_INIT_LINES = ("/sbin/init", "/lib/systemd/systemd --system --deserialize 21", "init", "systemd")
_INIT_NAMES = ("systemd", "init")
_SSH_ORIGIN = re.compile(r"\bsshd?\b")
_INIT_ORIGIN = re.compile(r"\b(?:pidof|pgrep|pkill)\b[^|;&]*\b(?:init|systemd)\b")
_GLOB = re.compile(r"[*?\[]")
_NAME_TAKERS = frozenset(
    _names(
        "printf, test, [, read, unset, declare, typeset, export, local, readonly, mapfile,"
        " readarray, let, wait"
    )
)
"""Builtins that take variable names, where `a[$(cmd)]` subscripts get evaluated."""
_ARITH_NAME = re.compile(r"(?<![\w#$])([A-Za-z_][A-Za-z0-9_]*)")
_ASSIGN_ARG = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\+?)=(.*)", re.S)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FIND_NARROWING = frozenset(
    _names(
        "-name, -iname, -path, -ipath, -wholename, -iwholename, -regex, -iregex, -lname, -ilname,"
        " -mtime, -mmin, -atime, -amin, -ctime, -cmin, -newer, -anewer, -cnewer, -newermt, -size,"
        " -user, -group, -uid, -gid, -nouser, -nogroup, -perm, -inum, -samefile, -links, -empty,"
        " -used, -context"
    )
)
"""find tests that pick some files; without them (or negated) find matches everything."""
_FIND_NAME_TESTS = frozenset(
    _names("-name, -iname, -path, -ipath, -wholename, -iwholename, -regex, -iregex")
)
_FIND_NEGATION = frozenset((*_names("!, -not, -o, -or"), ","))
_FORK_RE = re.compile(r"\bfork\b")
_LOOP_RE = re.compile(r"\b(?:while|loop|for|until)\b")
_RMTREE_RE = re.compile(r"\b(?:rmtree|remove_dir_all|rm_rf|rm_r)\s*\(\s*(['\"])(/[^'\"]*)\1")
_REVERSE_SHELL_RE = re.compile(r"socket", re.I)
_SHELL_SPAWN_RE = re.compile(r"/bin/(?:ba|z|da)?sh|pty\.spawn|subprocess|\bexec\b")
_STRING_RE = re.compile(r"\"((?:[^\"\\\n]|\\.)*)\"|'((?:[^'\\\n]|\\.)*)'|`([^`]*)`")

# ============================================================================================
# The analysis


class _T(enum.IntEnum):
    """What flows through a pipe or out of a substitution, from harmless to dangerous to run."""

    NONE = 0
    STATIC = 1  # text known before run time
    OTHER = 2  # some program's output
    DECODED = 3  # decoded or unscrambled text (base64 -d, xxd -r, rev...)
    DOWNLOAD = 4  # fetched from the network


@dataclass(frozen=True)
class _Stream:
    """A stream's kind, its text when static, what produced it, and lines known to be in it."""

    kind: _T = _T.NONE
    text: str = ""
    origin: str = ""
    lines: tuple[str, ...] = ()


_NO_STREAM = _Stream()
_OTHER_STREAM = _Stream(_T.OTHER)


def _cat(a: str, b: str) -> str:
    if not a:
        return b
    if not b or b in a:
        return a
    return (a + " | " + b)[-2000:]


def _join(a: _Stream, b: _Stream) -> _Stream:
    if a.kind is _T.NONE:
        return b
    if b.kind is _T.NONE:
        return a
    origin = _cat(a.origin, b.origin)
    if a.kind is _T.STATIC and b.kind is _T.STATIC:
        return _Stream(_T.STATIC, (a.text + b.text)[:50_000], origin)
    return _Stream(max(a.kind, b.kind, _T.OTHER), "", origin, (a.lines + b.lines)[:32])


@dataclass(frozen=True)
class _Val:
    """One possible value of an expansion; `text` None means it is only known at run time."""

    text: str | None
    glob: bool = False
    note: str = ""
    taint: _T = _T.NONE
    origin: str = ""


@dataclass(frozen=True)
class _Piece:
    text: str | None
    quoted: bool
    literal: bool
    glob: bool = False
    note: str = ""
    taint: _T = _T.NONE
    origin: str = ""


@dataclass(frozen=True)
class _Arg:
    """One argument after expansion. Dynamic ones keep their source text as `value`."""

    value: str
    raw: str
    dynamic: bool = False
    glob: bool = False
    note: str = ""
    taint: _T = _T.NONE
    origin: str = ""


def _lit(value: str) -> _Arg:
    return _Arg(value, value)


@dataclass(frozen=True)
class _Fact:
    """A command that will run, and why it is not read-only (None when it is)."""

    argv: tuple[_Arg, ...]
    text: str
    problem: str | None


@dataclass
class _Frame:
    """What one simple command does besides its argv: redirections, environment, wrappers."""

    text: str
    writes: list[str] = field(default_factory=list)
    secret_input: str = ""
    net: bool = False
    env_problem: str = ""
    via: str = ""


_Hit: TypeAlias = tuple[Verdict, str, str]
_F = Verdict.FORBID
_A = Verdict.NEEDS_APPROVAL
_MAX_ALTS = 64
_MAX_VARIANTS = 64
_MAX_CODE_DEPTH = 8
_MAX_WRAPPERS = 16


def _and(a: str, b: str) -> str:
    if not a:
        return b
    if not b or b in a:
        return a
    return f"{a} and {b}"


def _with_note(what: str, note: str) -> str:
    return f"{what} ({note})" if note else what


def _norm(path: str) -> str:
    squeezed = re.sub("/+", "/", path)
    normal = posixpath.normpath(squeezed)
    if normal.startswith("//"):
        normal = "/" + normal.lstrip("/")
    return normal


def _cap(values: list[_Val]) -> list[_Val]:
    """At most _MAX_ALTS values; what is cut off is replaced by an unknown, never dropped."""
    if len(values) <= _MAX_ALTS:
        return values
    return [*values[: _MAX_ALTS - 1], _Val(None)]


def _hides_code(text: str) -> bool:
    """Text that bash would run if it were expanded again (prompt or arithmetic expansion)."""
    return bool(re.search(r"\$\(|`|[<>]\(", text))


def _dedupe(values: list[_Val]) -> list[_Val]:
    seen: set[_Val] = set()
    out: list[_Val] = []
    for v in values:
        if v not in seen:
            seen.add(v)
            out.append(v)
    return out


@dataclass
class _Opts:
    """GNU-style options of one command: flags as written, values, and the positional rest."""

    flags: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    positionals: list[_Arg] = field(default_factory=list)

    def has(self, short: str = "", long: str = "") -> bool:
        for f in self.flags:
            if long and (f == f"--{long}" or f.startswith(f"--{long}=")):
                return True
            if short and f.startswith("-") and not f.startswith("--") and short in f[1:]:
                return True
        return False


def _opts(args: Sequence[_Arg], value_opts: frozenset[str] = frozenset()) -> _Opts:
    out = _Opts()
    i = 0
    while i < len(args):
        a = args[i]
        v = a.value
        if a.dynamic or not v.startswith("-") or v == "-":
            out.positionals.append(a)
            i += 1
            continue
        if v == "--":
            out.positionals.extend(args[i + 1 :])
            break
        out.flags.append(v)
        if v in value_opts and i + 1 < len(args):
            out.values[v] = args[i + 1].value
            i += 2
            continue
        if "=" in v and v.startswith("--"):
            key, _, value = v.partition("=")
            out.values[key] = value
        i += 1
    return out


def _fs(spec: str) -> frozenset[str]:
    return frozenset(spec.split())


@dataclass(frozen=True)
class _Wrapper:
    """A command that runs another command given as its remaining arguments."""

    kind: Literal["transparent", "elevating", "opaque"]
    value_opts: frozenset[str] = frozenset()
    positionals: int = 0
    shell_opts: frozenset[str] = frozenset()
    alone: str = ""


_WRAPPERS: dict[str, _Wrapper] = {
    "nice": _Wrapper("transparent", _fs("-n --adjustment")),
    "ionice": _Wrapper("transparent", _fs("-c --class -n --classdata -p --pid -P --pgid -u")),
    "timeout": _Wrapper("transparent", _fs("-s --signal -k --kill-after"), positionals=1),
    "time": _Wrapper("transparent", _fs("-f --format -o --output")),
    "stdbuf": _Wrapper("transparent", _fs("-i --input -o --output -e --error")),
    "unbuffer": _Wrapper("transparent"),
    "builtin": _Wrapper("transparent"),
    "exec": _Wrapper("transparent", _fs("-a")),
    "doas": _Wrapper("elevating", _fs("-u -C")),
    "pkexec": _Wrapper("elevating", _fs("--user")),
    "nohup": _Wrapper("opaque"),
    "setsid": _Wrapper("opaque"),
    "chrt": _Wrapper("opaque", positionals=1),
    "taskset": _Wrapper("opaque", positionals=1),
    "chroot": _Wrapper(
        "opaque", _fs("--userspec --groups"), positionals=1, alone="starts a shell in another root"
    ),
    "nsenter": _Wrapper(
        "opaque",
        _fs("-t --target -S --setuid -G --setgid"),
        alone="starts a shell in another namespace",
    ),
    "unshare": _Wrapper(
        "opaque",
        _fs("--propagation --setgroups --map-user --map-group"),
        alone="starts a shell in new namespaces",
    ),
    "systemd-run": _Wrapper(
        "opaque",
        _fs(
            "-u --unit -p --property --description --slice -E --setenv -M --machine -H --host"
            " --uid --gid --nice --working-directory --on-active --on-boot --on-startup"
            " --on-unit-active --on-unit-inactive --on-calendar --timer-property"
        ),
    ),
    "strace": _Wrapper("opaque", _fs("-o -e -p -s -u -E -a -b -O -S -P -I -X")),
    "ltrace": _Wrapper("opaque", _fs("-o -e -p -s -u -a -n")),
    "flock": _Wrapper(
        "opaque",
        _fs("-w --wait --timeout -E --conflict-exit-code"),
        positionals=1,
        shell_opts=_fs("-c --command"),
    ),
    "torsocks": _Wrapper("opaque"),
    "proxychains": _Wrapper("opaque"),
    "proxychains4": _Wrapper("opaque"),
    "firejail": _Wrapper("opaque"),
    "sshpass": _Wrapper("opaque", _fs("-p -f -d -P")),
    "ssh-agent": _Wrapper("opaque", _fs("-a -E -t -P")),
    "cgexec": _Wrapper("opaque", _fs("-g")),
    "setpriv": _Wrapper(
        "opaque",
        _fs(
            "--reuid --regid --ruid --rgid --euid --egid --groups --inh-caps --ambient-caps"
            " --bounding-set --securebits --selinux-label --apparmor-profile --pdeathsig"
        ),
    ),
    "gosu": _Wrapper("elevating", positionals=1),
    "su-exec": _Wrapper("elevating", positionals=1),
    "setarch": _Wrapper("transparent", positionals=1),
    "numactl": _Wrapper("transparent", _fs("-C -N -m -p -i")),
    "tini": _Wrapper("transparent"),
    "dumb-init": _Wrapper("transparent"),
}
_SUDO_VALUE_OPTS = _fs(
    "-u -g -h -p -C -D -r -t -U -T -R --user --group --host --prompt --close-from --chdir"
    " --role --type --other-user --command-timeout --chroot"
)


class _Analyzer:
    """Walks a parsed script, collecting findings (forbid/approve) and the commands it runs.

    State is per decision: variables assigned so far, possible working directories, and a cache
    so each substitution is analysed once. Nested code (`sh -c`, `eval`) gets a child analyzer
    that shares the findings.
    """

    def __init__(self, cfg: PolicyConfig) -> None:
        self.cfg = cfg
        self.findings: list[Decision] = []
        """What the script earns: forbid or approval verdicts, each with its rule."""
        self.facts: list[_Fact] = []
        self.protected = frozenset(PROTECTED_PATHS | {_norm(p) for p in cfg.protected_paths})
        self.env: dict[str, list[_Val]] = {name: [_Val(value)] for name, value in cfg.env}
        self.cwds: frozenset[str | None] = frozenset({_norm(cfg.workdir) if cfg.workdir else None})
        self.positional: tuple[_Arg, ...] | None = None
        self.sub_cache: dict[int, _Stream] = {}
        self.keep: list[Script] = []
        self.depth = 0
        self.cond = 0
        self.only_forbid = False
        self.last_cd: frozenset[str | None] | None = None
        self.out_stdin: _Stream = _NO_STREAM
        self.pipe_text = ""
        self.context = ""
        self.where = ""
        self.forbidden = [(_pattern_words(r.pattern), r) for r in cfg.forbidden]

    # ---- bookkeeping

    def child(
        self,
        *,
        positional: tuple[_Arg, ...] | None,
        share_env: bool,
        fresh: bool = False,
        only_forbid: bool = False,
    ) -> _Analyzer:
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
        c.out_stdin = _NO_STREAM
        c.pipe_text = ""
        return c

    def note_approval(self, rule: str, reason: str) -> None:
        self._add(Decision(_A, reason, rule))

    def _add(self, finding: Decision) -> None:
        if self.only_forbid and finding.verdict is not _F:
            return
        if finding not in self.findings:
            self.findings.append(finding)

    def forbid(self, rule: str, text: str, what: str) -> None:
        self._add(Decision(_F, f"forbidden: {_quote(text)} {what}{self.inside(text)}", rule))

    def approve(self, rule: str, text: str, what: str) -> None:
        reason = f"needs approval: {_quote(text)} {what}{self.inside(text)}"
        self._add(Decision(_A, reason, rule))

    def inside(self, text: str) -> str:
        """Where nested code came from: `rm -rf /` alone would hide the `trap` around it."""
        if not self.context or text.split() == self.context.split():
            return ""
        return f" (inside {_quote(self.context, 48)})"

    def hit(self, text: str, hits: list[_Hit]) -> None:
        for verdict, rule, what in hits:
            if verdict is _F:
                self.forbid(rule, text, what)
            else:
                self.approve(rule, text, what)

    def fact(self, argv: tuple[_Arg, ...], text: str, problem: str | None) -> None:
        if not self.only_forbid:
            self.facts.append(_Fact(argv, text, problem))

    # ---- scripts and compound commands

    def run(self, script: Script) -> None:
        self.script(script, _NO_STREAM)

    def script(self, script: Script, stdin: _Stream) -> _Stream:
        out = _NO_STREAM
        for item in script.items:
            out = _join(out, self.and_or(item, stdin))
        return out

    def and_or(self, ao: AndOr, stdin: _Stream) -> _Stream:
        saved = self.cwds
        steps = [("", ao.first), *ao.rest]
        out = _NO_STREAM
        if ao.background:
            self.cond += 1
        for idx, (op, pipeline) in enumerate(steps):
            if op:
                self.cond += 1
            self.last_cd = None
            out = _join(out, self.pipeline(pipeline, stdin))
            if op:
                self.cond -= 1
            cd, self.last_cd = self.last_cd, None
            if cd is not None and len(pipeline.commands) == 1:
                following = steps[idx + 1][0] if idx + 1 < len(steps) else ";"
                self.cwds = cd if following == "&&" else self.cwds | cd
        if ao.background:
            self.cond -= 1
            self.cwds = saved
        return out

    def pipeline(self, pipeline: Pipeline, stdin: _Stream) -> _Stream:
        saved, saved_text = self.cwds, self.pipe_text
        if len(pipeline.commands) > 1:
            self.pipe_text = pipeline.text
        stream = stdin
        for command in pipeline.commands:
            stream = self.command(command, stream)
        self.pipe_text = saved_text
        if len(pipeline.commands) > 1:
            self.cwds = saved
            self.last_cd = None
        return stream

    def command(self, command: Command, stdin: _Stream) -> _Stream:
        if isinstance(command, SimpleCommand):
            return self.simple(command, stdin)
        if isinstance(command, FunctionDef):
            if _is_fork_bomb_function(command):
                self.forbid(
                    "fork-bomb",
                    command.text,
                    "is a fork bomb: it keeps copying itself until the machine freezes",
                )
            self.cond += 1
            self.command(command.body, _NO_STREAM)
            self.cond -= 1
            return _NO_STREAM
        stdin = self.compound_redirects(command.redirects, command.text, stdin)
        saved = self.cwds
        out = _NO_STREAM
        if isinstance(command, Group):
            out = self.script(command.body, stdin)
            if command.subshell:
                self.cwds = saved
            return out
        self.cond += 1
        if isinstance(command, If):
            for cond, body in command.clauses:
                out = _join(out, self.script(cond, stdin))
                out = _join(out, self.script(body, stdin))
            if command.orelse is not None:
                out = _join(out, self.script(command.orelse, stdin))
        elif isinstance(command, Loop):
            if _is_spawn_loop(command.condition, command.body, command.until):
                self.forbid(
                    "fork-bomb",
                    command.text,
                    "is a fork bomb: an endless loop that keeps starting background processes",
                )
            out = _join(self.script(command.condition, stdin), self.script(command.body, stdin))
        elif isinstance(command, For):
            out = self.for_loop(command, stdin)
        elif isinstance(command, Case):
            self.word_vals(command.word)
            for arm in command.arms:
                for pattern in arm.patterns:
                    self.word_vals(pattern)
                out = _join(out, self.script(arm.body, stdin))
        elif isinstance(command, TestExpr):
            saved_where, self.where = self.where, command.text
            operators = {w.literal for w in command.words}
            for word in command.words:
                self.word_vals(word)
                literal = word.literal
                if literal is not None and _hides_code(literal):
                    self.stored_code("the test", [_Val(literal)], command.text)
            if command.arith or operators & {"-eq", "-ne", "-lt", "-le", "-gt", "-ge"}:
                for word in command.words:
                    self.arith_check(word)
            if command.arith:
                self.arith_as_code(command.words[0])
            self.where = saved_where
        self.cond -= 1
        self.cwds = saved | self.cwds
        return out

    def for_loop(self, command: For, stdin: _Stream) -> _Stream:
        if command.header is not None:
            self.word_vals(command.header)
            header = command.header.raw
            if re.fullmatch(r"[^;]*;\s*;[^;]*", header) and _is_spawn_loop(
                None, command.body, False
            ):
                self.forbid(
                    "fork-bomb",
                    command.text,
                    "is a fork bomb: an endless loop that keeps starting background processes",
                )
        if command.var:
            if command.items is None:
                values = [_Val(None), _Val("", note=f"if ${command.var} is empty")]
            else:
                values = []
                for word in command.items:
                    for alternative in self.expand_word(word):
                        for arg in alternative:
                            values.append(
                                _Val(None, taint=arg.taint, origin=arg.origin)
                                if arg.dynamic
                                else _Val(arg.value, glob=arg.glob, note=arg.note)
                            )
            self.cond -= 1  # the loop itself always assigns its variable
            self.assign(command.var, _cap(_dedupe(values)) or [_Val("")])
            self.cond += 1
        return self.script(command.body, stdin)

    def compound_redirects(
        self, redirects: tuple[Redirect, ...], text: str, stdin: _Stream
    ) -> _Stream:
        if not redirects:
            return stdin
        frame = _Frame(text)
        for redirect in redirects:
            stdin = self.redirect(redirect, frame, stdin)
        if frame.writes or frame.secret_input or frame.net:
            self.fact((), text, _frame_problem(frame))
        return stdin

    # ---- simple commands

    def simple(self, command: SimpleCommand, stdin: _Stream) -> _Stream:
        saved, self.where = self.where, command.text
        try:
            return self.simple_command(command, stdin)
        finally:
            self.where = saved

    def simple_command(self, command: SimpleCommand, stdin: _Stream) -> _Stream:
        frame = _Frame(command.text)
        self.out_stdin = stdin
        for assignment in command.assignments:
            values = self.assignment_vals(assignment)
            self.stored_code(assignment.name, values, command.text)
            if command.words:
                if _SENSITIVE_ENV.fullmatch(assignment.name):
                    frame.env_problem = f"sets {assignment.name} for the command it runs"
            else:
                self.assign(assignment.name, values, append=assignment.append)
                if _SENSITIVE_ENV.fullmatch(assignment.name):
                    self.fact((), command.text, f"changes {assignment.name}")
        redirected = False
        for redirect in command.redirects:
            before = stdin
            stdin = self.redirect(redirect, frame, stdin)
            redirected = redirected or stdin is not before
        if not command.words:
            if frame.writes:
                self.fact((), command.text, f"writes to {frame.writes[0]}")
            return stdin if redirected else _NO_STREAM
        variants, truncated = self.expand_words(command.words)
        if truncated:
            self.approve(
                "complex", command.text, "has too many possible expansions to check them all"
            )
        out = _NO_STREAM
        for argv in variants:
            if argv:
                out = _join(out, self.run_argv(argv, frame, stdin, 0))
        return out

    def stored_code(self, name: str, values: list[_Val], text: str) -> None:
        """`x='$(cmd)'` runs nothing yet, but `${x@P}` or `$((x))` later would run `cmd`."""
        for v in values:
            if v.text is not None and _hides_code(v.text):
                self.approve(
                    "stored-code",
                    text,
                    f"stores shell code in ${name}, which bash can run on a later expansion",
                )
                self.nested(
                    v.text, _Frame(text), positional=None, stdin=_NO_STREAM, only_forbid=True
                )
                return

    def arith_check(self, word: Word) -> None:
        """Bash evaluates the values of variables in arithmetic as expressions again, so
        `x='a[$(cmd)]'; echo $((x))` runs `cmd`: values must be plain numbers we can see."""
        names: set[str] = set()
        unsafe = False
        for part in word.parts:
            if part.kind == "lit":
                names.update(m.group(1) for m in _ARITH_NAME.finditer(part.text))
            elif part.kind == "param":
                names.add(part.text)
            elif part.kind == "cmdsub" and part.script is not None:
                stream = self.substitution(part.script, "")
                unsafe = unsafe or stream.kind is not _T.STATIC or not _plain_number(stream.text)
        unsafe = unsafe or any(self.arith_unsafe(name, 4) for name in names)
        if unsafe:
            self.approve(
                "arithmetic",
                self.where or word.raw,
                "evaluates a value only known at run time as arithmetic, "
                "which can run commands hidden in it",
            )

    def arith_as_code(self, word: Word) -> None:
        """`$((true && mkfs /dev/sda))` is arithmetic to bash, but shells disagree on such
        edge cases: if the text would be a forbidden command, refuse it anyway."""
        if re.search(r"[A-Za-z]{2}", word.raw):
            frame = _Frame(self.where or word.raw)
            self.nested(word.raw, frame, positional=None, stdin=_NO_STREAM, only_forbid=True)

    def arith_unsafe(self, name: str, depth: int) -> bool:
        if name in self.env:
            values = self.env[name]
        elif name.isdigit() and self.positional is not None:
            values = self.lookup(name)
        else:
            return False  # unset, a standard variable or a special parameter: a number
        for v in values:
            if v.text is None:
                return True
            if _hides_code(v.text):
                self.stored_code(name, [v], self.where)
                return True
            if not _plain_number(v.text):
                inner = {m.group(1) for m in _ARITH_NAME.finditer(v.text)}
                if (
                    depth <= 0
                    or "[" in v.text
                    or any(self.arith_unsafe(n, depth - 1) for n in inner if n != name)
                ):
                    return True
        return False

    def assignment_vals(self, assignment: shell.Assignment) -> list[_Val]:
        if assignment.value is not None:
            return self.word_vals(assignment.value)
        texts: list[str] = []
        unknown: _Val | None = None
        for item in assignment.items:
            for v in self.word_vals(item):
                if v.text is None:
                    unknown = v
                else:
                    texts.append(v.text)
        return [unknown] if unknown is not None else [_Val(" ".join(texts))]

    def assign(self, name: str, values: list[_Val], *, append: bool = False) -> None:
        if append and name in self.env:
            values = [
                _Val(
                    None if a.text is None or b.text is None else a.text + b.text,
                    a.glob or b.glob,
                )
                for a in self.env[name]
                for b in values
            ]
        if self.cond and name in self.env:
            values = self.env[name] + values
        elif self.cond:
            values = [*self.lookup(name), *values]
        self.env[name] = _cap(_dedupe(values))

    def redirect(self, redirect: Redirect, frame: _Frame, stdin: _Stream) -> _Stream:
        op = redirect.op
        if op in ("<<", "<<-"):
            body = redirect.heredoc or Word((), "")
            return self.vals_stream(self.word_vals(body), frame.text)
        if op == "<<<":
            vals = [
                v if v.text is None else replace(v, text=v.text + "\n")
                for v in self.word_vals(redirect.target)
            ]
            return self.vals_stream(vals, frame.text)
        literal = redirect.target.literal
        duplicates_fd = literal is not None and (literal.rstrip("-").isdigit() or literal == "-")
        if op in (">&", "<&") and duplicates_fd:
            return stdin
        targets = [a for alternative in self.expand_word(redirect.target) for a in alternative]
        if op in ("<", "<&"):
            return self.input_stream(targets, frame)
        for target in targets:
            self.write_target(target, frame, append=op in (">>", "&>>"))
        if op == "<>":
            return self.input_stream(targets, frame)
        return stdin

    def vals_stream(self, vals: list[_Val], text: str) -> _Stream:
        if all(v.text is not None for v in vals):
            return _Stream(_T.STATIC, "".join(v.text or "" for v in vals)[:50_000], text)
        taint = max((v.taint for v in vals), default=_T.NONE)
        origin = ""
        for v in vals:
            origin = _cat(origin, v.origin)
        return _Stream(max(taint, _T.OTHER), "", _cat(origin, text))

    def input_stream(self, targets: list[_Arg], frame: _Frame) -> _Stream:
        out = _NO_STREAM
        for target in targets:
            if target.dynamic:
                out = _join(out, _Stream(max(target.taint, _T.OTHER), "", target.origin))
                continue
            for path in self.resolve(target):
                if path == "/dev/null":
                    out = _join(out, _Stream(_T.STATIC, "", frame.text))
                elif path is not None and path.startswith(("/dev/tcp/", "/dev/udp/")):
                    frame.net = True
                    out = _join(out, _Stream(_T.DOWNLOAD, "", frame.text))
                else:
                    if path is not None and _is_secret(path, target.glob):
                        frame.secret_input = path
                    out = _join(out, _Stream(_T.OTHER, "", frame.text))
        return out if out.kind is not _T.NONE else _OTHER_STREAM

    def write_target(self, target: _Arg, frame: _Frame, *, append: bool = False) -> None:
        if target.dynamic:
            frame.writes.append(target.raw)
            return
        for path in self.resolve(target):
            if path is None:
                frame.writes.append(target.value)
                continue
            if path.startswith(("/dev/tcp/", "/dev/udp/")):
                frame.net = True
            self.hit(frame.text, _write_hits(path, target, append=append))
            if path not in _HARMLESS_SINKS and not path.startswith("/dev/fd/"):
                frame.writes.append(path)

    def resolve(self, arg: _Arg) -> list[str | None]:
        """Absolute, normalised paths `arg` may name (None where the directory is unknown)."""
        if arg.dynamic:
            return [None]
        value = arg.value
        if not value:
            return []
        if value.startswith("/"):
            return [_norm(value)]
        return [None if cwd is None else _norm(cwd + "/" + value) for cwd in self.cwds]

    # ---- expansion

    def lookup(self, name: str) -> list[_Val]:
        if name in self.env:
            return list(self.env[name])
        if name.isdigit() or name in ("@", "*"):
            if self.positional is None:
                return [_Val(None), _Val("", note=f"if ${name} is empty")]
            if name in ("@", "*"):
                args = self.positional[1:]
                if any(a.dynamic for a in args):
                    return [_Val(None, taint=max(a.taint for a in args))]
                return [_Val(" ".join(a.value for a in args))]
            index = int(name)
            if index < len(self.positional):
                a = self.positional[index]
                if a.dynamic:
                    return [_Val(None, taint=a.taint, origin=a.origin)]
                return [_Val(a.value, glob=a.glob, note=a.note)]
            return [_Val("", note=f"${name} is empty")]
        if name in ("#", "?", "$", "!", "-"):
            return [_Val(None)]
        if name == "HOME":
            return [_Val("/root"), _Val(None)]
        if name == "PWD":
            return [_Val(c) for c in self.cwds]
        if name in _STANDARD_ENV:
            return [_Val(None)]
        return [_Val(None), _Val("", note=f"if ${name} is unset")]

    def param(self, part: Part) -> list[_Val]:
        name, op = part.text, part.op
        # Always evaluate the argument: `${a[$(cmd)]}` and `${x:-$(cmd)}` run `cmd`.
        arg = self.word_vals(part.arg) if part.arg is not None else [_Val("")]
        base = self.lookup(name)
        if part.arg is not None and op in ("", ":"):  # a subscript or offset: arithmetic
            self.arith_check(part.arg)
        if op == "" and part.arg is not None:  # an array element: unknown
            return [_Val(None)]
        if op == "@" and part.arg is not None and part.arg.literal == "P":
            if any(v.text is None or _hides_code(v.text) for v in base):
                for v in base:
                    self.stored_code(name, [v], self.where)
                self.approve(
                    "dynamic-code",
                    self.where,
                    f"expands ${name} as a prompt, which runs any commands in it",
                )
            return [_Val(None)]
        if op == "":
            return base
        if op == "length":
            return [_Val(None)]
        if op == "indirect":
            return [_Val(None), _Val("", note=f"if ${{!{name}}} is empty")]
        out: list[_Val] = []
        if op in (":-", "-", ":=", "="):
            for v in base:
                if v.text == "":
                    out.extend(replace(d, note=_and(d.note, f"if ${name} is unset")) for d in arg)
                else:
                    out.append(v)
            if op in (":=", "="):
                self.assign(name, out)
        elif op in (":?", "?"):
            out = [v for v in base if v.text != ""] or [_Val(None)]
        elif op in (":+", "+"):
            for v in base:
                if v.text != "":
                    out.extend(arg)
                if v.text is None or v.text == "":
                    out.append(_Val(""))
        else:
            out = [v if v.text == "" else _Val(None, taint=v.taint, origin=v.origin) for v in base]
        return _cap(_dedupe(out))

    def pieces(self, part: Part) -> list[_Piece]:
        if part.kind == "lit":
            glob = not part.quoted and bool(_GLOB.search(part.text))
            return [_Piece(part.text, part.quoted, True, glob)]
        if part.kind == "tilde":
            home = "/root" if part.text in ("", "root") else f"/home/{part.text}"
            return [_Piece(home, True, True)]
        if part.kind == "param":
            out: list[_Piece] = []
            for v in self.param(part):
                expands = not part.quoted and v.text is not None and bool(_GLOB.search(v.text))
                glob = v.glob or expands
                out.append(_Piece(v.text, part.quoted, False, glob, v.note, v.taint, v.origin))
            return out
        if part.kind in ("cmdsub", "procsub") and part.script is not None:
            stream = self.substitution(part.script, part.op)
            if part.kind == "cmdsub" and stream.kind is _T.STATIC:
                text = stream.text.rstrip("\n")
                glob = not part.quoted and bool(_GLOB.search(text))
                return [_Piece(text, part.quoted, False, glob, "", _T.STATIC, stream.origin)]
            return [_Piece(None, True, False, False, "", stream.kind, stream.origin)]
        if part.arg is not None:  # arithmetic: run its substitutions, the value is a number
            self.word_vals(part.arg)
            self.arith_check(part.arg)
            self.arith_as_code(part.arg)
        return [_Piece(None, part.quoted, False)]

    def substitution(self, script: Script, direction: str) -> _Stream:
        key = id(script)
        cached = self.sub_cache.get(key)
        if cached is not None:
            return cached
        self.keep.append(script)
        saved = self.cwds
        stdin = _NO_STREAM
        if direction == ">":
            stdin = _Stream(max(_T.OTHER, self.out_stdin.kind), "", self.out_stdin.origin)
        outer_stdin = self.out_stdin
        self.cond += 1
        out = self.script(script, stdin)
        self.cond -= 1
        self.cwds = saved
        self.out_stdin = outer_stdin
        out = replace(out, origin=_cat(out.origin, script.text))
        self.sub_cache[key] = out
        return out

    def word_vals(self, word: Word) -> list[_Val]:
        """The possible values of `word` as one string each (no field splitting)."""
        combos = [_Val("")]
        for part in word.parts:
            pieces = self.pieces(part)
            new: list[_Val] = []
            for c in combos:
                for p in pieces:
                    text = None if c.text is None or p.text is None else c.text + p.text
                    new.append(
                        _Val(
                            text,
                            c.glob or p.glob,
                            _and(c.note, p.note),
                            max(c.taint, p.taint),
                            _cat(c.origin, p.origin),
                        )
                    )
            combos = _cap(_dedupe(new))
        return combos

    def expand_word(self, word: Word) -> list[list[_Arg]]:
        """The possible expansions of `word`, each a list of fields (arguments)."""
        if word.parts and word.unquoted_literal:
            text = word.literal or ""
            values = shell.brace_expand(text) if "{" in text else [text]
            return [[_Arg(v, word.raw, glob=bool(_GLOB.search(v))) for v in values]]
        sequences: list[list[_Piece]] = [[]]
        for part in word.parts:
            pieces = self.pieces(part)
            sequences = [[*s, p] for s in sequences for p in pieces]
            if len(sequences) > _MAX_ALTS:  # keep an unknown stand-in for what was cut off
                sequences = [*sequences[: _MAX_ALTS - 1], [_Piece(None, True, False)]]
        return [self.fields(seq, word) for seq in sequences]

    def ifs(self) -> str:
        values = self.env.get("IFS")
        if values and len(values) == 1 and values[0].text is not None:
            return values[0].text
        return " \t\n"

    def fields(self, sequence: list[_Piece], word: Word) -> list[_Arg]:
        ifs = self.ifs()
        splitter = re.compile(f"[{re.escape(ifs)}]+") if ifs else None
        out: list[_Arg] = []
        text: list[str] = []
        state = {"dyn": False, "glob": False, "keep": False}
        meta = {"note": "", "origin": ""}
        taint = [_T.NONE]

        def flush() -> None:
            value = "".join(text)
            if state["keep"] or state["dyn"] or value:
                dynamic = state["dyn"]
                out.append(
                    _Arg(
                        word.raw if dynamic else value,
                        word.raw,
                        dynamic,
                        state["glob"] and not dynamic,
                        meta["note"],
                        taint[0],
                        meta["origin"],
                    )
                )
            text.clear()
            state.update(dyn=False, glob=False, keep=False)

        for piece in sequence:
            meta["note"] = _and(meta["note"], piece.note)
            meta["origin"] = _cat(meta["origin"], piece.origin)
            taint[0] = max(taint[0], piece.taint)
            if piece.text is None:
                state["dyn"] = True
                state["keep"] = True
                continue
            if piece.quoted or piece.literal:
                text.append(piece.text)
                state["keep"] = state["keep"] or piece.quoted or bool(piece.text)
                state["glob"] = state["glob"] or piece.glob
                continue
            chunks = splitter.split(piece.text) if splitter else [piece.text]
            for k, chunk in enumerate(chunks):
                if k:
                    flush()
                text.append(chunk)
                if chunk:
                    state["keep"] = True
                    state["glob"] = state["glob"] or piece.glob
        flush()
        return out

    def expand_words(self, words: tuple[Word, ...]) -> tuple[list[tuple[_Arg, ...]], bool]:
        variants: list[tuple[_Arg, ...]] = [()]
        truncated = False
        for word in words:
            alternatives = self.expand_word(word)
            new = [v + tuple(a) for v in variants for a in alternatives]
            if len(new) > _MAX_VARIANTS:
                truncated = True
                new = new[:_MAX_VARIANTS]
            variants = new
        return variants, truncated

    # ---- running one argv

    def run_argv(
        self, argv: tuple[_Arg, ...], frame: _Frame, stdin: _Stream, depth: int
    ) -> _Stream:
        if depth > _MAX_WRAPPERS:
            self.approve("complex", frame.text, "nests too many command wrappers to check")
            return _OTHER_STREAM
        head = argv[0]
        if head.dynamic:
            return self.dynamic_head(argv, frame, stdin)
        path = head.value
        name = path.rsplit("/", 1)[-1]
        if re.match(r"/etc/(?:rc\.d/)?init\.d/", path):
            self.hit(frame.text, _service_hits(name, argv[1] if len(argv) > 1 else None))
            self.fact(argv, frame.text, "controls a system service")
            return _OTHER_STREAM
        handler = _HANDLERS.get(name)
        if handler is not None:
            return handler(self, name, argv, frame, stdin, depth)
        if _INTERPRETER_RE.fullmatch(name):
            return self.interpreter(name, argv, frame, stdin, depth)
        wrapper = _WRAPPERS.get(name)
        if wrapper is not None:
            return self.unwrap(name, wrapper, argv, frame, stdin, depth)
        return self.leaf(name, argv, frame, stdin)

    def dynamic_head(self, argv: tuple[_Arg, ...], frame: _Frame, stdin: _Stream) -> _Stream:
        head = argv[0]
        if head.taint is _T.DOWNLOAD:
            self.forbid(
                "download-exec", frame.text, "runs a command fetched from the network unseen"
            )
        elif head.taint is _T.DECODED:
            self.forbid("decode-exec", frame.text, "runs a command hidden behind an encoding")
        else:
            self.approve(
                "dynamic-command",
                frame.text,
                f"runs a command whose name is only known at run time ({head.raw})",
            )
        for guess in ("rm", "chmod", "chown", "chgrp", "dd", "shred"):
            guessed = (replace(head, value=guess, dynamic=False), *argv[1:])
            for verdict, rule, what in self.destructive(guess, guessed, frame, stdin):
                if verdict is _F:
                    self.forbid(
                        rule,
                        frame.text,
                        f"runs a command chosen at run time ({head.raw}); as `{guess}` it {what}",
                    )
        for k, a in enumerate(argv[1:-1], start=1):
            code = argv[k + 1]
            if re.fullmatch(r"-[a-z]*c", a.value) and not a.dynamic and not code.dynamic:
                self.nested(code.value, frame, positional=None, stdin=_NO_STREAM, only_forbid=True)
        self.fact(argv, frame.text, "runs a command whose name is only known at run time")
        return _Stream(max(_T.OTHER, stdin.kind), "", _cat(stdin.origin, frame.text))

    def leaf(self, name: str, argv: tuple[_Arg, ...], frame: _Frame, stdin: _Stream) -> _Stream:
        self.hit(frame.text, self.destructive(name, argv, frame, stdin))
        if name == "trap" and len(argv) > 2 and not argv[1].value.startswith("-"):
            self.code_arg(argv[1], frame, "shell", positional=self.positional, stdin=_NO_STREAM)
        for code in _embedded_code(name, argv, stdin):
            self.nested(code, frame, positional=None, stdin=_NO_STREAM, only_forbid=True)
        values = [(a.value, a.dynamic) for a in argv]
        for words, rule in self.forbidden:
            if _match_words(words, values):
                self.forbid(f"custom:{rule.pattern}", frame.text, rule.reason)
        if name in _NAME_TAKERS:  # `printf -v 'a[$(cmd)]'` and `test -v` evaluate subscripts
            for a in argv[1:]:
                if not a.dynamic and _hides_code(a.value):
                    self.stored_code(a.value.split("[", 1)[0], [_Val(a.value)], frame.text)
        if name == "let":  # never read-only; its static expressions may still hide code
            for a in argv[1:]:
                if not a.dynamic:
                    self.arith_check(Word((Part("lit", a.value),), a.raw))
        if name in ("cd", "pushd"):
            self.change_dir(argv)
        self.declarations(name, argv)
        self.fact(argv, frame.text, self.readonly_problem(name, argv, frame))
        return self.output(name, argv, stdin, frame)

    def change_dir(self, argv: tuple[_Arg, ...]) -> None:
        args = [
            a for a in argv[1:] if a.dynamic or not (a.value.startswith("-") and a.value != "-")
        ]
        if not args:
            self.last_cd = frozenset({"/root"})
            return
        target = args[0]
        if target.dynamic or target.value == "-" or target.glob:
            self.last_cd = frozenset({None})
        else:
            self.last_cd = frozenset(self.resolve(target)) or frozenset({None})

    def declarations(self, name: str, argv: tuple[_Arg, ...]) -> None:
        args = argv[1:]
        if name in ("export", "declare", "typeset", "local", "readonly"):
            for a in args:
                m = _ASSIGN_ARG.match(a.raw if a.dynamic else a.value)
                if m is None:
                    continue
                values = [_Val(None if a.dynamic else m.group(3))]
                self.stored_code(m.group(1), values, " ".join(x.raw for x in argv))
                self.assign(m.group(1), values)
        elif name in ("read", "mapfile", "readarray"):
            for a in args:
                if not a.dynamic and _NAME.fullmatch(a.value):
                    self.assign(a.value, [_Val(None)])
        elif name == "unset":
            for a in args:
                if not a.dynamic and _NAME.fullmatch(a.value):
                    self.env[a.value] = [_Val("", note=f"since {a.value} was unset")]
        elif name == "printf" and len(args) >= 2 and args[0].value == "-v" and not args[1].dynamic:
            self.assign(args[1].value, [_Val(None)])

    # ---- read-only?

    def readonly_problem(self, name: str, argv: tuple[_Arg, ...], frame: _Frame) -> str | None:
        """Why this command is not read-only, or None if it only reads."""
        if frame.via:
            return f"runs through {frame.via}"
        if frame.env_problem:
            return frame.env_problem
        if frame.writes or frame.secret_input or frame.net:
            return _frame_problem(frame)
        path = argv[0].value
        if "/" in path and posixpath.dirname(_norm(path)) not in _TRUSTED_BIN:
            return f"runs {path}, which is not a system program"
        rule = self.readonly_rule(name, argv)
        if rule is None:
            return "is not on the read-only list"
        extra = argv[len(rule.prefix) :]
        deny = rule.deny + _ALWAYS_DENY.get(" ".join(rule.prefix), ())
        if len(rule.prefix) > 1:
            deny += _ALWAYS_DENY.get(name, ())
        if deny and any(a.dynamic or a.glob for a in extra):
            return "has arguments that are only known at run time"
        for a in extra:
            for pattern in deny:
                if fnmatchcase(a.value, pattern):
                    return f"uses `{a.value}`, which is more than reading"
        limit = _MAX_POSITIONAL.get(name)
        if limit is not None and sum(1 for a in extra if not a.value.startswith("-")) > limit:
            return "writes its output to a file"
        if name not in _METADATA_ONLY:
            recursive = name in ("grep", "egrep", "fgrep", "zgrep") and any(
                a.value in ("--recursive", "--dereference-recursive")
                or re.fullmatch(r"-[A-Za-z]*[rR][A-Za-z]*", a.value) is not None
                for a in extra
                if not a.dynamic
            )
            for a in extra:
                if a.dynamic:
                    return "reads files chosen at run time"
                if a.value.startswith("-"):
                    continue
                for p in self.resolve(a):
                    if p is None:
                        if _is_secret(a.value, a.glob):
                            return f"reads {a.value}, which may hold secrets"
                        continue
                    if _is_secret(p, a.glob):
                        return f"reads {a.value}, which may hold secrets"
                    if recursive and any(
                        s == p or s.startswith(p.rstrip("/") + "/") for s in _SECRET_EXAMPLES
                    ):
                        return f"searches {a.value} recursively, which holds secrets"
        return None

    def readonly_rule(self, name: str, argv: tuple[_Arg, ...]) -> ReadOnlyRule | None:
        best: ReadOnlyRule | None = None
        for rule in self.cfg.readonly:
            if rule.prefix[0] != name or len(argv) < len(rule.prefix):
                continue
            if all(
                not argv[k].dynamic and argv[k].value == rule.prefix[k]
                for k in range(1, len(rule.prefix))
            ) and (best is None or len(rule.prefix) > len(best.prefix)):
                best = rule
        return best

    # ---- what a command writes to its stdout

    def output(self, name: str, argv: tuple[_Arg, ...], stdin: _Stream, frame: _Frame) -> _Stream:
        origin = _cat(stdin.origin, frame.text)
        if name in _DOWNLOADERS:
            return _Stream(_T.DOWNLOAD, "", origin)
        if _is_decoder(name, argv):
            return _Stream(max(_T.DECODED, stdin.kind), "", origin)
        if name == "echo":
            return _echo(argv[1:], frame.text)
        if name == "printf":
            return _printf_stream(argv[1:], frame.text)
        if name in ("cat", "tee") and (
            name == "tee" or all(not a.dynamic and a.value.startswith("-") for a in argv[1:])
        ):
            return replace(stdin, origin=origin) if stdin.kind is not _T.NONE else _NO_STREAM
        kind = stdin.kind if stdin.kind >= _T.DECODED else _T.OTHER
        return _Stream(kind, "", origin)

    # ---- code: sh -c, eval, interpreters, stdin

    def nested(
        self,
        code: str,
        frame: _Frame,
        *,
        positional: tuple[_Arg, ...] | None,
        stdin: _Stream,
        share_env: bool = False,
        fresh: bool = False,
        only_forbid: bool = False,
    ) -> _Stream:
        if self.depth >= _MAX_CODE_DEPTH:
            self.approve("complex", frame.text, "nests shell code too deeply to check")
            return _OTHER_STREAM
        try:
            script = shell.parse(code)
        except ShellSyntaxError as exc:
            if not only_forbid:
                self.approve(
                    "unparseable",
                    frame.text,
                    f"runs shell code that can't be parsed reliably ({exc.message})",
                )
            try:
                script = shell.parse(code, lenient=True)
            except ShellSyntaxError:
                return _OTHER_STREAM
        self.keep.append(script)
        sub = self.child(
            positional=positional, share_env=share_env, fresh=fresh, only_forbid=only_forbid
        )
        sub.context = self.context or frame.text
        return sub.script_via(script, stdin, frame.via) if frame.via else sub.script(script, stdin)

    def script_via(self, script: Script, stdin: _Stream, via: str) -> _Stream:
        """Run `script` with every command marked as running through `via` (sudo, ssh...)."""
        before = len(self.facts)
        out = self.script(script, stdin)
        for k in range(before, len(self.facts)):
            fact = self.facts[k]
            if fact.problem is None:
                self.facts[k] = replace(fact, problem=f"runs through {via}")
        return out

    def code_arg(
        self,
        arg: _Arg,
        frame: _Frame,
        label: str,
        *,
        positional: tuple[_Arg, ...] | None,
        stdin: _Stream,
        share_env: bool = False,
    ) -> _Stream:
        if arg.dynamic:
            return self.dynamic_code(arg, frame, label)
        return self.nested(
            arg.value, frame, positional=positional, stdin=stdin, share_env=share_env
        )

    def dynamic_code(self, arg: _Arg, frame: _Frame, label: str) -> _Stream:
        if arg.taint is _T.DOWNLOAD:
            self.forbid("download-exec", frame.text, "runs code downloaded from the network unseen")
        elif arg.taint is _T.DECODED:
            self.forbid("decode-exec", frame.text, "decodes hidden code and runs it")
        else:
            self.approve(
                "dynamic-code",
                frame.text,
                f"runs {label} code that is only known at run time ({arg.raw})",
            )
        self.fact((), frame.text, f"runs {label} code that can't be checked")
        return _OTHER_STREAM

    def stdin_code(self, stdin: _Stream, frame: _Frame, label: str, *, shell_like: bool) -> _Stream:
        kind = stdin.kind
        if self.pipe_text and kind is not _T.NONE:
            frame = replace(frame, text=self.pipe_text)
        if kind is _T.DOWNLOAD:
            self.forbid(
                "download-exec",
                frame.text,
                f"pipes code downloaded from the network straight into {label}",
            )
        elif kind is _T.DECODED:
            self.forbid("decode-exec", frame.text, f"decodes hidden code and pipes it into {label}")
        elif kind is _T.STATIC:
            if shell_like:
                self.nested(stdin.text, frame, positional=None, stdin=_NO_STREAM)
            else:
                self.scan_code(stdin.text, frame)
        elif kind is _T.OTHER:
            self.approve(
                "pipe-to-shell",
                frame.text,
                f"feeds its input to {label}, so the code it runs can't be checked",
            )
        else:
            self.approve("interactive", frame.text, f"starts an interactive {label}")
        self.fact((), frame.text, f"feeds commands to {label}")
        return _OTHER_STREAM

    def scan_code(self, code: str, frame: _Frame) -> None:
        """Look inside another language's code for shell commands and classic fork bombs."""
        if _FORK_RE.search(code) and _LOOP_RE.search(code):
            self.forbid(
                "fork-bomb", frame.text, "is a fork bomb: it starts processes in an endless loop"
            )
        for m in _RMTREE_RE.finditer(code):
            path = _norm(m.group(2))
            desc = self.danger(path, glob=False)
            if desc:
                self.forbid("recursive-delete", frame.text, f"deletes {desc} recursively")
        if _REVERSE_SHELL_RE.search(code) and _SHELL_SPAWN_RE.search(code) and "connect" in code:
            self.forbid(
                "reverse-shell",
                frame.text,
                "hands a shell to a network connection (a reverse shell)",
            )
        for k, m in enumerate(_STRING_RE.finditer(code)):
            if k >= 50:
                break
            literal = next(g for g in m.groups() if g is not None)
            literal = literal.replace('\\"', '"').replace("\\'", "'").replace("\\\\", "\\")
            if len(literal) >= 2 and re.search(r"[A-Za-z]", literal):
                self.nested(literal, frame, positional=None, stdin=_NO_STREAM, only_forbid=True)

    # ---- handlers for commands that run other commands

    def h_shell(
        self, name: str, argv: tuple[_Arg, ...], frame: _Frame, stdin: _Stream, depth: int
    ) -> _Stream:
        args = argv[1:]
        command_mode = stdin_mode = False
        i = 0
        while i < len(args):
            a = args[i]
            if a.dynamic:
                break
            v = a.value
            if v in ("-", "--"):
                i += 1
                stdin_mode = stdin_mode or v == "-"
                break
            if v in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file"):
                i += 2
                continue
            if v.startswith("--"):
                i += 1
                continue
            if v[:1] in ("-", "+") and len(v) > 1:
                letters = v[1:]
                if v[0] == "-" and "c" in letters:
                    command_mode = True
                if v[0] == "-" and "s" in letters:
                    stdin_mode = True
                i += 2 if letters[-1] in "oO" else 1
                continue
            break
        rest = args[i:]
        if frame.net:
            self.forbid(
                "reverse-shell", frame.text, "connects a shell to the network (a reverse shell)"
            )
        if command_mode and not stdin_mode:
            if not rest:
                self.fact(argv, frame.text, "has -c but no command")
                return _OTHER_STREAM
            params = tuple(rest[1:]) or (argv[0],)
            return self.code_arg(rest[0], frame, name, positional=params, stdin=stdin)
        if rest and not stdin_mode:
            script = rest[0]
            if script.dynamic:
                return self.dynamic_code(script, frame, name)
            if script.value in _STDIN_PATHS:
                return self.stdin_code(stdin, frame, name, shell_like=True)
            self.fact(argv, frame.text, f"runs the script {script.value}, which can't be checked")
            return _OTHER_STREAM
        return self.stdin_code(stdin, frame, name, shell_like=True)

    def h_eval(
        self, name: str, argv: tuple[_Arg, ...], frame: _Frame, stdin: _Stream, depth: int
    ) -> _Stream:
        args = argv[1:]
        if not args:
            return _NO_STREAM
        dynamic = [a for a in args if a.dynamic]
        if dynamic:
            worst = max(dynamic, key=lambda a: a.taint)
            return self.dynamic_code(worst, frame, "shell")
        code = " ".join(a.value for a in args)
        return self.nested(code, frame, positional=self.positional, stdin=stdin, share_env=True)

    def h_source(
        self, name: str, argv: tuple[_Arg, ...], frame: _Frame, stdin: _Stream, depth: int
    ) -> _Stream:
        if len(argv) < 2:
            self.fact(argv, frame.text, "is missing a file")
            return _OTHER_STREAM
        script = argv[1]
        if script.dynamic:
            return self.dynamic_code(script, frame, "shell")
        if script.value in _STDIN_PATHS:
            return self.stdin_code(stdin, frame, "the shell", shell_like=True)
        self.fact(argv, frame.text, f"runs the script {script.value}, which can't be checked")
        return _OTHER_STREAM

    def interpreter(
        self, name: str, argv: tuple[_Arg, ...], frame: _Frame, stdin: _Stream, depth: int
    ) -> _Stream:
        m = _INTERPRETER_RE.fullmatch(name)
        family = m.group("family") if m else name
        code_flags = _CODE_FLAGS.get(family, frozenset())
        code_letters = {f[1] for f in code_flags if len(f) == 2}
        value_flags = _VALUE_FLAGS.get(family, frozenset())
        args = argv[1:]
        codes: list[_Arg] = []
        in_place = False
        use_stdin = False
        script: _Arg | None = None
        i = 0
        while i < len(args):
            a = args[i]
            v = a.value
            if a.dynamic or not v.startswith("-"):
                if family == "deno" and v == "eval" and i + 1 < len(args):
                    codes.append(args[i + 1])
                    i += 2
                    break
                script = a
                break
            if v == "-":
                use_stdin = True
                break
            if v == "--":
                script = args[i + 1] if i + 1 < len(args) else None
                break
            if v in code_flags:
                if i + 1 < len(args):
                    codes.append(args[i + 1])
                i += 2
                continue
            if v == "-m" and family in ("python", "pypy"):
                module = args[i + 1].value if i + 1 < len(args) else "?"
                self.fact(argv, frame.text, f"runs the {family} module {module}")
                return _OTHER_STREAM
            if v in value_flags:
                i += 2
                continue
            if not v.startswith("--") and family in ("perl", "ruby"):
                letters = v[1:]
                if "i" in letters:
                    in_place = True
                if letters and letters[-1] in code_letters:
                    if i + 1 < len(args):
                        codes.append(args[i + 1])
                    i += 2
                    continue
            i += 1
        if frame.net:
            self.forbid(
                "reverse-shell",
                frame.text,
                "connects an interpreter to the network (a reverse shell)",
            )
        label = f"{family} code"
        if in_place:
            for a in args[i:]:
                for p in self.resolve(a):
                    if p is not None and p in CRITICAL_FILES:
                        self.forbid("critical-file", frame.text, f"edits {p} in place")
        if codes:
            for code in codes:
                if code.dynamic:
                    self.dynamic_code(code, frame, family)
                else:
                    self.scan_code(code.value, frame)
            self.fact(argv, frame.text, f"runs {label}")
            return _OTHER_STREAM
        if use_stdin or script is None:
            return self.stdin_code(stdin, frame, family, shell_like=False)
        if script.dynamic:
            return self.dynamic_code(script, frame, family)
        if script.value in _STDIN_PATHS:
            return self.stdin_code(stdin, frame, family, shell_like=False)
        self.fact(argv, frame.text, f"runs the script {script.value}, which can't be checked")
        return _OTHER_STREAM

    def h_awk(
        self, name: str, argv: tuple[_Arg, ...], frame: _Frame, stdin: _Stream, depth: int
    ) -> _Stream:
        o = _opts(argv[1:], _fs("-F -v -f --file --assign --field-separator -i --include"))
        if "-f" not in o.values and "--file" not in o.values and o.positionals:
            program = o.positionals[0]
            if not program.dynamic:
                self.scan_code(program.value, frame)
        return self.leaf(name, argv, frame, stdin)

    def unwrap(
        self,
        name: str,
        wrapper: _Wrapper,
        argv: tuple[_Arg, ...],
        frame: _Frame,
        stdin: _Stream,
        depth: int,
    ) -> _Stream:
        args = argv[1:]
        i = 0
        skipped = 0
        while i < len(args):
            a = args[i]
            v = a.value
            if a.dynamic:
                break
            if v == "--":
                i += 1
                break
            if v.startswith("-") and len(v) > 1:
                if v in wrapper.shell_opts:
                    if i + 1 < len(args):
                        sub = replace(frame, via=frame.via or name)
                        self.fact(argv, frame.text, f"runs through {name}")
                        return self.code_arg(
                            args[i + 1], sub, "shell", positional=None, stdin=stdin
                        )
                    i += 1
                    continue
                i += 2 if v in wrapper.value_opts else 1
                continue
            if skipped < wrapper.positionals:
                skipped += 1
                i += 1
                continue
            break
        inner = args[i:]
        sub = frame
        if wrapper.kind != "transparent":
            self.fact(argv, frame.text, f"runs through {name}")
            sub = replace(frame, via=frame.via or name)
        if not inner:
            if name != "exec":
                self.fact(argv, frame.text, wrapper.alone or f"runs {name} without a command")
            elif frame.writes or frame.secret_input or frame.net:  # `exec 3>file`
                self.fact(argv, frame.text, _frame_problem(frame))
            return _NO_STREAM
        return self.run_argv(tuple(inner), sub, stdin, depth + 1)

    def h_sudo(
        self, name: str, argv: tuple[_Arg, ...], frame: _Frame, stdin: _Stream, depth: int
    ) -> _Stream:
        args = argv[1:]
        i = 0
        shell_mode = edit = False
        while i < len(args):
            a = args[i]
            v = a.value
            if a.dynamic or not v.startswith("-") or v == "-":
                break
            if v == "--":
                i += 1
                break
            if v in _SUDO_VALUE_OPTS:
                i += 2
                continue
            if v.startswith("--"):
                shell_mode = shell_mode or v in ("--shell", "--login")
                edit = edit or v == "--edit"
                i += 1
                continue
            if v[:2] in _SUDO_VALUE_OPTS and len(v) > 2:
                i += 1
                continue
            letters = v[1:]
            shell_mode = shell_mode or "s" in letters or "i" in letters
            edit = edit or "e" in letters
            i += 2 if f"-{letters[-1]}" in _SUDO_VALUE_OPTS else 1
        inner = args[i:]
        sub = replace(frame, via=frame.via or "sudo")
        if name == "sudoedit" or edit:
            self.fact(argv, frame.text, "edits files as root")
            return _OTHER_STREAM
        if not inner:
            self.fact(argv, frame.text, "opens a root shell" if shell_mode else "runs sudo itself")
            return _OTHER_STREAM
        if shell_mode:
            dynamic = [a for a in inner if a.dynamic]
            if dynamic:
                return self.dynamic_code(dynamic[0], sub, "shell")
            code = " ".join(a.value for a in inner)
            return self.nested(code, sub, positional=None, stdin=stdin)
        return self.run_argv(tuple(inner), sub, stdin, depth + 1)

    def h_su(
        self, name: str, argv: tuple[_Arg, ...], frame: _Frame, stdin: _Stream, depth: int
    ) -> _Stream:
        args = argv[1:]
        code: _Arg | None = None
        direct: tuple[_Arg, ...] | None = None
        i = 0
        while i < len(args):
            a = args[i]
            v = a.value
            if a.dynamic:
                i += 1
                continue
            if v in ("-c", "--command", "--session-command"):
                code = args[i + 1] if i + 1 < len(args) else None
                i += 2
                continue
            if v.startswith(("--command=", "--session-command=")):
                code = replace(a, value=v.split("=", 1)[1])
                i += 1
                continue
            if name == "runuser" and v in ("-u", "--user"):
                j = i + 2
                while j < len(args) and not args[j].dynamic and args[j].value.startswith("-"):
                    if args[j].value == "--":
                        j += 1
                        break
                    j += 1
                direct = tuple(args[j:])
                break
            if v in ("-s", "--shell", "-g", "--group", "-G", "--supp-group", "-w"):
                i += 2
                continue
            if v.startswith("-") and not v.startswith("--") and len(v) > 2 and v.endswith("c"):
                code = args[i + 1] if i + 1 < len(args) else None
                i += 2
                continue
            i += 1
        sub = replace(frame, via=frame.via or name)
        if direct:
            return self.run_argv(direct, sub, stdin, depth + 1)
        if code is not None:
            return self.code_arg(code, sub, "shell", positional=None, stdin=stdin)
        self.fact(argv, frame.text, "opens a shell as another user")
        return _OTHER_STREAM

    def h_env(
        self, name: str, argv: tuple[_Arg, ...], frame: _Frame, stdin: _Stream, depth: int
    ) -> _Stream:
        args = argv[1:]
        i = 0
        split: str | None = None
        problem = ""
        while i < len(args):
            a = args[i]
            v = a.value
            if a.dynamic:
                break
            if v == "--":
                i += 1
                continue
            if v in ("-u", "--unset", "-C", "--chdir"):
                i += 2
                continue
            if v in ("-S", "--split-string"):
                split = args[i + 1].value if i + 1 < len(args) else ""
                i += 2
                break
            if v.startswith("--split-string="):
                split = v.split("=", 1)[1]
                i += 1
                break
            if v.startswith("-") and not v.startswith("--") and "S" in v:
                split = v[v.index("S") + 1 :] or (args[i + 1].value if i + 1 < len(args) else "")
                i += 1 if v[v.index("S") + 1 :] else 2
                break
            if v.startswith("-"):
                i += 1
                continue
            m = _ASSIGN_ARG.match(v)
            if m:
                if _SENSITIVE_ENV.fullmatch(m.group(1)):
                    problem = f"sets {m.group(1)} for the command it runs"
                i += 1
                continue
            break
        inner: list[_Arg] = []
        if split is not None:
            try:
                inner.extend(_lit(w) for w in shlex.split(split))
            except ValueError:
                self.approve("unparseable", frame.text, "has an env -S string that can't be read")
        inner.extend(args[i:])
        if not inner:
            self.fact(argv, frame.text, "prints the environment, which may hold secrets")
            return _OTHER_STREAM
        sub = replace(frame, env_problem=problem) if problem else frame
        return self.run_argv(tuple(inner), sub, stdin, depth + 1)

    def h_busybox(
        self, name: str, argv: tuple[_Arg, ...], frame: _Frame, stdin: _Stream, depth: int
    ) -> _Stream:
        if len(argv) > 1 and not argv[1].dynamic and not argv[1].value.startswith("-"):
            return self.run_argv(argv[1:], frame, stdin, depth + 1)
        return self.leaf(name, argv, frame, stdin)

    def h_command(
        self, name: str, argv: tuple[_Arg, ...], frame: _Frame, stdin: _Stream, depth: int
    ) -> _Stream:
        args = argv[1:]
        i = 0
        lookup = False
        while i < len(args) and not args[i].dynamic and args[i].value.startswith("-"):
            if args[i].value == "--":
                i += 1
                break
            lookup = lookup or bool(set(args[i].value[1:]) & {"v", "V"})
            i += 1
        if lookup or not args[i:]:
            return self.leaf(name, argv, frame, stdin)
        return self.run_argv(tuple(args[i:]), frame, stdin, depth + 1)

    def h_xargs(
        self, name: str, argv: tuple[_Arg, ...], frame: _Frame, stdin: _Stream, depth: int
    ) -> _Stream:
        args = argv[1:]
        value_opts = _fs(
            "-a --arg-file -d --delimiter -E -L -l -n --max-args -P --max-procs -s --max-chars"
            " --process-slot-var --max-lines"
        )
        i = 0
        token: str | None = None
        from_file = False
        delimiter: str | None = None
        while i < len(args):
            a = args[i]
            v = a.value
            if a.dynamic or not v.startswith("-") or v == "-":
                break
            if v == "--":
                i += 1
                break
            if v == "-I":
                token = args[i + 1].value if i + 1 < len(args) else "{}"
                i += 2
                continue
            if v.startswith("-I"):
                token = v[2:]
            elif v == "-i" or v.startswith("--replace"):
                token = v.split("=", 1)[1] if "=" in v else "{}"
            elif v.startswith("-i"):
                token = v[2:]
            if v in ("-a", "--arg-file") or v.startswith("--arg-file="):
                from_file = True
            if v in ("-0", "--null"):
                delimiter = "\0"
            if v in ("-d", "--delimiter") and i + 1 < len(args):
                delimiter = shell.decode_escapes(args[i + 1].value, mode="printf")
            i += 2 if v in value_opts else 1
        inner = tuple(args[i:]) or (_lit("echo"),)
        source = _OTHER_STREAM if from_file else stdin
        if self.pipe_text and not from_file:
            frame = replace(frame, text=self.pipe_text)
        items = _stream_items(source, delimiter)
        variants: list[tuple[_Arg, ...]]
        if token:
            variants = [tuple(_substitute(a, token, item) for a in inner) for item in items]
        else:
            variants = [inner + tuple(items)]
        out = _NO_STREAM
        for variant in variants:
            out = _join(out, self.run_argv(variant, frame, _NO_STREAM, depth + 1))
        return out

    def h_parallel(
        self, name: str, argv: tuple[_Arg, ...], frame: _Frame, stdin: _Stream, depth: int
    ) -> _Stream:
        args = list(argv[1:])
        value_opts = _fs(
            "-j --jobs -N -n --max-args -S --sshlogin -I --colsep -d --delimiter --joblog"
            " --results --tmpdir --timeout --delay -L --halt"
        )
        i = 0
        while i < len(args) and not args[i].dynamic and args[i].value.startswith("-"):
            i += 2 if args[i].value in value_opts else 1
        rest = args[i:]
        marker = next((k for k, a in enumerate(rest) if a.value in (":::", "::::")), None)
        self.fact(argv, frame.text, "runs commands through parallel")
        sub = replace(frame, via=frame.via or name)
        if marker is None:
            inner, items = rest, _stream_items(stdin, None)
        else:
            inner = rest[:marker]
            items = [a for a in rest[marker + 1 :] if a.value not in (":::", "::::")][:8]
        if not inner:
            return _OTHER_STREAM
        out = _NO_STREAM
        for item in items or [_lit("")]:
            if any("{}" in a.value for a in inner):
                variant = tuple(_substitute(a, "{}", item) for a in inner)
            else:
                variant = (*inner, item)
            out = _join(out, self.run_argv(variant, sub, _NO_STREAM, depth + 1))
        return out

    def h_find(
        self, name: str, argv: tuple[_Arg, ...], frame: _Frame, stdin: _Stream, depth: int
    ) -> _Stream:
        args = argv[1:]
        i = 0
        while (
            i < len(args)
            and not args[i].dynamic
            and (args[i].value in ("-H", "-L", "-P") or args[i].value.startswith(("-O", "-D")))
        ):
            i += 2 if args[i].value == "-D" else 1
        starts: list[_Arg] = []
        while i < len(args) and (
            args[i].dynamic
            or not (args[i].value.startswith("-") or args[i].value in ("(", "!", ")", ","))
        ):
            starts.append(args[i])
            i += 1
        starts = starts or [_lit(".")]
        expr = args[i:]
        words = [a.value for a in expr if not a.dynamic]
        narrowed = _find_narrows(words)
        if "-delete" in words and not narrowed:
            for start in starts:
                for path in self.resolve(start):
                    desc = None if path is None else self.danger(path, start.glob)
                    if desc:
                        self.forbid("recursive-delete", frame.text, f"deletes everything in {desc}")
        j = 0
        while j < len(expr):
            a = expr[j]
            writes = ("-fprint", "-fprint0", "-fprintf", "-fls")
            if not a.dynamic and a.value in writes and j + 1 < len(expr):
                self.write_target(expr[j + 1], frame)
            if a.dynamic or a.value not in ("-exec", "-execdir", "-ok", "-okdir"):
                j += 1
                continue
            k = j + 1
            inner: list[_Arg] = []
            while k < len(expr) and (expr[k].dynamic or expr[k].value not in (";", "+")):
                inner.append(expr[k])
                k += 1
            for start in starts:
                found = start
                if narrowed and not start.dynamic:
                    found = replace(start, value=start.value.rstrip("/") + "/{found}", glob=False)
                variant = tuple(_substitute(x, "{}", found) for x in inner)
                if variant:
                    self.run_argv(variant, frame, _NO_STREAM, depth + 1)
            j = k + 1
        out = self.leaf(name, argv, frame, stdin)
        if narrowed:
            return out
        # Unfiltered, find prints its start paths first: `find / | xargs rm -rf` reaches `/`.
        return replace(out, lines=tuple(s.value for s in starts if not s.dynamic))

    def h_watch(
        self, name: str, argv: tuple[_Arg, ...], frame: _Frame, stdin: _Stream, depth: int
    ) -> _Stream:
        args = argv[1:]
        i = 0
        direct = False
        while i < len(args) and not args[i].dynamic and args[i].value.startswith("-"):
            v = args[i].value
            direct = direct or v in ("-x", "--exec")
            i += 2 if v in ("-n", "--interval", "-q", "--equexit") else 1
        rest = args[i:]
        self.fact(argv, frame.text, "runs a command over and over")
        sub = replace(frame, via=frame.via or name)
        if not rest:
            return _OTHER_STREAM
        if direct:
            return self.run_argv(tuple(rest), sub, stdin, depth + 1)
        dynamic = [a for a in rest if a.dynamic]
        if dynamic:
            return self.dynamic_code(dynamic[0], sub, "shell")
        return self.nested(" ".join(a.value for a in rest), sub, positional=None, stdin=_NO_STREAM)

    def h_ssh(
        self, name: str, argv: tuple[_Arg, ...], frame: _Frame, stdin: _Stream, depth: int
    ) -> _Stream:
        for code in _embedded_code(name, argv, stdin):
            self.nested(code, frame, positional=None, stdin=_NO_STREAM, only_forbid=True)
        args = argv[1:]
        value_opts = _fs("-b -c -D -E -e -F -I -i -J -L -l -m -O -o -p -Q -R -S -W -w -B")
        i = 0
        while i < len(args) and not args[i].dynamic and args[i].value.startswith("-"):
            v = args[i].value
            i += 2 if v in value_opts else 1
        if i >= len(args):
            self.fact(argv, frame.text, "runs ssh")
            return _OTHER_STREAM
        host, rest = args[i], args[i + 1 :]
        self.fact(argv, frame.text, f"runs on another host ({host.value})")
        if not rest:
            self.approve("interactive", frame.text, "opens an interactive session on another host")
            return _OTHER_STREAM
        sub = replace(frame, via=frame.via or "ssh")
        dynamic = [a for a in rest if a.dynamic]
        if dynamic:
            return self.dynamic_code(dynamic[0], sub, "remote shell")
        code = " ".join(a.value for a in rest)
        return self.nested(code, sub, positional=None, stdin=stdin, fresh=True)

    def h_at(
        self, name: str, argv: tuple[_Arg, ...], frame: _Frame, stdin: _Stream, depth: int
    ) -> _Stream:
        o = _opts(argv[1:], _fs("-f -q -t"))
        if o.has("l") or o.has("d") or o.has("r") or o.has("c"):
            return self.leaf(name, argv, frame, stdin)
        self.fact(argv, frame.text, "schedules commands to run later")
        if "-f" in o.values:
            return _OTHER_STREAM
        return self.stdin_code(stdin, frame, name, shell_like=True)

    def h_script(
        self, name: str, argv: tuple[_Arg, ...], frame: _Frame, stdin: _Stream, depth: int
    ) -> _Stream:
        args = argv[1:]
        for k, a in enumerate(args):
            if a.value in ("-c", "--command") and k + 1 < len(args):
                self.fact(argv, frame.text, "runs a command under script")
                return self.code_arg(args[k + 1], frame, "shell", positional=None, stdin=stdin)
            if a.value.startswith("--command="):
                return self.code_arg(
                    replace(a, value=a.value.split("=", 1)[1]),
                    frame,
                    "shell",
                    positional=None,
                    stdin=stdin,
                )
        return self.leaf(name, argv, frame, stdin)

    def h_mux(
        self, name: str, argv: tuple[_Arg, ...], frame: _Frame, stdin: _Stream, depth: int
    ) -> _Stream:
        self.fact(argv, frame.text, f"runs commands in {name}")
        sub = replace(frame, via=frame.via or name)
        args = [a for a in argv[1:] if not a.dynamic]
        if name == "screen":
            value_opts = _fs("-S -c -e -h -p -s -t -T -X -L -Logfile")
            i = 0
            while i < len(args) and args[i].value.startswith("-"):
                i += 2 if args[i].value in value_opts else 1
            if args[i:]:
                return self.run_argv(tuple(args[i:]), sub, stdin, depth + 1)
            return _OTHER_STREAM
        words = [a.value for a in args if not a.value.startswith("-")]
        if len(words) > 1:
            self.nested(
                " ".join(words[1:]), sub, positional=None, stdin=_NO_STREAM, only_forbid=True
            )
        return _OTHER_STREAM

    def h_ip(
        self, name: str, argv: tuple[_Arg, ...], frame: _Frame, stdin: _Stream, depth: int
    ) -> _Stream:
        words = [a.value for a in argv]
        for k in range(1, len(words) - 2):
            if words[k] in ("netns", "vrf") and words[k + 1] == "exec":
                self.fact(argv, frame.text, f"runs a command in the {words[k]} {words[k + 2]}")
                inner = argv[k + 3 :]
                if not inner:
                    return _OTHER_STREAM
                sub = replace(frame, via=frame.via or f"ip {words[k]} exec")
                return self.run_argv(inner, sub, stdin, depth + 1)
        return self.leaf(name, argv, frame, stdin)

    def h_container(
        self, name: str, argv: tuple[_Arg, ...], frame: _Frame, stdin: _Stream, depth: int
    ) -> _Stream:
        args = argv[1:]
        words = [a.value for a in args]
        inner: tuple[_Arg, ...] = ()
        if name in ("kubectl", "lxc", "incus") and "exec" in words and "--" in words:
            inner = tuple(args[words.index("--") + 1 :])
        elif name in ("docker", "podman", "nerdctl") and (
            words[:1] == ["exec"] or words[:2] == ["container", "exec"]
        ):
            start = words.index("exec") + 1
            value_opts = _fs("-e --env --env-file -u --user -w --workdir --detach-keys")
            i = start
            while i < len(args) and not args[i].dynamic and args[i].value.startswith("-"):
                i += 2 if args[i].value in value_opts else 1
            inner = tuple(args[i + 1 :])
        if not inner:
            return self.leaf(name, argv, frame, stdin)
        self.fact(argv, frame.text, "runs a command inside a container")
        sub = replace(frame, via=frame.via or f"{name} exec")
        return self.run_argv(inner, sub, stdin, depth + 1)

    # ---- the forbid list

    def destructive(
        self, name: str, argv: tuple[_Arg, ...], frame: _Frame, stdin: _Stream
    ) -> list[_Hit]:
        check = _CHECKS.get(name)
        if check is not None:
            return check(self, argv, stdin)
        if name.startswith("mkfs") or name in ("mke2fs", "mkdosfs", "mkntfs", "mkexfatfs"):
            return self.c_mkfs(argv, stdin)
        if name.startswith(
            ("iptables", "ip6tables", "ebtables", "arptables")
        ) and not name.endswith(("-save", "-restore")):
            return self.c_iptables(argv, stdin)
        return []

    def danger(self, path: str, glob: bool) -> str | None:
        """How bad deleting (or chmod-ing) `path` recursively is, or None if not catastrophic."""
        if not glob:
            if path == "/":
                return "the root filesystem"
            if path in self.protected:
                return path
            return None
        comps = [c for c in path.split("/") if c]
        index = next((k for k, c in enumerate(comps) if _GLOB.search(c)), None)
        if index is None:
            return self.danger(path, False)
        parent = "/" + "/".join(comps[:index])
        first, rest = comps[index], comps[index + 1 :]
        if not path.startswith("/") or not all(_broad(c) for c in rest):
            return None
        if parent == "/" and _broad(first):
            return "everything under /"
        if parent in self.protected and _broad(first):
            return f"everything in {parent}"
        for p in self.protected:
            if posixpath.dirname(p) == parent and fnmatchcase(posixpath.basename(p), first):
                return f"system directories matching {path}"
        return None

    def c_rm(self, argv: tuple[_Arg, ...], stdin: _Stream) -> list[_Hit]:
        o = _opts(argv[1:])
        recursive = argv[0].value.rsplit("/", 1)[-1] == "rm" and (
            o.has("r", "recursive") or o.has("R")
        )
        hits: list[_Hit] = []
        for target in o.positionals:
            for path in self.resolve(target):
                if path is None:
                    continue
                desc = self.danger(path, target.glob) if recursive else None
                if desc:
                    what = _with_note(f"deletes {desc} recursively", target.note)
                    hits.append((_F, "recursive-delete", what))
                elif _critical(path, target.glob):
                    hits.append(
                        (
                            _F,
                            "critical-file",
                            _with_note(f"deletes {path}, which locks everyone out", target.note),
                        )
                    )
        return hits

    def c_chmod(self, argv: tuple[_Arg, ...], stdin: _Stream) -> list[_Hit]:
        name = argv[0].value.rsplit("/", 1)[-1]
        args = argv[1:]
        recursive = False
        positionals: list[_Arg] = []
        letters = "cfvR" if name == "chmod" else "RhHLPcfv"
        done = False
        for a in args:
            v = a.value
            if done or a.dynamic:
                positionals.append(a)
            elif v == "--":
                done = True
            elif v in ("--recursive",) or (
                re.fullmatch(f"-[{letters}]+", v) is not None and "R" in v
            ):
                recursive = True
            elif v.startswith("--") or re.fullmatch(f"-[{letters}]+", v):
                continue
            elif name == "setfacl" and v.startswith("-"):
                recursive = recursive or "R" in v
            else:
                positionals.append(a)
        if not recursive:
            return []
        skip = 0 if name == "setfacl" or any(a.value.startswith("--reference") for a in args) else 1
        hits: list[_Hit] = []
        verb = {"chmod": "changes the permissions of", "setfacl": "changes the ACLs of"}.get(
            name, "changes the owner of"
        )
        for target in positionals[skip:]:
            for path in self.resolve(target):
                desc = None if path is None else self.danger(path, target.glob)
                if desc:
                    what = _with_note(f"{verb} {desc} recursively", target.note)
                    hits.append((_F, "recursive-chmod", what))
        return hits

    def c_dd(self, argv: tuple[_Arg, ...], stdin: _Stream) -> list[_Hit]:
        hits: list[_Hit] = []
        for a in argv[1:]:
            if not a.dynamic and a.value.startswith("of="):
                target = replace(a, value=a.value[3:])
                for path in self.resolve(target):
                    if path is not None:
                        hits.extend(_write_hits(path, target))
        return hits

    def c_mkfs(self, argv: tuple[_Arg, ...], stdin: _Stream) -> list[_Hit]:
        devices = [a.value for a in argv[1:] if not a.dynamic and a.value.startswith("/")]
        target = devices[-1] if devices else "a disk"
        return [(_F, "mkfs", f"formats {target}, erasing everything on it")]

    def c_device_tool(self, argv: tuple[_Arg, ...], stdin: _Stream) -> list[_Hit]:
        name = argv[0].value.rsplit("/", 1)[-1]
        o = _opts(argv[1:], _fs("-o --offset -t --types -b --block-size -c"))
        words = [a.value for a in o.positionals if not a.dynamic]
        devices = [w for w in words if _is_device(w)]
        dev = devices[0] if devices else "a disk"
        if name == "mkswap":
            return [(_F, "mkfs", f"formats {d} as swap, erasing it") for d in devices]
        if name == "wipefs":
            if o.has("a", "all") or o.has("o", "offset"):
                return [(_F, "disk-wipe", f"wipes the filesystem signatures on {dev}")]
            return []
        if name == "blkdiscard":
            return [(_F, "disk-wipe", f"discards every block on {dev}, erasing it")]
        if name == "sgdisk":
            if o.has("Z", "zap-all") or o.has("o", "clear") or o.has("z", "zap"):
                return [(_F, "disk-wipe", f"wipes the partition table of {dev}")]
            return []
        if name == "sfdisk":
            listing = ("l", "d", "J", "s", "V", "g", "F")
            if any(o.has(s) for s in listing) or any(
                o.has(long=k) for k in ("list", "dump", "json", "show-size", "verify", "list-free")
            ):
                return []
            return [(_F, "disk-wipe", f"rewrites the partition table of {d}") for d in devices]
        if name == "parted":
            if devices and set(words) & {"mklabel", "mktable", "rm", "mkpart", "resizepart"}:
                return [(_F, "disk-wipe", f"rewrites the partition table of {dev}")]
            return []
        if name == "cryptsetup":
            if set(words) & {"luksFormat", "erase", "luksErase"}:
                return [(_F, "disk-wipe", f"destroys the encrypted volume on {dev}")]
            return []
        if name == "badblocks":
            if o.has("w"):
                return [(_F, "disk-wipe", f"overwrites {dev} with test patterns")]
            return []
        if name == "hdparm":
            erase = ("--security-erase", "--trim-sector", "--write-sector")
            if any(f.startswith(erase) for f in o.flags):
                return [(_F, "disk-wipe", f"erases {dev}")]
            return []
        if name == "zpool":
            if words[:1] and words[0] in ("destroy", "labelclear"):
                return [(_F, "disk-wipe", "destroys a ZFS pool and its data")]
            return []
        return []

    def c_files(self, argv: tuple[_Arg, ...], stdin: _Stream) -> list[_Hit]:
        """Commands that write to or replace the files they name: shred, truncate, cp, mv..."""
        name = argv[0].value.rsplit("/", 1)[-1]
        value_opts = _fs("-s --size -r --reference -o -n --iterations -t --target-directory -S -m")
        o = _opts(argv[1:], value_opts)
        pos = o.positionals
        hits: list[_Hit] = []
        targets: list[_Arg] = []
        if name in ("shred", "truncate", "tee"):
            targets = pos
        elif name in ("cp", "install", "ln", "mv"):
            target_dir = o.values.get("-t") or o.values.get("--target-directory")
            if target_dir:
                targets = [_lit(target_dir)]
            elif len(pos) >= 2:
                targets = [pos[-1]]
        if name == "mv":
            has_target = bool(o.values.get("-t") or o.values.get("--target-directory"))
            sources = pos if has_target else pos[:-1]
            for source in sources:
                for path in self.resolve(source):
                    if path is None:
                        continue
                    desc = self.danger(path, source.glob)
                    if desc:
                        what = f"moves {desc} away, breaking the system"
                        hits.append((_F, "recursive-delete", what))
                    elif _critical(path, source.glob):
                        what = f"moves {path} away, locking everyone out"
                        hits.append((_F, "critical-file", what))
        for target in targets:
            for path in self.resolve(target):
                if path is None:
                    continue
                if name == "ln" and path in CRITICAL_FILES:
                    hits.append((_F, "critical-file", f"replaces {path}, locking everyone out"))
                elif name == "shred" and _critical(path, target.glob):
                    hits.append((_F, "critical-file", f"destroys {path}, locking everyone out"))
                elif name == "shred" and _is_device(path):
                    hits.append((_F, "device-write", f"overwrites the disk {path}"))
                else:
                    hits.extend(
                        _write_hits(path, target, append=name == "tee" and o.has("a", "append"))
                    )
        return hits

    def c_sed(self, argv: tuple[_Arg, ...], stdin: _Stream) -> list[_Hit]:
        o = _opts(argv[1:], _fs("-e --expression -f --file -l --line-length"))
        in_place = any(
            f.startswith("--in-place") or (not f.startswith("--") and "i" in f[1:]) for f in o.flags
        )
        if not in_place:
            return []
        hits: list[_Hit] = []
        for a in o.positionals:
            for path in self.resolve(a):
                if path is not None and path in CRITICAL_FILES:
                    hits.append((_F, "critical-file", f"edits {path} in place"))
        return hits

    def c_rsync(self, argv: tuple[_Arg, ...], stdin: _Stream) -> list[_Hit]:
        o = _opts(argv[1:], _fs("-e --rsh --exclude --include --filter -f --files-from -B"))
        if not any(f.startswith(("--delete", "--del")) for f in o.flags) or len(o.positionals) < 2:
            return []
        dest = o.positionals[-1]
        if dest.dynamic or re.match(r"[^/]*:", dest.value) or dest.value.startswith("rsync://"):
            return []
        hits: list[_Hit] = []
        for path in self.resolve(dest):
            desc = None if path is None else self.danger(path, dest.glob)
            if desc:
                hits.append(
                    (_F, "recursive-delete", f"deletes whatever in {desc} is not in the source")
                )
        return hits

    def c_kill(self, argv: tuple[_Arg, ...], stdin: _Stream) -> list[_Hit]:
        args = argv[1:]
        signal: str | None = None
        pids: list[_Arg] = []
        done = False
        i = 0
        while i < len(args):
            a = args[i]
            v = a.value
            if a.dynamic or done:
                pids.append(a)
            elif v == "--":
                done = True
            elif v in ("-s", "-n", "--signal"):
                signal = args[i + 1].value if i + 1 < len(args) else ""
                i += 1
            elif v.startswith("--signal="):
                signal = v.split("=", 1)[1]
            elif v in ("-l", "-L", "--list", "--table"):
                return []
            elif v.startswith("-") and signal is None and not pids:
                signal = v[1:]
            else:
                pids.append(a)
            i += 1
        if signal in ("0", "SIG0"):
            return []
        return _pid_hits(pids)

    def c_pkill(self, argv: tuple[_Arg, ...], stdin: _Stream) -> list[_Hit]:
        value_opts = _fs(
            "-g -G -P -s -t -u -U -F --signal --pgroup --group --parent --session --terminal"
            " --euid --uid --pidfile --ns --nslist --cgroup"
        )
        o = _opts(argv[1:], value_opts)
        if o.has("0") or o.values.get("--signal") == "0":
            return []
        users = [o.values.get(k, "") for k in ("-u", "-U", "--euid", "--uid")]
        if o.has("v", "inverse"):
            return [(_F, "kill-all", "kills every process that does not match, sshd and init too")]
        patterns = [a for a in o.positionals if not re.fullmatch(r"-?\d+", a.value)]
        if not patterns:
            if any(u in ("root", "0") for u in users):
                return [(_F, "kill-sshd", "kills every process of root, sshd included")]
            return []
        pattern = patterns[0]
        if pattern.dynamic:
            return []
        try:
            rx = re.compile(pattern.value, re.I if o.has("i", "ignore-case") else 0)
        except re.error:
            return []
        full = o.has("f", "full")
        exact = o.has("x", "exact")

        def matches(lines: tuple[str, ...]) -> bool:
            return any(rx.fullmatch(line) if exact else rx.search(line) for line in lines)

        if matches(_SSHD_LINES if full else _SSHD_NAMES):
            return [(_F, "kill-sshd", "kills sshd, which cuts off remote access to the machine")]
        if matches(_INIT_LINES if full else _INIT_NAMES):
            return [(_F, "kill-init", "kills init (PID 1), which brings the whole machine down")]
        return []

    def c_killall(self, argv: tuple[_Arg, ...], stdin: _Stream) -> list[_Hit]:
        name = argv[0].value.rsplit("/", 1)[-1]
        if name == "killall5":
            if any(a.value in ("-0", "-l") for a in argv[1:]):
                return []
            return [(_F, "kill-all", "kills every process on the machine")]
        o = _opts(
            argv[1:], _fs("-s --signal -u --user -o --older-than -y --younger-than -n --ns -Z")
        )
        if o.has("0") or o.values.get("-s") == "0":
            return []
        users = [o.values.get("-u", ""), o.values.get("--user", "")]
        names = [a for a in o.positionals if not a.dynamic]
        if not o.positionals and any(u in ("root", "0") for u in users):
            return [(_F, "kill-sshd", "kills every process of root, sshd included")]
        regex = o.has("r", "regexp")
        for a in names:
            for targets, rule, what in (
                (_SSHD_NAMES, "kill-sshd", "kills sshd, which cuts off remote access"),
                (_INIT_NAMES, "kill-init", "kills init (PID 1), which brings the machine down"),
            ):
                if regex:
                    try:
                        hit = any(re.search(a.value, t) for t in targets)
                    except re.error:
                        hit = False
                else:
                    hit = a.value.rsplit("/", 1)[-1] in targets
                if hit:
                    return [(_F, rule, what)]
        return []

    def c_power(self, argv: tuple[_Arg, ...], stdin: _Stream) -> list[_Hit]:
        name = argv[0].value.rsplit("/", 1)[-1]
        words = [a.value for a in argv[1:] if not a.dynamic]
        if "--help" in words:
            return []
        if name == "shutdown":
            if "-c" in words or "--cancel" in words:
                return []
            if any(w in ("-r", "--reboot") for w in words):
                return [(_F, "power", "reboots the machine")]
            return [(_F, "power", "shuts the machine down")]
        if name in ("init", "telinit"):
            levels = [w for w in words if not w.startswith("-")]
            if levels and levels[0] not in ("q", "Q", "u", "U"):
                return [(_F, "power", f"switches the runlevel to {levels[0]}")]
            return []
        if name == "kexec":
            if any(w in ("-e", "--exec") for w in words) or not any(
                w in ("-l", "--load", "-p", "--load-panic", "-u", "--unload", "-s") for w in words
            ):
                return [(_F, "power", "reboots the machine into another kernel")]
            return []
        if name == "loginctl":
            verbs = [w for w in words if not w.startswith("-")]
            if verbs and verbs[0] in _POWER_VERBS:
                return [(_F, "power", _POWER_VERBS[verbs[0]])]
            return []
        phrase = {"reboot": "reboots", "halt": "halts", "poweroff": "powers off"}.get(name, "stops")
        return [(_F, "power", f"{phrase} the machine")]

    def c_systemctl(self, argv: tuple[_Arg, ...], stdin: _Stream) -> list[_Hit]:
        value_opts = _fs(
            "-t --type -p --property -H --host -M --machine -s --signal --kill-whom --kill-value"
            " --job-mode -n --lines -o --output --state --root --what --timestamp"
            " --boot-loader-entry --reboot-argument --message --image --drop-in --when"
        )
        o = _opts(argv[1:], value_opts)
        pos = o.positionals
        if not pos or pos[0].dynamic:
            return []
        verb, units = pos[0].value, pos[1:]
        if verb in _POWER_VERBS:
            return [(_F, "power", _POWER_VERBS[verb])]
        hits: list[_Hit] = []
        if verb in ("isolate", "set-default", "start", "restart", "reload-or-restart", "enable"):
            for u in units:
                unit = u.value if "." in u.value else f"{u.value}.target"
                if verb == "isolate":
                    return [(_F, "power", f"switches the machine to {unit} (a runlevel change)")]
                if not u.dynamic and unit in _DANGER_TARGETS:
                    hits.append((_F, "power", f"switches the machine to {unit}"))
        if verb in ("stop", "kill", "mask", "freeze") or (verb == "disable" and o.has(long="now")):
            for u in units:
                hits.extend(_unit_hits(u))
        return hits

    def c_service(self, argv: tuple[_Arg, ...], stdin: _Stream) -> list[_Hit]:
        pos = [a for a in argv[1:] if a.dynamic or not a.value.startswith("-")]
        if len(pos) < 2:
            return []
        return _service_hits(pos[0].value, pos[1])

    def c_iptables(self, argv: tuple[_Arg, ...], stdin: _Stream) -> list[_Hit]:
        values = [a.value for a in argv[1:] if not a.dynamic]
        for k, v in enumerate(values):
            short = v.startswith("-") and not v.startswith("--")
            if v == "--flush" or (short and re.fullmatch(r"-[A-Za-z]*F[A-Za-z]*", v)):
                return [(_F, "firewall", "flushes the firewall rules")]
            if v == "--delete-chain" or (short and re.fullmatch(r"-[A-Za-z]*X[A-Za-z]*", v)):
                return [(_F, "firewall", "deletes firewall chains")]
            if v in ("-P", "--policy") and k + 2 < len(values):
                chain, target = values[k + 1], values[k + 2]
                if chain in ("INPUT", "OUTPUT") and target in ("DROP", "REJECT"):
                    return [
                        (
                            _F,
                            "firewall",
                            f"sets the default {chain} policy to {target}, cutting off remote "
                            "access",
                        )
                    ]
        return []

    def c_nft(self, argv: tuple[_Arg, ...], stdin: _Stream) -> list[_Hit]:
        text = " ".join(a.value for a in argv[1:] if not a.dynamic).replace(";", " ; ")
        tokens = [t.lower() for t in text.split()]
        for k, t in enumerate(tokens[:-1]):
            if t == "flush" and tokens[k + 1] in ("ruleset", "table", "chain"):
                return [(_F, "firewall", "wipes the nftables firewall rules")]
            if t == "delete" and tokens[k + 1] in ("table", "chain"):
                return [(_F, "firewall", "deletes nftables firewall rules")]
        return []

    def c_ufw(self, argv: tuple[_Arg, ...], stdin: _Stream) -> list[_Hit]:
        words = [a.value for a in argv[1:] if not a.dynamic and not a.value.startswith("-")]
        if words[:1] == ["disable"]:
            return [(_F, "firewall", "turns the firewall off")]
        if words[:1] == ["reset"]:
            return [(_F, "firewall", "deletes all firewall rules")]
        return []

    def c_firewall_cmd(self, argv: tuple[_Arg, ...], stdin: _Stream) -> list[_Hit]:
        if any(a.value == "--panic-on" for a in argv[1:]):
            return [(_F, "firewall", "drops all network traffic, cutting off remote access")]
        return []

    def c_netcat(self, argv: tuple[_Arg, ...], stdin: _Stream) -> list[_Hit]:
        for a in argv[1:]:
            v = a.value
            if v in ("-e", "-c", "--exec", "--sh-exec", "--lua-exec") or v.startswith(
                ("--exec=", "--sh-exec=")
            ):
                return [(_F, "reverse-shell", "hands a shell to a network connection")]
        return []

    def c_socat(self, argv: tuple[_Arg, ...], stdin: _Stream) -> list[_Hit]:
        text = " ".join(a.value.lower() for a in argv[1:])
        if re.search(r"\b(?:exec|system):", text) and re.search(
            r"\b(?:tcp|udp|openssl|ssl)[46]?(?:-listen|-connect)?:", text
        ):
            return [(_F, "reverse-shell", "hands a shell to a network connection")]
        return []

    def c_userdel(self, argv: tuple[_Arg, ...], stdin: _Stream) -> list[_Hit]:
        if any(not a.dynamic and a.value == "root" for a in argv[1:]):
            return [(_F, "root-account", "deletes the root account")]
        return []


_Handler: TypeAlias = Callable[[_Analyzer, str, tuple[_Arg, ...], _Frame, _Stream, int], _Stream]
_Check: TypeAlias = Callable[[_Analyzer, tuple[_Arg, ...], _Stream], list[_Hit]]

_HANDLERS: dict[str, _Handler] = {
    **dict.fromkeys(_SHELLS, _Analyzer.h_shell),
    "eval": _Analyzer.h_eval,
    "source": _Analyzer.h_source,
    ".": _Analyzer.h_source,
    **dict.fromkeys(_AWKS, _Analyzer.h_awk),
    "sudo": _Analyzer.h_sudo,
    "sudoedit": _Analyzer.h_sudo,
    "su": _Analyzer.h_su,
    "runuser": _Analyzer.h_su,
    "env": _Analyzer.h_env,
    "busybox": _Analyzer.h_busybox,
    "toybox": _Analyzer.h_busybox,
    "command": _Analyzer.h_command,
    "xargs": _Analyzer.h_xargs,
    "parallel": _Analyzer.h_parallel,
    "find": _Analyzer.h_find,
    "watch": _Analyzer.h_watch,
    "ssh": _Analyzer.h_ssh,
    "at": _Analyzer.h_at,
    "batch": _Analyzer.h_at,
    "script": _Analyzer.h_script,
    "tmux": _Analyzer.h_mux,
    "screen": _Analyzer.h_mux,
    "docker": _Analyzer.h_container,
    "podman": _Analyzer.h_container,
    "nerdctl": _Analyzer.h_container,
    "kubectl": _Analyzer.h_container,
    "lxc": _Analyzer.h_container,
    "incus": _Analyzer.h_container,
    "ip": _Analyzer.h_ip,
}
_CHECKS: dict[str, _Check] = {
    "rm": _Analyzer.c_rm,
    "unlink": _Analyzer.c_rm,
    "chmod": _Analyzer.c_chmod,
    "chown": _Analyzer.c_chmod,
    "chgrp": _Analyzer.c_chmod,
    "setfacl": _Analyzer.c_chmod,
    "dd": _Analyzer.c_dd,
    **dict.fromkeys(
        (
            "mkswap",
            "wipefs",
            "blkdiscard",
            "sgdisk",
            "sfdisk",
            "parted",
            "cryptsetup",
            "badblocks",
            "hdparm",
            "zpool",
        ),
        _Analyzer.c_device_tool,
    ),
    **dict.fromkeys(("shred", "truncate", "tee", "cp", "install", "ln", "mv"), _Analyzer.c_files),
    "sed": _Analyzer.c_sed,
    "rsync": _Analyzer.c_rsync,
    "kill": _Analyzer.c_kill,
    "pkill": _Analyzer.c_pkill,
    "killall": _Analyzer.c_killall,
    "killall5": _Analyzer.c_killall,
    **dict.fromkeys(
        ("shutdown", "reboot", "halt", "poweroff", "init", "telinit", "kexec", "loginctl"),
        _Analyzer.c_power,
    ),
    "systemctl": _Analyzer.c_systemctl,
    "service": _Analyzer.c_service,
    "invoke-rc.d": _Analyzer.c_service,
    "rc-service": _Analyzer.c_service,
    "nft": _Analyzer.c_nft,
    "ufw": _Analyzer.c_ufw,
    "firewall-cmd": _Analyzer.c_firewall_cmd,
    "nc": _Analyzer.c_netcat,
    "ncat": _Analyzer.c_netcat,
    "netcat": _Analyzer.c_netcat,
    "socat": _Analyzer.c_socat,
    "userdel": _Analyzer.c_userdel,
    "deluser": _Analyzer.c_userdel,
}


# ============================================================================================
# Small pure helpers


def _broad(component: str) -> bool:
    """Whether a glob component matches (nearly) any name, like `*` or `?*`."""
    return all(fnmatchcase(sample, component) for sample in ("bin", "etc", "lib", "x1"))


def _is_device(path: str) -> bool:
    return bool(_BLOCK_DEVICE.fullmatch(path)) and not path.startswith(_DEVICE_SUBDIRS_OK)


def _critical(path: str, glob: bool) -> bool:
    if glob:
        return any(fnmatchcase(c, path) for c in CRITICAL_FILES)
    return path in CRITICAL_FILES


def _is_secret(path: str, glob: bool) -> bool:
    base = posixpath.basename(path)
    if glob:
        return any(fnmatchcase(example, path) for example in _SECRET_EXAMPLES) or any(
            fnmatchcase(name, base) for name in ("id_rsa", ".env", "server.key", "environ")
        )
    return any(fnmatchcase(path, g) for g in _SECRET_GLOBS) or any(
        fnmatchcase(base, n) for n in _SECRET_NAMES
    )


def _write_hits(path: str, target: _Arg, *, append: bool = False) -> list[_Hit]:
    """What writing to `path` means: forbidden for disks, memory, sysrq and critical files."""
    note = target.note
    verb = "changes" if append else "overwrites"
    if target.glob:
        if any(fnmatchcase(sample, path) for sample in _DEVICE_SAMPLES):
            what = _with_note(f"writes onto the disks matching {path}", note)
            return [(_F, "device-write", what)]
        if _critical(path, True):
            return [(_F, "critical-file", _with_note(f"{verb} {path}", note))]
        return []
    if path in _RAW_MEMORY:
        return [(_F, "device-write", _with_note(f"writes into {path} (raw memory)", note))]
    if _is_device(path):
        return [
            (
                _F,
                "device-write",
                _with_note(f"writes straight onto the disk {path}, destroying its data", note),
            )
        ]
    if path in CRITICAL_FILES:
        what = _with_note(f"{verb} {path}, which can lock everyone out", note)
        return [(_F, "critical-file", what)]
    if path == "/proc/sysrq-trigger":
        return [
            (_F, "power", "triggers a kernel SysRq action (instant reboot, crash or power-off)")
        ]
    if (
        path.startswith("/dev/")
        and path not in _HARMLESS_SINKS
        and not path.startswith(_DEVICE_SUBDIRS_OK)
        and not re.fullmatch(r"/dev/tty\w*", path)
    ):
        return [(_A, "device-write", f"writes to the device {path}")]
    return []


def _plain_number(text: str) -> bool:
    return bool(re.fullmatch(r"\s*[-+]?(?:0[xX][0-9a-fA-F]+|\d+)\s*", text)) or not text.strip()


def _frame_problem(frame: _Frame) -> str:
    if frame.writes:
        return f"writes to {frame.writes[0]}"
    if frame.secret_input:
        return f"reads {frame.secret_input}, which holds secrets"
    return "opens a network connection"


def _service_hits(unit: str, action: _Arg | None) -> list[_Hit]:
    if action is not None and not action.dynamic and action.value in ("stop", "kill", "force-stop"):
        return _unit_hits(_lit(unit))
    return []


def _unit_hits(unit: _Arg) -> list[_Hit]:
    if unit.dynamic:
        return []
    base = unit.value
    for suffix in (".service", ".socket"):
        base = base.removesuffix(suffix)
    base = base.split("@")[0]
    pattern = bool(_GLOB.search(base))
    if base in _SSH_UNITS or (pattern and any(fnmatchcase(s, base) for s in ("ssh", "sshd"))):
        return [(_F, "kill-sshd", f"stops {unit.value}, which cuts off remote access")]
    if base in _FIREWALL_UNITS:
        return [(_F, "firewall", f"turns the firewall off ({unit.value})")]
    return []


def _pid_hits(pids: list[_Arg]) -> list[_Hit]:
    hits: list[_Hit] = []
    for pid in pids:
        if pid.dynamic:
            if _SSH_ORIGIN.search(pid.origin):
                hits.append((_F, "kill-sshd", "kills sshd, which cuts off remote access"))
            elif _INIT_ORIGIN.search(pid.origin):
                hits.append((_F, "kill-init", "kills init (PID 1), which brings the machine down"))
        elif pid.value == "1":
            hits.append((_F, "kill-init", "kills PID 1 (init), which brings the machine down"))
        elif pid.value == "-1":
            hits.append((_F, "kill-all", "kills every process on the machine"))
    return hits


def _is_decoder(name: str, argv: tuple[_Arg, ...]) -> bool:
    flags = [a.value for a in argv[1:] if not a.dynamic and a.value.startswith("-")]
    short = "".join(f[1:] for f in flags if not f.startswith("--"))
    if name in _ALWAYS_DECODERS:
        return True
    if name in ("base64", "base32", "basenc"):
        return "d" in short or "D" in short or "--decode" in flags
    if name == "openssl":
        words = [a.value for a in argv[1:]]
        return "-d" in words and any(w in ("base64", "enc", "-a", "-base64") for w in words)
    if name == "xxd":
        return "r" in short or "--revert" in flags
    if name in ("gzip", "bzip2", "xz", "zstd", "lzma", "lz4"):
        return "d" in short or "--decompress" in flags or "--uncompress" in flags
    return False


def _echo(args: tuple[_Arg, ...], text: str) -> _Stream:
    newline = True
    i = 0
    while i < len(args) and not args[i].dynamic and re.fullmatch(r"-[neE]+", args[i].value):
        newline = newline and "n" not in args[i].value
        i += 1
    rest = args[i:]
    dynamic = [a for a in rest if a.dynamic]
    if dynamic:
        taint = max(a.taint for a in dynamic)
        origin = ""
        for a in dynamic:
            origin = _cat(origin, a.origin)
        return _Stream(max(_T.OTHER, taint), "", _cat(origin, text))
    body = " ".join(a.value for a in rest)
    out = body + ("\n" if newline else "")
    if "\\" in body:  # some shells' echo decodes escapes, some don't: consider both
        out += shell.decode_escapes(body, mode="echo") + "\n"
    return _Stream(_T.STATIC, out, text)


_PRINTF_SPEC = re.compile(r"%(?:%|[-+ #0]*\d*(?:\.\d+)?([sbdiouxXcfeEgGq]))")


def _printf_stream(args: tuple[_Arg, ...], text: str) -> _Stream:
    if args and not args[0].dynamic and args[0].value == "-v":
        return _NO_STREAM
    if args and not args[0].dynamic and args[0].value == "--":
        args = args[1:]
    if not args or any(a.dynamic for a in args):
        taint = max((a.taint for a in args), default=_T.NONE)
        return _Stream(max(_T.OTHER, taint), "", text)
    fmt = args[0].value
    values = [a.value for a in args[1:]]
    out: list[str] = []
    k = 0
    for _ in range(16):
        pos = 0
        used = 0
        for m in _PRINTF_SPEC.finditer(fmt):
            out.append(shell.decode_escapes(fmt[pos : m.start()], mode="printf"))
            pos = m.end()
            conv = m.group(1)
            if conv is None:
                out.append("%")
                continue
            value = values[k] if k < len(values) else ""
            k += 1
            used += 1
            if conv == "b":
                out.append(shell.decode_escapes(value, mode="echo"))
            elif conv == "c":
                out.append(value[:1])
            elif conv in "sq":
                out.append(value)
            else:
                out.append(value or "0")
        out.append(shell.decode_escapes(fmt[pos:], mode="printf"))
        if not used or k >= len(values):
            break
    return _Stream(_T.STATIC, "".join(out) + "\n" + " ".join([fmt, *values]) + "\n", text)


def _stream_items(stream: _Stream, delimiter: str | None) -> list[_Arg]:
    """The arguments xargs/parallel would build from `stream`."""
    if stream.kind is _T.STATIC:
        text = stream.text
        if delimiter is not None:
            words = [w for w in text.split(delimiter) if w]
        else:
            try:
                words = shlex.split(text)
            except ValueError:
                words = text.split()
        return [_lit(w) for w in words[:32]] or [_lit("")]
    unknown = _Arg("{input}", "{input}", dynamic=True, taint=stream.kind, origin=stream.origin)
    return [*(_lit(line) for line in stream.lines), unknown]


def _substitute(arg: _Arg, token: str, item: _Arg) -> _Arg:
    if arg.dynamic or token not in arg.value:
        return arg
    if item.dynamic:
        return _Arg(arg.value, arg.raw, True, False, arg.note, item.taint, item.origin)
    return replace(arg, value=arg.value.replace(token, item.value), glob=arg.glob or item.glob)


def _iter_and_ors(command: Command) -> Iterator[AndOr]:
    bodies: list[Script] = []
    if isinstance(command, Group):
        bodies.append(command.body)
    elif isinstance(command, If):
        for cond, body in command.clauses:
            bodies.extend((cond, body))
        if command.orelse is not None:
            bodies.append(command.orelse)
    elif isinstance(command, Loop):
        bodies.extend((command.condition, command.body))
    elif isinstance(command, (For,)):
        bodies.append(command.body)
    elif isinstance(command, Case):
        bodies.extend(arm.body for arm in command.arms)
    for body in bodies:
        for item in body.items:
            yield item
            for pipeline in item.pipelines:
                for inner in pipeline.commands:
                    yield from _iter_and_ors(inner)


_GIT_COMMAND_KEYS = frozenset(
    _names(
        "core.sshcommand, core.pager, core.editor, core.fsmonitor, core.askpass, sequence.editor,"
        " diff.external, gpg.program, credential.helper, pager.log, pager.diff, pager.show"
    )
)
_SSH_COMMAND_KEYS = frozenset(_names("proxycommand, localcommand, knownhostscommand"))
_CODE_OPTIONS = {
    "tar": _names(
        "--to-command, --checkpoint-action, --use-compress-program, -I, --info-script, -F,"
        " --new-volume-script"
    ),
    "rsync": _names("-e, --rsh, --rsync-path"),
    "zip": _names("-TT, --unzip-command"),
}


def _embedded_code(name: str, argv: tuple[_Arg, ...], stdin: _Stream) -> list[str]:
    """Shell code a command is handed to run later or elsewhere: scanned for forbidden parts."""
    args = [a for a in argv[1:] if not a.dynamic]
    values = [a.value for a in args]
    codes: list[str] = []
    for k, v in enumerate(values):
        following = values[k + 1] if k + 1 < len(values) else ""
        if name == "alias" and "=" in v:
            codes.append(v.split("=", 1)[1])
        elif name == "git" and (v == "-c" or v.startswith("--upload-pack") or v == "--exec"):
            key, _, value = following.partition("=")
            if v != "-c":
                value = v.partition("=")[2] or following
            if value.startswith("!"):
                codes.append(value[1:])
            elif v != "-c" or key.lower() in _GIT_COMMAND_KEYS:
                codes.append(value)
        elif name in ("ssh", "scp", "sftp") and v.startswith("-o"):
            option = v[2:] or following
            key, _, value = option.replace("=", " ", 1).partition(" ")
            if key.lower() in _SSH_COMMAND_KEYS:
                codes.append(value)
        elif name in ("vi", "vim", "nvim", "ex", "view") and (v == "-c" or v.startswith("+")):
            command = following if v == "-c" else v[1:]
            if "!" in command:
                codes.append(command.split("!", 1)[1])
        elif name == "socat" and re.match(r"(?i)(exec|system):", v):
            codes.append(v.split(":", 1)[1].split(",", 1)[0].strip("'\""))
        elif name in _CODE_OPTIONS:
            for option in _CODE_OPTIONS[name]:
                if v == option:
                    codes.append(following)
                elif option.startswith("--") and v.startswith(option + "="):
                    codes.append(v.split("=", 1)[1])
    codes = [c.removeprefix("exec=") for c in codes]
    if name == "crontab" and stdin.kind is _T.STATIC and values in ([], ["-"]):
        for line in stdin.text.splitlines():
            line = line.strip()
            if not line or line.startswith("#") or _ASSIGN_ARG.match(line):
                continue
            fields = line.split(None, 1 if line.startswith("@") else 5)
            if len(fields) == (2 if line.startswith("@") else 6):
                codes.append(fields[-1])
    return [c for c in codes if c.strip()]


def _find_narrows(words: list[str]) -> bool:
    """Whether find's tests pick only some files (`-name '*'` or a negation picks all)."""
    if any(w in _FIND_NEGATION for w in words):
        return False
    for k, w in enumerate(words):
        if w not in _FIND_NARROWING:
            continue
        value = words[k + 1] if k + 1 < len(words) else ""
        if w in _FIND_NAME_TESTS and (_broad(value) or value in (".*", "/*", "*/*")):
            continue
        return True
    return False


def _is_fork_bomb_function(fd: FunctionDef) -> bool:
    for item in _iter_and_ors(fd.body):
        for pipeline in item.pipelines:
            calls = [
                c
                for c in pipeline.commands
                if isinstance(c, SimpleCommand) and c.words and c.words[0].literal == fd.name
            ]
            if calls and (len(pipeline.commands) > 1 or item.background):
                return True
    return False


def _is_spawn_loop(condition: Script | None, body: Script, until: bool) -> bool:
    """An endless loop that starts background processes and never waits or sleeps."""
    if condition is not None:
        forever = ("false",) if until else ("true", ":")
        items = condition.items
        if len(items) != 1 or items[0].rest or len(items[0].first.commands) != 1:
            return False
        only = items[0].first.commands[0]
        if not (
            isinstance(only, SimpleCommand)
            and len(only.words) >= 1
            and only.words[0].literal in forever
        ):
            return False
    background = False
    for item in body.items:
        if item.background:
            background = True
            continue
        for pipeline in item.pipelines:
            for c in pipeline.commands:
                if (
                    isinstance(c, SimpleCommand)
                    and c.words
                    and c.words[0].literal
                    in (
                        "sleep",
                        "wait",
                        "read",
                    )
                ):
                    return False
    return background
