"""Chavion's configuration: one YAML file, validated at start into frozen values.

Secrets never live in the file: it names environment variables, read when needed.
Relative paths resolve against the config file's folder, so the file can move with its data.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bots.app.config_reader import Node
from bots.errors import ConfigError
from bots.ids import UserID, user_id_for
from executor.hosts import HOST_KEYS, LOCAL_HOST, HostConfig
from executor.policy import (
    LEVELS,
    ForbiddenRule,
    HostPolicy,
    PolicyConfig,
    PolicyConfigError,
    load_forbidden,
    load_readonly,
)

PROVIDERS = ("openai", "anthropic", "gemini", "openai-compatible")
ROLES = ("cognitive", "thinking", "judging", "executing", "evolving")
CONFIG_ENV = "CHAVION_CONFIG"
DATA_DIR_ENV = "CHAVION_DATA_DIR"
REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = REPO_ROOT / "config" / "chavion.example.yaml"
DEFAULT_CONFIG = REPO_ROOT / "config" / "chavion.yaml"
POLICY_DIR = REPO_ROOT / "config" / "policy"

BotKind = Literal["coordinator", "executor", "agent"]


@dataclass(frozen=True)
class DatabaseSettings:
    engine: Literal["sqlite", "postgres"] = "sqlite"
    host: str = "localhost"
    port: int = 5432
    user: str = "synapse"
    password_env: str | None = None
    name: str = "synapse"


def is_localhost(host: str) -> bool:
    """The name "localhost", which Chavion takes to mean 127.0.0.1 wherever it binds or dials."""
    return host.lower().rstrip(".") == "localhost"


@dataclass(frozen=True)
class HomeserverSettings:
    server_name: str = "localhost"
    bind_address: str = "127.0.0.1"
    port: int = 8008
    public_base_url: str | None = None
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    federation: bool = False
    registration_secret_env: str | None = None
    bcrypt_rounds: int = 12
    relaxed_rate_limits: bool = False
    start: bool = True

    @property
    def client_url(self) -> str:
        """Where Chavion itself talks to Synapse (always the local listener)."""
        host = self.bind_address
        if host in ("0.0.0.0", "::") or is_localhost(host):
            host = "127.0.0.1"  # where Synapse listens for "localhost" too (listen_address)
        elif ":" in host:
            host = f"[{host}]"  # an IPv6 address in a URL
        return f"http://{host}:{self.port}"

    @property
    def public_url(self) -> str:
        """What a person types into Element."""
        return self.public_base_url or self.client_url


@dataclass(frozen=True)
class AccountSettings:
    """A Matrix account Chavion registers and runs: the coordinator, the executor or an agent."""

    name: str
    kind: BotKind
    localpart: str
    display_name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class BudgetSettings:
    daily_tokens: int | None = None
    daily_cost_usd: float | None = None


@dataclass(frozen=True)
class AgentSettings:
    account: AccountSettings
    provider: str
    model: str
    role: str
    persona: Path
    api_key_env: str | None = None
    base_url: str | None = None
    temperature: float | None = None
    max_tokens: int = 1024
    context_tokens: int = 6000
    streaming: bool = True
    timeout_seconds: float = 60.0
    budget: BudgetSettings = field(default_factory=BudgetSettings)

    @property
    def name(self) -> str:
        return self.account.name

    @property
    def has_credentials(self) -> bool:
        """Local models need no key; hosted ones need the named variable set."""
        if self.api_key_env is None:
            return self.provider == "openai-compatible"
        return bool(os.environ.get(self.api_key_env))


@dataclass(frozen=True)
class MasterSettings:
    localpart: str = "master"
    display_name: str = "Master"
    password_env: str | None = None


@dataclass(frozen=True)
class CouncilSettings:
    alias: str = "council"
    name: str = "Chavion Council"
    topic: str = (
        "The council: address an agent by name, or everyone with 얘들아. !help for commands."
    )
    encrypted: bool = True


@dataclass(frozen=True)
class AccessRule:
    """Who may run a command: not denied, matching an allowed glob, with enough power."""

    allow: tuple[str, ...] = ("*",)
    deny: tuple[str, ...] = ()
    min_power: int = 0


MASTER_ONLY = AccessRule(min_power=100)
# Rules that hold unless the config changes them: what changes the council is the
# master's, what only reads it is anyone's. Naming a command in the config changes only
# the keys given; the rest of its rule stays as here.
DEFAULT_COMMAND_RULES: Mapping[str, AccessRule] = {
    "status": AccessRule(min_power=50),
    "mute": MASTER_ONLY,
    "unmute": MASTER_ONLY,
    "run": MASTER_ONLY,
    "approve": MASTER_ONLY,
    "deny": MASTER_ONLY,
    "cancel": MASTER_ONLY,
    "hosts": AccessRule(min_power=50),
    "audit": AccessRule(min_power=50),
}


@dataclass(frozen=True)
class AccessSettings:
    default: AccessRule = field(default_factory=AccessRule)
    commands: Mapping[str, AccessRule] = field(default_factory=lambda: dict(DEFAULT_COMMAND_RULES))
    invites_from: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuntimeSettings:
    heartbeat_seconds: int = 600
    max_backoff_seconds: float = 3.0
    sync_timeout_ms: int = 30_000
    agent_turn_limit: int = 6
    broadcast_words: tuple[str, ...] = ("everyone", "all", "얘들아", "다들", "@room")


@dataclass(frozen=True)
class ExecutionSettings:
    """The executor bot's own rules: hosts, policy, who may approve, ask and at which level.

    Everything the executor trusts comes from here, never from another bot's word.
    Empty `approvers`/`requesters`/`allowed_senders` mean the master (and, for senders,
    the coordinator too) — see `approvers_for` and friends.
    """

    hosts: Mapping[str, HostConfig] = field(
        default_factory=lambda: {LOCAL_HOST: HostConfig(name=LOCAL_HOST)}
    )
    approvers: tuple[str, ...] = ()
    approval_expiry_seconds: float = 900.0
    max_concurrent: int = 16
    output_limit: int = 64_000
    default_timeout_seconds: float = 600.0
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    requesters: tuple[tuple[str, str], ...] = ()
    """(user-id glob, level) pairs, first match wins; a user matching none may not run."""
    allowed_senders: tuple[str, ...] = ()
    secrets_env: tuple[str, ...] = ()
    """Environment variables whose values are masked in output, messages and the audit."""

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(v for name in self.secrets_env if (v := os.environ.get(name, "")))


@dataclass(frozen=True)
class Settings:
    source: Path
    data_dir: Path
    timezone: str
    homeserver: HomeserverSettings
    master: MasterSettings
    council: CouncilSettings
    coordinator: AccountSettings
    executor: AccountSettings
    agents: tuple[AgentSettings, ...]
    access: AccessSettings
    runtime: RuntimeSettings
    prices: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    execution: ExecutionSettings = field(default_factory=ExecutionSettings)

    @property
    def accounts(self) -> tuple[AccountSettings, ...]:
        """Every bot account, coordinator first: the order bots start and are listed in."""
        return (self.coordinator, self.executor, *(a.account for a in self.agents))

    def account(self, name: str) -> AccountSettings:
        for account in self.accounts:
            if name in (account.name, account.localpart):
                return account
        names = ", ".join(a.name for a in self.accounts)
        raise ConfigError(f"no bot named {name!r}; configured bots: {names}")

    def agent(self, name: str) -> AgentSettings:
        for agent in self.agents:
            if agent.name == name:
                return agent
        raise ConfigError(f"no agent named {name!r}")

    def user_id(self, account: AccountSettings | MasterSettings) -> UserID:
        return user_id_for(account.localpart, self.homeserver.server_name)

    @property
    def master_user_id(self) -> UserID:
        return self.user_id(self.master)

    @property
    def council_alias(self) -> str:
        return f"#{self.council.alias}:{self.homeserver.server_name}"

    @property
    def approvers(self) -> tuple[str, ...]:
        """Who may approve executions (globs); by default only the master."""
        return self.execution.approvers or (self.master_user_id,)

    @property
    def requester_levels(self) -> tuple[tuple[str, str], ...]:
        """Permission levels by user-id glob; the master is admin unless the config says else."""
        return (*self.execution.requesters, (self.master_user_id, "admin"))

    @property
    def exec_senders(self) -> tuple[str, ...]:
        """Who may send execution requests; by default the master and the coordinator."""
        return self.execution.allowed_senders or (
            self.master_user_id,
            self.user_id(self.coordinator),
        )


def find_config_path(explicit: str | None = None) -> Path:
    """--config wins, then $CHAVION_CONFIG, then config/chavion.yaml, then the example."""
    for candidate in (explicit, os.environ.get(CONFIG_ENV)):
        if candidate:
            return Path(candidate).expanduser().resolve()
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else EXAMPLE_CONFIG


def load_settings(path: Path) -> Settings:
    """Read and validate the file; every problem is one ConfigError line naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path} is not UTF-8 text: byte 0x{exc.object[exc.start]:02x} on line {line}; "
            "save it as UTF-8"
        ) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {_yaml_problem(exc)}") from exc
    return parse_settings(data, path)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's own message spans several lines; the problem and where it is fit in one."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = ", ".join(part for part in (exc.context, exc.problem) if part)
        return where + " ".join(what.split())
    return " ".join(str(exc).split())


def parse_settings(data: object, source: Path) -> Settings:
    root = Node(data)
    base = source.parent
    data_dir = os.environ.get(DATA_DIR_ENV) or root.get("data_dir", str, "../.data")
    homeserver = _homeserver(root.child("homeserver"))
    master = _master(root.child("master"))
    bots = root.child("bots")
    coordinator = _account(bots.child("coordinator"), "coordinator", "coordinator", "Chavion")
    executor = _account(bots.child("executor"), "executor", "executor", "Executor")
    bots.reject_unknown()
    agents = tuple(_agent(node, base) for node in root.children("agents"))
    settings = Settings(
        source=source,
        data_dir=(base / data_dir).resolve(),
        timezone=_timezone(root),
        homeserver=homeserver,
        master=master,
        council=_council(root.child("council")),
        coordinator=coordinator,
        executor=executor,
        agents=agents,
        access=_access(root.child("access")),
        runtime=_runtime(root.child("runtime")),
        prices=_prices(root),
        execution=_execution(root.child("execution"), base),
    )
    root.reject_unknown()
    _check_unique_accounts(settings)
    return settings


def _timezone(root: Node) -> str:
    name = root.get("timezone", str, "Asia/Seoul")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise root.error(
            "timezone", f"unknown time zone {name!r} (use an IANA name such as Asia/Seoul or UTC)"
        ) from exc
    return name


def _homeserver(node: Node) -> HomeserverSettings:
    port = node.get("port", int, 8008)
    if not 0 < port < 65536:
        raise node.error("port", f"{port} is not a TCP port (1-65535)")
    rounds = node.get("bcrypt_rounds", int, 12)
    if not 4 <= rounds <= 31:
        raise node.error("bcrypt_rounds", "must be between 4 and 31")
    public = node.optional("public_base_url", str)
    if public is not None and not public.startswith(("http://", "https://")):
        raise node.error("public_base_url", "must start with https:// (or http:// for testing)")
    settings = HomeserverSettings(
        server_name=node.get("server_name", str, "localhost"),
        bind_address=node.get("bind_address", str, "127.0.0.1"),
        port=port,
        public_base_url=public,
        database=_database(node.child("database")),
        federation=node.get("federation", bool, False),
        registration_secret_env=node.optional("registration_secret_env", str),
        bcrypt_rounds=rounds,
        relaxed_rate_limits=node.get("relaxed_rate_limits", bool, False),
        start=node.get("start", bool, True),
    )
    node.reject_unknown()
    return settings


def _database(node: Node) -> DatabaseSettings:
    engine = node.choice("engine", ("sqlite", "postgres"), "sqlite")
    settings = DatabaseSettings(
        engine="postgres" if engine == "postgres" else "sqlite",
        host=node.get("host", str, "localhost"),
        port=node.get("port", int, 5432),
        user=node.get("user", str, "synapse"),
        password_env=node.optional("password_env", str),
        name=node.get("name", str, "synapse"),
    )
    if settings.engine == "postgres" and settings.password_env is None:
        raise node.error("password_env", "is required with engine: postgres")
    node.reject_unknown()
    return settings


def _master(node: Node) -> MasterSettings:
    settings = MasterSettings(
        localpart=_localpart(node, "master"),
        display_name=node.get("display_name", str, "Master"),
        password_env=node.optional("password_env", str),
    )
    node.reject_unknown()
    return settings


def _account(node: Node, name: str, kind: BotKind, display: str) -> AccountSettings:
    settings = AccountSettings(
        name=name,
        kind=kind,
        localpart=_localpart(node, name),
        display_name=node.get("display_name", str, display),
        aliases=node.strings("aliases"),
    )
    node.reject_unknown()
    return settings


def _agent(node: Node, base: Path) -> AgentSettings:
    name = node.require("name", str)
    if not name.isidentifier():
        raise node.error("name", f"{name!r} must be a single word (letters, digits, _)")
    provider = node.choice("provider", PROVIDERS)
    budget = node.child("budget")
    persona = node.get("persona", str, "prompts/agent.md.j2")
    persona_path = (base / persona).resolve()
    if not persona_path.is_file():
        raise node.error("persona", f"no template file at {persona_path}")
    settings = AgentSettings(
        account=AccountSettings(
            name=name,
            kind="agent",
            localpart=_localpart(node, name),
            display_name=node.get("display_name", str, name.capitalize()),
            aliases=node.strings("aliases"),
        ),
        provider=provider,
        model=node.require("model", str),
        role=node.get("role", str, "thinking"),
        persona=persona_path,
        api_key_env=node.optional("api_key_env", str),
        base_url=node.optional("base_url", str),
        temperature=node.optional("temperature", float),
        max_tokens=node.get("max_tokens", int, 1024),
        context_tokens=node.get("context_tokens", int, 6000),
        streaming=node.get("streaming", bool, True),
        timeout_seconds=node.get("timeout_seconds", float, 60.0),
        budget=BudgetSettings(
            daily_tokens=budget.optional("daily_tokens", int),
            daily_cost_usd=budget.optional("daily_cost_usd", float),
        ),
    )
    budget.reject_unknown()
    if provider in ("openai", "anthropic", "gemini") and settings.api_key_env is None:
        raise node.error("api_key_env", f"is required for provider {provider!r}")
    if provider == "openai-compatible" and settings.base_url is None:
        raise node.error("base_url", "is required for provider 'openai-compatible'")
    node.reject_unknown()
    return settings


def _council(node: Node) -> CouncilSettings:
    defaults = CouncilSettings()
    alias = node.get("alias", str, defaults.alias).lstrip("#").split(":", 1)[0]
    settings = CouncilSettings(
        alias=alias,
        name=node.get("name", str, defaults.name),
        topic=node.get("topic", str, defaults.topic),
        encrypted=node.get("encrypted", bool, True),
    )
    node.reject_unknown()
    return settings


def _access(node: Node) -> AccessSettings:
    """A command named in the config keeps every key of its rule the config does not give:
    its built-in rule's, or the configured default's for a command without one."""
    default = _rule(node.child("default"), AccessRule())
    commands = dict(DEFAULT_COMMAND_RULES)
    for name, rule in node.mapping("commands").items():
        commands[name] = _rule(rule, DEFAULT_COMMAND_RULES.get(name, default))
    settings = AccessSettings(
        default=default,
        commands=commands,
        invites_from=node.strings("invites_from"),
    )
    node.reject_unknown()
    return settings


def _rule(node: Node, base: AccessRule) -> AccessRule:
    rule = AccessRule(
        allow=node.strings("allow", base.allow),
        deny=node.strings("deny", base.deny),
        min_power=node.get("min_power", int, base.min_power),
    )
    node.reject_unknown()
    return rule


def _prices(root: Node) -> dict[str, tuple[float, float]]:
    """USD per million input and output tokens, by model name (a dated snapshot of it too)."""
    prices: dict[str, tuple[float, float]] = {}
    for model, node in root.mapping("prices").items():
        prices[model] = (node.require("input", float), node.require("output", float))
        node.reject_unknown()
    return prices


def _execution(node: Node, base: Path) -> ExecutionSettings:
    defaults = ExecutionSettings()
    hosts = (
        {name: _host(name, host, base) for name, host in node.mapping("hosts").items()}
        if node.has("hosts")
        else dict(defaults.hosts)
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
        policy=_policy(node.child("policy"), base, hosts),
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
    node.reject_unknown()
    for key, value in data.items():
        if key == "env" and not isinstance(value, dict):
            raise node.error(key, "expected a mapping of variable names to values")
    try:
        return HostConfig.from_mapping(data, name=name, base_dir=base)
    except ValueError as exc:
        text = str(exc)
        field_name = next((key for key in HOST_KEYS if key in text), "")
        where = node.key(field_name) if field_name else node.path
        detail = text.split(": ", 1)[1] if text.startswith("host ") and ": " in text else text
        raise ConfigError(f"{where}: {detail}") from exc


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


def _policy(node: Node, base: Path, hosts: Mapping[str, HostConfig]) -> PolicyConfig:
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
            forbidden=forbidden.rules,
            protected_paths=forbidden.protected_paths,
            hosts=overrides,
        )
    except PolicyConfigError as exc:
        raise ConfigError(f"{node.path}: {exc}") from exc
    node.reject_unknown()
    return policy


def _policy_file(node: Node, name: str, base: Path) -> Path:
    value = node.optional(name, str)
    default = POLICY_DIR / name.replace("_file", ".yaml")
    path = default if value is None else (base / value).resolve()
    if not path.is_file():
        raise node.error(name, f"no policy file at {path}")
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


def _runtime(node: Node) -> RuntimeSettings:
    defaults = RuntimeSettings()
    settings = RuntimeSettings(
        heartbeat_seconds=node.get("heartbeat_seconds", int, defaults.heartbeat_seconds),
        max_backoff_seconds=node.get("max_backoff_seconds", float, defaults.max_backoff_seconds),
        sync_timeout_ms=node.get("sync_timeout_ms", int, defaults.sync_timeout_ms),
        agent_turn_limit=node.get("agent_turn_limit", int, defaults.agent_turn_limit),
        broadcast_words=node.strings("broadcast_words", defaults.broadcast_words),
    )
    if settings.heartbeat_seconds < 10:
        raise node.error("heartbeat_seconds", "must be at least 10")
    if not 0.1 <= settings.max_backoff_seconds <= 60:
        raise node.error("max_backoff_seconds", "must be between 0.1 and 60")
    node.reject_unknown()
    return settings


def _localpart(node: Node, default: str) -> str:
    value = node.get("localpart", str, default)
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789._=-/")
    if not value or not set(value) <= allowed:
        raise node.error(
            "localpart", f"{value!r} is not a valid Matrix localpart (use a-z, 0-9, ._=-/)"
        )
    return value


def _check_unique_accounts(settings: Settings) -> None:
    """Every bot is found by its name or its localpart (`Settings.account`, the CLI, the
    store's per-bot rows), so no name or localpart may stand for two accounts. The later
    account is the one blamed, by the key that clashes."""
    names: dict[str, str] = {"coordinator": "bots.coordinator", "executor": "bots.executor"}
    localparts: dict[str, str] = {settings.master.localpart: "master.localpart"}
    for index, account in enumerate(settings.accounts):
        where = f"bots.{account.name}" if account.kind != "agent" else f"agents[{index - 2}]"
        if account.kind == "agent":
            _refuse_taken(f"{where}.name", account.name, names, localparts)
            names[account.name] = f"{where}.name"
        taken_names = {n: w for n, w in names.items() if n != account.name}
        _refuse_taken(f"{where}.localpart", account.localpart, localparts, taken_names)
        localparts[account.localpart] = f"{where}.localpart"


def _refuse_taken(key: str, value: str, *taken: Mapping[str, str]) -> None:
    for table in taken:
        if value in table:
            raise ConfigError(f"{key}: {value!r} is already used by {table[value]}")
