"""Finding, reading and checking the config file: every problem one line naming its dotted key.

Relative paths resolve against the config file's folder, so the file can move with its data.
The `execution` section is read by `loading_execution`, `tasks` by `loading_tasks`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bots.errors import ConfigError
from bots.settings.loading_bridge import parse_bridge
from bots.settings.loading_execution import parse_execution
from bots.settings.loading_health import parse_health
from bots.settings.loading_night import parse_night
from bots.settings.loading_schedules import parse_schedules
from bots.settings.loading_spend import parse_spend
from bots.settings.loading_tasks import parse_tasks
from bots.settings.loading_voice import parse_voice
from bots.settings.model import (
    DEFAULT_COMMAND_RULES,
    PROVIDERS,
    AccessRule,
    AccessSettings,
    AccountSettings,
    AgentSettings,
    BotKind,
    BudgetSettings,
    CouncilSettings,
    DatabaseSettings,
    HomeserverSettings,
    MasterSettings,
    RuntimeSettings,
    Settings,
)
from bots.settings.paths import (
    BUILTIN_PERSONA,
    CONFIG_ENV,
    DATA_DIR_ENV,
    DEFAULT_CONFIG,
    EXAMPLE_CONFIG,
)
from bots.settings.reader import Node


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
    """The settings from YAML already parsed; relative paths resolve against `source`'s folder."""
    root = Node(data)
    base = source.parent
    # Read (and so checked) even when the variable overrides it: a config that names it must
    # not be refused as having an unknown key (compose sets both).
    configured_data_dir = root.get("data_dir", str, "../.data")
    data_dir = os.environ.get(DATA_DIR_ENV) or configured_data_dir
    homeserver = _homeserver(root.child("homeserver"))
    master = _master(root.child("master"))
    bots = root.child("bots")
    coordinator = _account(bots.child("coordinator"), "coordinator", "coordinator", "Chavion")
    executor = _account(bots.child("executor"), "executor", "executor", "Executor")
    bots.reject_unknown()
    agents = tuple(_agent(node, base) for node in root.children("agents"))
    resolved_data_dir = (base / Path(data_dir).expanduser()).resolve()
    settings = Settings(
        source=source,
        data_dir=resolved_data_dir,
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
        # Chavion's own secrets (the homeserver's keys, the bots' logins) live in the data
        # dir: the policy treats any operand under it as a secret.
        execution=parse_execution(
            root.child("execution"), base, secret_paths=(str(resolved_data_dir),)
        ),
        tasks=parse_tasks(root.child("tasks"), agents),
        night=parse_night(root.child("night")),
        health=parse_health(root.child("health"), root.child("digest")),
        spend=parse_spend(root.child("budget")),
    )
    settings = replace(
        settings,
        schedules=parse_schedules(root.child("schedules"), settings.timezone),
        voice=parse_voice(root.child("voice"), base, tuple(a.name for a in settings.accounts)),
    )
    _check_unique_accounts(settings)
    bridge = parse_bridge(
        root.child("bridge"),
        names={
            **{a.name: f"the {a.kind} {a.name!r}" for a in settings.accounts},
            "master": "the master",
        },
        localparts={
            settings.master.localpart: "master.localpart",
            **{a.localpart: f"the {a.kind} {a.name!r}" for a in settings.accounts},
        },
    )
    root.reject_unknown()
    return replace(settings, bridge=bridge)


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
        lift_rate_limit=node.get("lift_rate_limit", bool, True),
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
    persona_path = _persona(node, base)
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


def _persona(node: Node, base: Path) -> Path:
    """The agent's own template (relative to the config's folder), else the built-in one."""
    persona = node.optional("persona", str)
    if persona is None:
        return BUILTIN_PERSONA
    path = (base / Path(persona).expanduser()).resolve()
    if not path.is_file():
        raise node.error(
            "persona", f"no template file at {path} (leave persona out for the built-in one)"
        )
    return path


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


def _runtime(node: Node) -> RuntimeSettings:
    defaults = RuntimeSettings()
    settings = RuntimeSettings(
        heartbeat_seconds=node.get("heartbeat_seconds", int, defaults.heartbeat_seconds),
        max_backoff_seconds=node.get("max_backoff_seconds", float, defaults.max_backoff_seconds),
        sync_timeout_ms=node.get("sync_timeout_ms", int, defaults.sync_timeout_ms),
        agent_turn_limit=node.get("agent_turn_limit", int, defaults.agent_turn_limit),
        broadcast_words=node.strings("broadcast_words", defaults.broadcast_words),
        key_wait_seconds=node.get("key_wait_seconds", float, defaults.key_wait_seconds),
    )
    if settings.heartbeat_seconds < 10:
        raise node.error("heartbeat_seconds", "must be at least 10")
    if not 0.1 <= settings.max_backoff_seconds <= 60:
        raise node.error("max_backoff_seconds", "must be between 0.1 and 60")
    if not 1 <= settings.key_wait_seconds <= 3600:
        raise node.error("key_wait_seconds", "must be between 1 and 3600")
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
