"""The `tasks:` section: defaults as documented, every mistake named by its dotted key,
participants and judge resolved against the configured agents, the task commands' access."""

from __future__ import annotations

import copy
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml

from bots.errors import ConfigError
from bots.settings.loading import load_settings, parse_settings
from bots.settings.model import MASTER_ONLY, AccessRule, Settings, TaskSettings
from bots.settings.paths import EXAMPLE_CONFIG

PRODUCTION_EXAMPLE = EXAMPLE_CONFIG.parent / "chavion.production.example.yaml"
EXAMPLE: dict[str, Any] = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
AGENTS = "agents: claude, gpt, gemini, perplexity, local"
ROLES = "roles: thinking, judging, cognitive, evolving, executing"


def with_tasks(tasks: Any, *, agents: list[dict[str, Any]] | None = None) -> Settings:
    """The example with its `tasks` section replaced (and its agents, if given)."""
    data = copy.deepcopy(EXAMPLE)
    data["tasks"] = tasks
    if agents is not None:
        data["agents"] = agents
    return parse_settings(data, EXAMPLE_CONFIG)


@pytest.mark.parametrize("path", [EXAMPLE_CONFIG, PRODUCTION_EXAMPLE], ids=lambda p: p.name)
def test_the_example_configs_load_and_state_the_defaults(path: Path) -> None:
    """Both examples spell out the defaults: what they document is what runs without them."""
    assert load_settings(path).tasks == TaskSettings()


def test_the_example_documents_every_key() -> None:
    assert set(EXAMPLE["tasks"]) == {f.name for f in fields(TaskSettings)}


@pytest.mark.parametrize("tasks", [None, {}], ids=["no section", "empty section"])
def test_without_a_tasks_section_the_defaults_hold(tasks: Any) -> None:
    settings = with_tasks(tasks)
    assert settings.tasks == TaskSettings(
        participants="all",
        judge=None,
        weights={},
        anonymous_votes=True,
        self_vote=False,
        proposal_seconds=180,
        vote_seconds=120,
        plan_seconds=180,
        review_seconds=120,
        tie_seconds=300,
        approval_seconds=3600,
        step_seconds=900,
        max_attempts=3,
        max_steps=20,
        max_mission_chars=4000,
        max_active=4,
        auto_approve_readonly=False,
        proposal_chars=6000,
        output_chars=3000,
        scribe=None,
        minutes=True,
        minutes_seconds=180,
        lessons_in_prompt=3,
        lesson_chars=1500,
        routine_after=3,
        poll_seconds=600,
        poll_master_weight=None,
        planner=None,
        split="auto",
        max_parts=6,
        part_seconds=300,
        critique=False,
        critique_seconds=120,
        hybrid_margin=None,
        max_participants=0,
    )


BAD: list[tuple[Any, list[dict[str, Any]] | None, str]] = [
    (["max_attempts: 3"], None, "tasks: expected a mapping, got a list"),
    ({"max_attempts": 0}, None, "tasks.max_attempts: must be between 1 and 10"),
    ({"max_attempts": 11}, None, "tasks.max_attempts: must be between 1 and 10"),
    (
        {"max_attempts": 2.5},
        None,
        "tasks.max_attempts: expected a whole number, got float (2.5)",
    ),
    ({"max_steps": 0}, None, "tasks.max_steps: must be between 1 and 100"),
    ({"max_mission_chars": 50}, None, "tasks.max_mission_chars: must be between 100 and 16000"),
    ({"max_active": 0}, None, "tasks.max_active: must be between 1 and 100"),
    ({"proposal_chars": 100}, None, "tasks.proposal_chars: must be between 200 and 20000"),
    ({"output_chars": 50_000}, None, "tasks.output_chars: must be between 200 and 20000"),
    (
        {"vote_seconds": 0},
        None,
        "tasks.vote_seconds: must be more than 0 and at most 604800 (a week)",
    ),
    (
        {"approval_seconds": 10**7},
        None,
        "tasks.approval_seconds: must be more than 0 and at most 604800 (a week)",
    ),
    (
        {"step_seconds": "15m"},
        None,
        "tasks.step_seconds: expected a number, got a string ('15m')",
    ),
    (
        {"tie_seconds": -1},
        None,
        "tasks.tie_seconds: must be between 0 (the judge decides at once) and 604800",
    ),
    ({"lessons_in_prompt": 11}, None, "tasks.lessons_in_prompt: must be between 0 and 10"),
    ({"lesson_chars": 100}, None, "tasks.lesson_chars: must be between 200 and 20000"),
    ({"routine_after": -1}, None, "tasks.routine_after: must be between 0 and 100"),
    (
        {"poll_seconds": 0},
        None,
        "tasks.poll_seconds: must be more than 0 and at most 604800 (a week)",
    ),
    (
        {"minutes_seconds": 10**7},
        None,
        "tasks.minutes_seconds: must be more than 0 and at most 604800 (a week)",
    ),
    (
        {"poll_master_weight": "always"},
        None,
        "tasks.poll_master_weight: expected decides or a number, got 'always'",
    ),
    (
        {"poll_master_weight": True},
        None,
        "tasks.poll_master_weight: expected decides or a number, got True",
    ),
    ({"poll_master_weight": -2}, None, "tasks.poll_master_weight: must be 0 or more (or decides)"),
    ({"minutes": "yes"}, None, "tasks.minutes: expected true or false, got a string ('yes')"),
    ({"split": "always"}, None, "tasks.split: expected auto or never, got 'always'"),
    ({"max_parts": 1}, None, "tasks.max_parts: must be between 2 and 10"),
    ({"max_participants": -1}, None, "tasks.max_participants: must be between 0 and 100"),
    (
        {"part_seconds": 0},
        None,
        "tasks.part_seconds: must be more than 0 and at most 604800 (a week)",
    ),
    (
        {"critique_seconds": "2m"},
        None,
        "tasks.critique_seconds: expected a number, got a string ('2m')",
    ),
    ({"critique": "on"}, None, "tasks.critique: expected true or false, got a string ('on')"),
    (
        {"hybrid_margin": "close"},
        None,
        "tasks.hybrid_margin: expected a number or null, got 'close'",
    ),
    ({"hybrid_margin": -1}, None, "tasks.hybrid_margin: must be 0 or more (or null: never)"),
    (
        {"planner": "poet"},
        None,
        f"tasks.planner: 'poet' is neither an agent nor an agent's role; {AGENTS}; {ROLES}",
    ),
    (
        {"scribe": "poet"},
        None,
        f"tasks.scribe: 'poet' is neither an agent nor an agent's role; {AGENTS}; {ROLES}",
    ),
    (
        {"self_vote": "no"},
        None,
        "tasks.self_vote: expected true or false, got a string ('no')",
    ),
    (
        {"max_attempt": 3},
        None,
        "tasks.max_attempt: unknown key (check the spelling against the example)",
    ),
    (
        {"participants": []},
        None,
        "tasks.participants: name at least one agent or role, or say all",
    ),
    (
        {"participants": ["claude", "grok"]},
        None,
        f"tasks.participants[1]: 'grok' is neither an agent nor an agent's role; {AGENTS}; {ROLES}",
    ),
    (
        {"participants": "everyone"},
        None,
        f"tasks.participants[0]: 'everyone' is neither an agent nor an agent's role; {AGENTS}; "
        f"{ROLES}",
    ),
    (
        {"participants": [3]},
        None,
        "tasks.participants[0]: expected a string, got int (3)",
    ),
    (
        {"judge": "grok"},
        None,
        f"tasks.judge: 'grok' is neither an agent nor an agent's role; {AGENTS}; {ROLES}",
    ),
    (
        {"judge": "claude"},
        [],
        "tasks.judge: 'claude' is neither an agent nor an agent's role; no agents are configured",
    ),
    ({"weights": [1, 2]}, None, "tasks.weights: expected a mapping of agent names to numbers"),
    ({"weights": {"grok": 2}}, None, f"tasks.weights.grok: no agent named 'grok'; {AGENTS}"),
    (
        {"weights": {"thinking": 2}},
        None,
        f"tasks.weights.thinking: no agent named 'thinking'; {AGENTS}",
    ),
    ({"weights": {"gpt": -1}}, None, "tasks.weights.gpt: must be 0 or more"),
    (
        {"weights": {"gpt": "heavy"}},
        None,
        "tasks.weights.gpt: expected a number, got a string ('heavy')",
    ),
    (
        {"weights": {"gpt": True}},
        None,
        "tasks.weights.gpt: expected a number, got a boolean (True)",
    ),
    (
        {"weights": {"claude": 0, "gpt": 0, "gemini": 0, "perplexity": 0, "local": 0}},
        None,
        "tasks.weights: every agent weighs 0, so no vote could be decided",
    ),
]


@pytest.mark.parametrize(
    ("tasks", "agents", "message"),
    BAD,
    ids=[f"{i} {case[2].split(':')[0]}" for i, case in enumerate(BAD)],
)
def test_a_bad_tasks_section_is_refused_naming_the_key(
    tasks: Any, agents: list[dict[str, Any]] | None, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        with_tasks(tasks, agents=agents)
    assert str(raised.value) == message


def agent(name: str, role: str) -> dict[str, Any]:
    return {
        "name": name,
        "provider": "openai-compatible",
        "base_url": "http://x",
        "model": "m",
        "role": role,
    }


TEAM = [agent("ann", "thinking"), agent("bob", "reviewer"), agent("cy", "judging")]

# (tasks section, agents, the participants asked, the judge)
RESOLVED = [
    ("all by default", {}, TEAM, ("ann", "bob", "cy"), "bob"),
    ("all said", {"participants": "all"}, TEAM, ("ann", "bob", "cy"), "bob"),
    ("by name and role", {"participants": ["cy", "thinking"]}, TEAM, ("ann", "cy"), "bob"),
    ("one name as a string", {"participants": "bob"}, TEAM, ("bob",), "bob"),
    ("a named judge", {"judge": "cy"}, TEAM, ("ann", "bob", "cy"), "cy"),
    ("a judge by role", {"judge": "judging"}, TEAM, ("ann", "bob", "cy"), "cy"),
    ("a 'judging' role judges", {}, [TEAM[0], TEAM[2]], ("ann", "cy"), "cy"),
    ("no judging role: the first agent", {}, [TEAM[0]], ("ann",), "ann"),
    ("no agents", {}, [], (), None),
]


@pytest.mark.parametrize(
    ("tasks", "agents", "participants", "judge"),
    [case[1:] for case in RESOLVED],
    ids=[case[0] for case in RESOLVED],
)
def test_participants_and_judge_resolve_to_agents(
    tasks: dict[str, Any],
    agents: list[dict[str, Any]],
    participants: tuple[str, ...],
    judge: str | None,
) -> None:
    settings = with_tasks(tasks, agents=agents)
    assert (settings.task_participants, settings.task_judge) == (participants, judge)


# (tasks section, agents, the scribe)
SCRIBES = [
    ("the judge by default", {}, TEAM, "bob"),
    ("the judge named", {"judge": "cy"}, TEAM, "cy"),
    ("a named scribe", {"scribe": "ann"}, TEAM, "ann"),
    ("a scribe by role", {"scribe": "judging"}, TEAM, "cy"),
    ("no agents", {}, [], None),
]


@pytest.mark.parametrize(
    ("tasks", "agents", "scribe"),
    [case[1:] for case in SCRIBES],
    ids=[case[0] for case in SCRIBES],
)
def test_the_scribe_resolves_to_an_agent(
    tasks: dict[str, Any], agents: list[dict[str, Any]], scribe: str | None
) -> None:
    assert with_tasks(tasks, agents=agents).task_scribe == scribe


PLANNERS = [
    ("no planner: the judge", {}, TEAM, "bob"),
    ("a named planner", {"planner": "ann"}, TEAM, "ann"),
    ("a planner by role", {"planner": "judging"}, TEAM, "cy"),
    ("no agents", {}, [], None),
]


@pytest.mark.parametrize(
    ("tasks", "agents", "planner"),
    [case[1:] for case in PLANNERS],
    ids=[case[0] for case in PLANNERS],
)
def test_the_planner_resolves_to_an_agent(
    tasks: dict[str, Any], agents: list[dict[str, Any]], planner: str | None
) -> None:
    assert with_tasks(tasks, agents=agents).task_planner == planner


@pytest.mark.parametrize(("written", "margin"), [(None, None), (0, 0.0), (1, 1.0), (0.5, 0.5)])
def test_a_hybrid_margin_is_a_weight_or_never(written: Any, margin: float | None) -> None:
    assert with_tasks({"hybrid_margin": written}).tasks.hybrid_margin == margin


@pytest.mark.parametrize(
    ("written", "weight"), [("decides", None), (None, None), (2, 2.0), (0.5, 0.5), (0, 0.0)]
)
def test_the_masters_poll_vote_decides_or_is_weighed(written: Any, weight: float | None) -> None:
    assert with_tasks({"poll_master_weight": written}).tasks.poll_master_weight == weight


def test_an_agent_not_weighed_weighs_one() -> None:
    tasks = with_tasks({"weights": {"claude": 1.5, "local": 0}}).tasks
    assert [tasks.weight(a) for a in ("claude", "local", "gpt")] == [1.5, 0.0, 1.0]


def test_waits_may_be_fractions_for_tests() -> None:
    assert with_tasks({"proposal_seconds": 0.5, "tie_seconds": 0}).tasks.proposal_seconds == 0.5


TASK_COMMANDS = [
    *((name, MASTER_ONLY) for name in ("task", "approve", "deny", "cancel", "pause", "resume")),
    *((name, MASTER_ONLY) for name in ("retry", "assign", "priority")),
    ("tasks", AccessRule(min_power=0)),
    ("stats", AccessRule(min_power=0)),
    ("minutes", AccessRule(min_power=0)),
]


@pytest.mark.parametrize(("command", "rule"), TASK_COMMANDS, ids=[c[0] for c in TASK_COMMANDS])
def test_the_task_commands_access_by_default(command: str, rule: AccessRule) -> None:
    """Giving and steering a task is the master's; watching tasks is the room's."""
    assert load_settings(EXAMPLE_CONFIG).access.commands[command] == rule
