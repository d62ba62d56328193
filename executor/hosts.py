"""Where commands may run: one frozen `HostConfig` per configured server.

Plain values only (no asyncssh here), so config loading and the policy can use them freely.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

LOCAL_HOST = "local"
"""The host that means "this machine"; without an address it is served by an embedded server."""

RUN_AS_DEFAULT = "chavion-run"
"""The OS user the embedded `local` host runs commands as unless the config says otherwise
(`run_as: null` runs them as Chavion's own user). scripts/local-host creates it."""

SANDBOX_MODES: tuple[str, ...] = ("auto", "required", "off")
"""auto: auto-approved commands run in the read-only sandbox (bubblewrap) where the host has
it, else without it and the result says so; required: refused without it; off: never."""

HOST_KEYS: tuple[str, ...] = (
    "address",
    "port",
    "user",
    "key",
    "known_hosts",
    "trust_on_first_use",
    "workdir",
    "env",
    "max_concurrent",
    "connect_timeout",
    "keepalive_interval",
    "sandbox",
    "run_as",
)
"""The settings a host entry may have in the config (besides its name)."""

_REFUSED_ENV: tuple[tuple[str, str], ...] = (
    (
        "PATH",
        "PATH is fixed by the executor (/usr/local/sbin:/usr/local/bin:/usr/sbin:"
        "/usr/bin:/sbin:/bin): the policy judges commands by that PATH",
    ),
    (
        "BASH*",
        "bash reads it at start (BASH_ENV runs a file, BASH_FUNC_* defines functions, "
        "BASHOPTS changes the grammar)",
    ),
    ("ENV", "shells run the file it names"),
    ("LD_*", "the dynamic loader obeys it (code injection)"),
    ("GCONV_PATH", "glibc loads code from it"),
    ("SHELLOPTS", "it changes how bash parses and runs the command"),
    ("POSIXLY_CORRECT", "it changes how bash parses and runs the command"),
    ("PROMPT_COMMAND", "bash runs it"),
    ("PS0", "bash expands it"),
    ("PS4", "bash expands it (command substitutions included) when tracing"),
    ("IFS", "it changes how bash splits words"),
    ("CDPATH", "it changes where cd goes"),
    ("GLOBIGNORE", "it changes what globs match"),
)
"""Environment names a host's `env` may not set, and why: each would make the command mean
something other than what the policy judged (names ending in * are prefixes)."""


def refused_env_name(name: str) -> str | None:
    """Why `name` may not be set in a host's env, or None when it may."""
    for pattern, why in _REFUSED_ENV:
        if name == pattern or (pattern.endswith("*") and name.startswith(pattern[:-1])):
            return why
    return None


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class HostConfig:
    """How to reach one host and how to run commands there.

    `address=None` is allowed only for `local`: the executor then starts its embedded SSH
    server and fills in address, port, user, key and known_hosts itself.
    """

    name: str
    address: str | None = None
    port: int = 22
    user: str | None = None
    """Login name; None means the user Chavion runs as, as with plain `ssh`."""
    key_path: Path | None = None
    """Private key (unencrypted, mode 0600); None means ~/.ssh/id_* and the ssh-agent."""
    known_hosts: Path | None = None
    """Host keys to trust; None means ~/.ssh/known_hosts. Never skipped."""
    trust_on_first_use: bool = False
    """If the host has no entry in known_hosts yet, accept its key once and record it."""
    workdir: str | None = None
    env: tuple[tuple[str, str], ...] = field(default=())
    """Exported before each command (sshd's AcceptEnv would drop SSH `env` requests)."""
    max_concurrent: int = 8
    """Commands at once on this host; keep it below the server's MaxSessions (default 10)."""
    connect_timeout: float = 10.0
    keepalive_interval: float = 15.0
    sandbox: str = "auto"
    """Where auto-approved commands run: see SANDBOX_MODES."""
    run_as: str | None = None
    """Only for the embedded `local`: the OS user its commands run as (None: Chavion's own).
    Read from a config, `local` gets RUN_AS_DEFAULT unless `run_as: null` is written."""
    hidden_paths: tuple[str, ...] = ()
    """Directories the read-only sandbox covers with an empty tmpfs (Chavion's data dir on
    the embedded `local`); set by the executor, not the config."""

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ValueError(f"host {self.name!r}: " + "; ".join(problems))

    def _problems(self) -> Iterable[str]:
        if not _NAME.fullmatch(self.name):
            yield "name must be 1-64 letters, digits, '.', '_' or '-'"
        if self.address is None and self.name != LOCAL_HOST:
            yield f"address is required (only {LOCAL_HOST!r} may omit it)"
        if self.address is not None and not self.address.strip():
            yield "address is empty"
        if not 1 <= self.port <= 65535:
            yield f"port {self.port} is not in 1..65535"
        if self.user is not None and not self.user.strip():
            yield "user is empty"
        if self.max_concurrent < 1:
            yield "max_concurrent must be at least 1"
        if self.connect_timeout <= 0:
            yield "connect_timeout must be positive"
        if self.keepalive_interval < 0:
            yield "keepalive_interval must not be negative"
        for key, _ in self.env:
            if not _ENV_NAME.fullmatch(key):
                yield f"env name {key!r} is not a shell variable name"
            elif (why := refused_env_name(key)) is not None:
                yield f"env name {key!r} may not be set: {why}"
        if self.sandbox not in SANDBOX_MODES:
            yield f"sandbox must be one of {', '.join(SANDBOX_MODES)}, not {self.sandbox!r}"
        if self.run_as is not None:
            if self.address is not None:
                yield "run_as applies only to the embedded local host"
            elif not _NAME.fullmatch(self.run_as):
                yield f"run_as {self.run_as!r} is not a user name"

    @property
    def embedded(self) -> bool:
        """True when the executor must serve this host itself (`local` without an address)."""
        return self.address is None

    @property
    def environment(self) -> dict[str, str]:
        return dict(self.env)

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, object], *, name: str | None = None, base_dir: Path | None = None
    ) -> HostConfig:
        """Builds a host from a config mapping (e.g. YAML); relative paths are under base_dir.

        Keys: name and HOST_KEYS. `local` without an address runs its commands as
        RUN_AS_DEFAULT unless `run_as` is given (null: as Chavion's own user).
        """
        known = {"name", *HOST_KEYS}
        host_name = name if name is not None else data.get("name")
        if not isinstance(host_name, str):
            raise ValueError(f"host entry without a name: {dict(data)!r}")
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"host {host_name!r}: unknown settings {', '.join(unknown)}")

        def text(key: str) -> str | None:
            value = data.get(key)
            if value is None:
                return None
            if not isinstance(value, str | int):
                raise ValueError(f"host {host_name!r}: {key} must be text")
            return str(value)

        def number(key: str, default: float) -> float:
            value = data.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"host {host_name!r}: {key} must be a number")
            return float(value)

        def path(key: str) -> Path | None:
            value = text(key)
            if value is None:
                return None
            resolved = Path(value).expanduser()
            if not resolved.is_absolute() and base_dir is not None:
                resolved = base_dir / resolved
            return resolved

        env = data.get("env") or {}
        if not isinstance(env, Mapping):
            raise ValueError(f"host {host_name!r}: env must be a mapping")
        address = text("address")
        if "run_as" in data:
            run_as = text("run_as")
        else:
            run_as = RUN_AS_DEFAULT if host_name == LOCAL_HOST and address is None else None
        tofu = data.get("trust_on_first_use", False)
        if not isinstance(tofu, bool):
            raise ValueError(f"host {host_name!r}: trust_on_first_use must be true or false")
        return cls(
            name=host_name,
            address=address,
            port=int(number("port", 22)),
            user=text("user"),
            key_path=path("key"),
            known_hosts=path("known_hosts"),
            trust_on_first_use=tofu,
            workdir=text("workdir"),
            env=tuple((str(k), str(v)) for k, v in env.items()),
            max_concurrent=int(number("max_concurrent", 8)),
            connect_timeout=number("connect_timeout", 10.0),
            keepalive_interval=number("keepalive_interval", 15.0),
            sandbox=_sandbox_mode(host_name, data.get("sandbox", "auto")),
            run_as=run_as,
        )


def _sandbox_mode(host_name: str, value: object) -> str:
    """The sandbox setting; YAML reads a bare `off` as false, which means "off" here too."""
    if value is False:
        return "off"
    if not isinstance(value, str):
        raise ValueError(f"host {host_name!r}: sandbox must be one of {', '.join(SANDBOX_MODES)}")
    return value


def load_hosts(raw: object, *, base_dir: Path | None = None) -> dict[str, HostConfig]:
    """Reads the `hosts` config section: a list of entries with `name`, or a name -> entry map."""
    entries: list[HostConfig] = []
    if isinstance(raw, Mapping):
        for name, data in raw.items():
            if not isinstance(data, Mapping):
                raise ValueError(f"host {name!r}: settings must be a mapping")
            entries.append(HostConfig.from_mapping(data, name=str(name), base_dir=base_dir))
    elif isinstance(raw, list):
        for data in raw:
            if not isinstance(data, Mapping):
                raise ValueError(f"host entry must be a mapping, not {data!r}")
            entries.append(HostConfig.from_mapping(data, base_dir=base_dir))
    else:
        raise ValueError("hosts must be a list or a mapping")
    hosts: dict[str, HostConfig] = {}
    for host in entries:
        if host.name in hosts:
            raise ValueError(f"host {host.name!r} is configured twice")
        hosts[host.name] = host
    return hosts
