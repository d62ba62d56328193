"""Reading the `execution` section: the executor's hosts, its policy and who may ask or approve.

Apart from the rest of the loading because it leans on the executor's own readers
(`HostConfig.from_mapping`, the policy lists), whose errors are re-worded here under the
dotted key the user wrote.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from bots.errors import ConfigError
from bots.settings.model import ExecutionSettings
from bots.settings.reader import Node
from executor.hosts import HOST_KEYS, LOCAL_HOST, HostConfig, refused_env_name
from executor.policy import (
    LEVELS,
    ForbiddenRule,
    HostPolicy,
    PolicyConfig,
    PolicyConfigError,
    load_forbidden,
    load_readonly,
)
from executor.policy.config import FORBIDDEN_FILE, READONLY_FILE
from executor.policy.limits import DEFAULT_CHECK_SECONDS


def parse_execution(
    node: Node, base: Path, *, secret_paths: tuple[str, ...] = ()
) -> ExecutionSettings:
    """The `execution` section: hosts first, since the policy judges each host by its own
    workdir and env. `secret_paths` (the resolved data dir) become the policy's own secrets."""
    # Only the plain defaults are read from here; the policy (and with it the shipped
    # read-only list) is read below, where a broken file is reported with its dotted key.
    defaults = ExecutionSettings(policy=PolicyConfig(readonly=()))
    hosts = (
        {name: _host(name, host, base) for name, host in node.mapping("hosts").items()}
        if node.has("hosts")
        # As `local: {}` would: this machine, its commands run as RUN_AS_DEFAULT.
        else {LOCAL_HOST: HostConfig.from_mapping({}, name=LOCAL_HOST)}
    )
    settings = ExecutionSettings(
        hosts=hosts,
        approvers=_user_globs(node, "approvers"),
        approval_expiry_seconds=node.get("approval_expiry_seconds", float, 900.0),
        max_concurrent=node.get("max_concurrent", int, defaults.max_concurrent),
        output_limit=node.get("output_limit", int, defaults.output_limit),
        default_timeout_seconds=node.get(
            "default_timeout_seconds", float, defaults.default_timeout_seconds
        ),
        policy=_policy(node.child("policy"), base, hosts, secret_paths),
        requesters=_requesters(node),
        allowed_senders=_user_globs(node, "allowed_senders"),
        secrets_env=node.strings("secrets_env"),
    )
    if settings.approval_expiry_seconds <= 0:
        raise node.error("approval_expiry_seconds", "must be positive")
    if settings.max_concurrent < 1:
        raise node.error("max_concurrent", "must be at least 1")
    if settings.output_limit < 1000:
        raise node.error("output_limit", "must be at least 1000 characters")
    if settings.default_timeout_seconds <= 0:
        raise node.error("default_timeout_seconds", "must be positive")
    node.reject_unknown()
    return settings


def _host(name: str, node: Node, base: Path) -> HostConfig:
    """One host; HostConfig's own checks are reported under the dotted key."""
    data = {key: node.raw(key) for key in HOST_KEYS if node.has(key)}
    if node.written("run_as"):  # `run_as: null` opts out of RUN_AS_DEFAULT
        data["run_as"] = node.raw("run_as")
    node.reject_unknown()
    for key, value in data.items():
        if key == "env" and not isinstance(value, dict):
            raise node.error(key, "expected a mapping of variable names to values")
        if key == "env":
            for variable in value:
                why = refused_env_name(str(variable))
                if why is not None:
                    raise ConfigError(f"{node.key('env')}.{variable}: may not be set: {why}")
    try:
        host = HostConfig.from_mapping(data, name=name, base_dir=base)
    except ValueError as exc:
        text = str(exc)
        field_name = next((key for key in HOST_KEYS if key in text), "")
        where = node.key(field_name) if field_name else node.path
        detail = text.split(": ", 1)[1] if text.startswith("host ") and ": " in text else text
        raise ConfigError(f"{where}: {detail}") from exc
    # A file the config names must be there now, not first missed at the first command.
    if host.key_path is not None and not host.key_path.is_file():
        raise node.error("key", f"no key file at {host.key_path}")
    if (
        host.known_hosts is not None
        and not host.trust_on_first_use
        and not host.known_hosts.is_file()
    ):
        raise node.error(
            "known_hosts",
            f"no known_hosts file at {host.known_hosts} (or set trust_on_first_use: true)",
        )
    return host


def _user_globs(node: Node, name: str) -> tuple[str, ...]:
    globs = node.strings(name)
    for index, glob in enumerate(globs):
        if not glob.startswith("@"):
            raise ConfigError(f"{node.key(name)}[{index}]: {glob!r} is not a user id (or glob)")
    return globs


def _requesters(node: Node) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    raw = node.raw("requesters") or {}
    if not isinstance(raw, dict):
        raise node.error("requesters", "expected a mapping of user-id globs to levels")
    for glob, level in raw.items():
        if level not in LEVELS:
            raise ConfigError(
                f"{node.key('requesters')}.{glob}: unknown level {level!r}; "
                f"expected one of {', '.join(LEVELS)}"
            )
        pairs.append((str(glob), str(level)))
    return tuple(pairs)


def _policy(
    node: Node, base: Path, hosts: Mapping[str, HostConfig], secret_paths: tuple[str, ...] = ()
) -> PolicyConfig:
    """The policy, with its lists read now: a broken list stops the start, not a request."""
    mode = node.choice("mode", ("blocklist", "allowlist"), "blocklist")
    readonly_path = _policy_file(node, "readonly_file", base)
    forbidden_path = _policy_file(node, "forbidden_file", base)
    try:
        readonly = load_readonly(readonly_path)
    except PolicyConfigError as exc:
        raise node.error("readonly_file", str(exc)) from exc
    try:
        forbidden = load_forbidden(forbidden_path)
    except PolicyConfigError as exc:
        raise node.error("forbidden_file", str(exc)) from exc
    overrides = {name: _host_policy(h) for name, h in node.mapping("hosts").items()}
    for name, host in hosts.items():
        # The policy judges a command where it will run: the host's workdir and env.
        override = overrides.get(name) or next(
            (o for pattern, o in overrides.items() if fnmatch.fnmatchcase(name, pattern)),
            HostPolicy(),
        )
        overrides[name] = replace(
            override,
            workdir=override.workdir or host.workdir,
            env=override.env if override.env is not None else (host.env or None),
        )
    try:
        policy = PolicyConfig(
            mode="allowlist" if mode == "allowlist" else "blocklist",
            allowlist=node.strings("allowlist"),
            readonly=readonly,
            auto_approve_readonly=node.get("auto_approve_readonly", bool, False),
            check_seconds=node.get("check_seconds", float, DEFAULT_CHECK_SECONDS),
            forbidden=forbidden.rules,
            protected_paths=forbidden.protected_paths,
            hosts=overrides,
            secret_paths=secret_paths,
        )
    except PolicyConfigError as exc:
        raise ConfigError(f"{node.path}: {exc}") from exc
    node.reject_unknown()
    return policy


def _policy_file(node: Node, name: str, base: Path) -> Path:
    """The list the config names (relative to its folder), else the one shipped in the package."""
    value = node.optional(name, str)
    if value is None:
        return READONLY_FILE if name == "readonly_file" else FORBIDDEN_FILE
    path = (base / Path(value).expanduser()).resolve()
    if not path.is_file():
        raise node.error(name, f"no policy file at {path} (leave {name} out for the built-in list)")
    return path


def _host_policy(node: Node) -> HostPolicy:
    mode = node.optional("mode", str)
    if mode is not None and mode not in ("blocklist", "allowlist"):
        raise node.error("mode", f"unknown mode {mode!r}; expected one of blocklist, allowlist")
    forbidden: list[ForbiddenRule] = []
    for rule in node.children("forbidden"):
        forbidden.append(ForbiddenRule(rule.require("pattern", str), rule.require("reason", str)))
        rule.reject_unknown()
    paths = node.strings("protected_paths")
    for index, path in enumerate(paths):
        if not path.startswith("/"):
            raise ConfigError(f"{node.key('protected_paths')}[{index}]: must be an absolute path")
    policy = HostPolicy(
        mode="allowlist" if mode == "allowlist" else ("blocklist" if mode else None),
        allowlist=node.strings("allowlist") if node.has("allowlist") else None,
        auto_approve_readonly=node.optional("auto_approve_readonly", bool),
        forbidden=tuple(forbidden),
        protected_paths=paths,
    )
    node.reject_unknown()
    return policy
