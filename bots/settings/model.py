"""What Chavion's configuration holds, as frozen values checked once at start.

Only the shape and the derived views live here (who approves by default, a bot's user id);
reading the YAML is `loading`'s job, so code that only uses settings never drags in the parser.
Secrets never live in these values: they name environment variables, read when needed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bots.errors import ConfigError
from bots.ids import UserID, user_id_for
from bots.settings.health import HealthSettings
from bots.settings.night import NightSettings
from bots.settings.schedules import ScheduleSettings
from bots.settings.voice import VoiceSettings
from executor.hosts import LOCAL_HOST, HostConfig
from executor.policy import PolicyConfig

PROVIDERS = ("openai", "anthropic", "gemini", "openai-compatible")
ROLES = ("cognitive", "thinking", "judging", "executing", "evolving")

BotKind = Literal["coordinator", "executor", "agent"]


@dataclass(frozen=True)
class DatabaseSettings:
    """Synapse's database: SQLite for one machine, Postgres when it must carry real load."""

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
    """The Synapse Chavion starts (or finds already running when `start` is false)."""

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
    """An agent's daily spend limits; None means no limit of that kind."""

    daily_tokens: int | None = None
    daily_cost_usd: float | None = None


@dataclass(frozen=True)
class SpendSettings:
    """The council's caps beyond each agent's own (top-level `budget`); None: no cap.

    `daily_usd`: all agents together per local day; `task_usd`: one task over its whole
    life (the master raises one task's with `!budget 12 +0.50`)."""

    daily_usd: float | None = None
    task_usd: float | None = None


@dataclass(frozen=True)
class AgentSettings:
    """One LLM agent: its account, the model behind it and how it may use it."""

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
    """The person's own account: the council's admin and, by default, who approves executions."""

    localpart: str = "master"
    display_name: str = "Master"
    password_env: str | None = None
    lift_rate_limit: bool = True
    """Lift Synapse's message rate limit for the master too (burst 10, then one per 5 s)."""


@dataclass(frozen=True)
class CouncilSettings:
    """The one room where the master and every bot meet."""

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
    # Tasks: giving and steering one is the master's; watching them is the room's (`!task N`
    # shows a task to anyone who may run `!tasks`: its handler checks that itself).
    "task": MASTER_ONLY,
    "pause": MASTER_ONLY,
    "resume": MASTER_ONLY,
    "retry": MASTER_ONLY,
    "assign": MASTER_ONLY,
    "priority": MASTER_ONLY,
    "tasks": AccessRule(min_power=0),
    "stats": AccessRule(min_power=0),
    "lessons": AccessRule(min_power=0),
    "forget": MASTER_ONLY,
    "poll": MASTER_ONLY,
    "vote": MASTER_ONLY,
    "minutes": AccessRule(min_power=0),
    "model": MASTER_ONLY,
    "routine": MASTER_ONLY,
    "dashboard": MASTER_ONLY,
    "schedule": MASTER_ONLY,
    "night": MASTER_ONLY,
    "digest": MASTER_ONLY,
    "unbench": MASTER_ONLY,
}


@dataclass(frozen=True)
class AccessSettings:
    """Who may run which chat command, and whose invites the bots accept."""

    default: AccessRule = field(default_factory=AccessRule)
    commands: Mapping[str, AccessRule] = field(default_factory=lambda: dict(DEFAULT_COMMAND_RULES))
    invites_from: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuntimeSettings:
    """How the bots pace themselves: sync, reconnects, heartbeats, agent turns."""

    heartbeat_seconds: int = 600
    max_backoff_seconds: float = 3.0
    sync_timeout_ms: int = 30_000
    agent_turn_limit: int = 6
    broadcast_words: tuple[str, ...] = ("everyone", "all", "얘들아", "다들", "@room")
    key_wait_seconds: float = 60.0
    """How long an encrypted message waits for a late room key before it is given up."""


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


TASK_ROLE_JUDGES = ("review", "judg")
"""With no `tasks.judge`, the first agent whose role contains one of these judges
("reviewer", "judge", "judging"), else the first agent."""


@dataclass(frozen=True)
class TaskSettings:
    """How the coordinator runs a task: who takes part, how long each wait lasts, its limits.

    `participants` is "all" or agent names and roles; `judge` an agent name or a role (None:
    see `TASK_ROLE_JUDGES`); an agent missing from `weights` weighs 1. Read the resolved
    views on `Settings` (`task_participants`, `task_judge`), not these raw choices.
    """

    participants: str | tuple[str, ...] = "all"
    judge: str | None = None
    weights: Mapping[str, float] = field(default_factory=dict)
    anonymous_votes: bool = True
    self_vote: bool = False
    proposal_seconds: float = 180.0
    vote_seconds: float = 120.0
    plan_seconds: float = 180.0
    review_seconds: float = 120.0
    tie_seconds: float = 300.0
    """How long a tie waits for the master's vote before the judge decides."""
    approval_seconds: float = 3600.0
    step_seconds: float = 900.0
    """An executor silent this long on a step: the step counts as lost."""
    max_attempts: int = 3
    max_steps: int = 20
    max_mission_chars: int = 4000
    max_active: int = 4
    """Tasks in work at once; the others wait `pending`, higher priority first."""
    auto_approve_readonly: bool = False
    proposal_chars: int = 6000
    """Each proposal as carried to the voters."""
    output_chars: int = 3000
    """Each step's output as quoted in reports and fix asks."""
    scribe: str | None = None
    """The agent (name or role) that writes minutes; None: the judge."""
    minutes: bool = True
    """Minutes are written when a task ends (`!minutes` asks for them at any time)."""
    minutes_seconds: float = 180.0
    lessons_in_prompt: int = 3
    """Past lessons most like the mission, put in the planner's and reviewer's prompts."""
    lesson_chars: int = 1500
    """Each lesson as stored and quoted (failures' outputs trimmed to fit)."""
    routine_after: int = 3
    """Successes of one mission before the coordinator offers a routine (once, at the
    first success at or past it); 0: never."""
    poll_seconds: float = 600.0
    """How long the master's own `!poll` stays open before it is tallied."""
    poll_master_weight: float | None = None
    """The master's vote in his own polls: None, it decides; a number, it is weighed."""
    planner: str | None = None
    """The agent (name or role) that splits a mission into parts and merges them; None: the
    judge."""
    split: str = "auto"
    """`auto`: a mission that lists several jobs is split; `never`: only `split:` splits."""
    max_parts: int = 6
    part_seconds: float = 300.0
    """How long each part of a split task waits for its agent (then it is reassigned once)."""
    critique: bool = False
    """A critique round between the proposals and the vote (`critique:` turns it on for one
    task, `no critique:` off)."""
    critique_seconds: float = 120.0
    hybrid_margin: float | None = None
    """A win by this much vote weight or less is close: the winner's plan takes in the best
    parts of the runners-up; None: never."""
    max_participants: int = 0
    """0: every participant takes part; N: the N whose records fit the mission best."""

    def weight(self, agent: str) -> float:
        return self.weights.get(agent, 1.0)


@dataclass(frozen=True)
class BridgeAgentSettings:
    """An agent outside Matrix (issue 18) that talks through the HTTP bridge: the bridge
    speaks in the room as its own account, so the room shows who said what."""

    account: AccountSettings
    role: str = "thinking"

    @property
    def name(self) -> str:
        return self.account.name


@dataclass(frozen=True)
class BridgeSettings:
    """The HTTP bridge (SOP v1.0) the coordinator serves when `enabled`; loopback by default."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8686
    max_body_bytes: int = 262_144
    rate_per_minute: int = 120
    burst: int = 30
    agents: tuple[BridgeAgentSettings, ...] = ()
    public_url: str | None = None
    """Where the master's browser reaches the bridge (behind a reverse proxy, say); the
    dashboard's links are built on it."""

    @property
    def base_url(self) -> str:
        """`public_url`, or the listening address (`http://127.0.0.1:8686`), no trailing /."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def agent(self, name: str) -> BridgeAgentSettings | None:
        for agent in self.agents:
            if agent.name == name:
                return agent
        return None


@dataclass(frozen=True)
class Settings:
    """The whole validated config; the defaults that depend on other values are views here."""

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
    tasks: TaskSettings = field(default_factory=TaskSettings)
    bridge: BridgeSettings = field(default_factory=BridgeSettings)
    schedules: ScheduleSettings = field(default_factory=ScheduleSettings)
    night: NightSettings = field(default_factory=NightSettings)
    health: HealthSettings = field(default_factory=HealthSettings)
    spend: SpendSettings = field(default_factory=SpendSettings)
    voice: VoiceSettings = field(default_factory=VoiceSettings)

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
    def task_participants(self) -> tuple[str, ...]:
        """The agents asked for proposals and votes, by name, in config order."""
        chosen = self.tasks.participants
        if chosen == "all":
            return tuple(agent.name for agent in self.agents)
        return tuple(a.name for a in self.agents if a.name in chosen or a.role in chosen)

    @property
    def task_judge(self) -> str | None:
        """The agent that reviews plans and breaks a tie the master left; None without agents."""
        judge = self.tasks.judge
        if judge is not None:
            found = [a for a in self.agents if a.name == judge] or [
                a for a in self.agents if a.role == judge
            ]
        else:
            found = [a for a in self.agents if any(w in a.role.lower() for w in TASK_ROLE_JUDGES)]
        if found:
            return found[0].name
        return self.agents[0].name if self.agents else None

    @property
    def task_scribe(self) -> str | None:
        """The agent that writes minutes: `tasks.scribe` (a name, else a role), else the judge."""
        scribe = self.tasks.scribe
        if scribe is not None:
            for agent in [a for a in self.agents if a.name == scribe] or [
                a for a in self.agents if a.role == scribe
            ]:
                return agent.name
        return self.task_judge

    @property
    def task_planner(self) -> str | None:
        """The agent that splits and merges: `tasks.planner` (a name, else a role), else the
        judge."""
        planner = self.tasks.planner
        if planner is not None:
            for agent in [a for a in self.agents if a.name == planner] or [
                a for a in self.agents if a.role == planner
            ]:
                return agent.name
        return self.task_judge

    @property
    def exec_senders(self) -> tuple[str, ...]:
        """Who may send execution requests; by default the master and the coordinator."""
        return self.execution.allowed_senders or (
            self.master_user_id,
            self.user_id(self.coordinator),
        )
