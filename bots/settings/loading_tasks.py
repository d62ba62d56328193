"""Reading the `tasks` section: how the coordinator runs a task, checked against the agents.

Apart from the rest of the loading because it is read after the agents: `participants`,
`judge` and `weights` must name agents (or roles) the config has, and say which key does not.
"""

from __future__ import annotations

from collections.abc import Sequence

from bots.errors import ConfigError
from bots.settings.model import AgentSettings, TaskSettings
from bots.settings.reader import Node

WEEK = 7 * 24 * 3600

# (key, lowest, highest): whole numbers, with why each bound is where it is.
_COUNTS = (
    ("max_attempts", 1, 10),  # the master asked for up to 10 rounds of self-healing
    ("max_steps", 1, 100),
    # The mission is carried in several events' content; 16000 characters of Korean
    # (3 bytes each) still fit Matrix's 64 KiB event limit with room for the rest.
    ("max_mission_chars", 100, 16_000),
    ("max_active", 1, 100),
    ("proposal_chars", 200, 20_000),
    ("output_chars", 200, 20_000),
    ("lessons_in_prompt", 0, 10),  # each lesson lengthens two prompts
    ("lesson_chars", 200, 20_000),
    ("routine_after", 0, 100),  # 0: never offer a routine
    ("max_parts", 2, 10),  # each part is one agent's model call, all at once
    ("max_participants", 0, 100),  # 0: every participant
)
# Waits in seconds: fractions are allowed (tests wait less than a second).
_WAITS = (
    "proposal_seconds",
    "vote_seconds",
    "plan_seconds",
    "review_seconds",
    "approval_seconds",
    "step_seconds",
    "minutes_seconds",
    "poll_seconds",
    "part_seconds",
    "critique_seconds",
)
SPLIT_CHOICES = ("auto", "never")


def parse_tasks(node: Node, agents: Sequence[AgentSettings]) -> TaskSettings:
    """The `tasks` section; every problem names its dotted key."""
    defaults = TaskSettings()
    counts = {name: node.get(name, int, getattr(defaults, name)) for name, _, _ in _COUNTS}
    waits = {name: node.get(name, float, getattr(defaults, name)) for name in _WAITS}
    tie_seconds = node.get("tie_seconds", float, defaults.tie_seconds)
    settings = TaskSettings(
        participants=_participants(node, agents),
        judge=_agent_or_role(node, "judge", agents),
        scribe=_agent_or_role(node, "scribe", agents),
        minutes=node.get("minutes", bool, defaults.minutes),
        poll_master_weight=_master_weight(node),
        planner=_agent_or_role(node, "planner", agents),
        split=node.get("split", str, defaults.split),
        critique=node.get("critique", bool, defaults.critique),
        hybrid_margin=_hybrid_margin(node),
        weights=_weights(node, agents),
        anonymous_votes=node.get("anonymous_votes", bool, defaults.anonymous_votes),
        self_vote=node.get("self_vote", bool, defaults.self_vote),
        tie_seconds=tie_seconds,
        auto_approve_readonly=node.get(
            "auto_approve_readonly", bool, defaults.auto_approve_readonly
        ),
        **counts,
        **waits,
    )
    for name, lowest, highest in _COUNTS:
        if not lowest <= counts[name] <= highest:
            raise node.error(name, f"must be between {lowest} and {highest}")
    for name in _WAITS:
        if not 0 < waits[name] <= WEEK:
            raise node.error(name, f"must be more than 0 and at most {WEEK} (a week)")
    if not 0 <= tie_seconds <= WEEK:
        raise node.error("tie_seconds", f"must be between 0 (the judge decides at once) and {WEEK}")
    if settings.split not in SPLIT_CHOICES:
        raise node.error("split", f"expected auto or never, got {settings.split!r}")
    node.reject_unknown()
    return settings


def _participants(node: Node, agents: Sequence[AgentSettings]) -> str | tuple[str, ...]:
    if node.raw("participants") in (None, "all"):
        return "all"
    chosen = node.strings("participants")
    if not chosen:
        raise node.error("participants", "name at least one agent or role, or say all")
    for index, entry in enumerate(chosen):
        if not any(entry in (agent.name, agent.role) for agent in agents):
            raise ConfigError(
                f"{node.key('participants')}[{index}]: {entry!r} is neither an agent nor "
                f"an agent's role; {_known(agents, roles=True)}"
            )
    return chosen


def _agent_or_role(node: Node, key: str, agents: Sequence[AgentSettings]) -> str | None:
    chosen = node.optional(key, str)
    if chosen is not None and not any(chosen in (a.name, a.role) for a in agents):
        raise node.error(
            key,
            f"{chosen!r} is neither an agent nor an agent's role; {_known(agents, roles=True)}",
        )
    return chosen


def _master_weight(node: Node) -> float | None:
    """`decides` (or nothing): the master's vote decides his own polls; a number weighs it."""
    raw = node.raw("poll_master_weight")
    if raw is None or raw == "decides":
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise node.error("poll_master_weight", f"expected decides or a number, got {raw!r}")
    if raw < 0:
        raise node.error("poll_master_weight", "must be 0 or more (or decides)")
    return float(raw)


def _hybrid_margin(node: Node) -> float | None:
    """`null` (or nothing): never a hybrid; a number: a win by at most that is close."""
    raw = node.raw("hybrid_margin")
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise node.error("hybrid_margin", f"expected a number or null, got {raw!r}")
    if raw < 0:
        raise node.error("hybrid_margin", "must be 0 or more (or null: never)")
    return float(raw)


def _weights(node: Node, agents: Sequence[AgentSettings]) -> dict[str, float]:
    raw = node.raw("weights")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise node.error("weights", "expected a mapping of agent names to numbers")
    values = Node(raw, node.key("weights"))
    names = {agent.name for agent in agents}
    weights: dict[str, float] = {}
    for key in raw:
        name = str(key)
        if name not in names:
            raise values.error(name, f"no agent named {name!r}; {_known(agents)}")
        weights[name] = values.require(name, float)
        if weights[name] < 0:
            raise values.error(name, "must be 0 or more")
    if agents and all(weights.get(agent.name, 1.0) == 0 for agent in agents):
        raise node.error("weights", "every agent weighs 0, so no vote could be decided")
    return weights


def _known(agents: Sequence[AgentSettings], roles: bool = False) -> str:
    if not agents:
        return "no agents are configured"
    known = f"agents: {', '.join(agent.name for agent in agents)}"
    if roles:
        known += f"; roles: {', '.join(dict.fromkeys(agent.role for agent in agents))}"
    return known
