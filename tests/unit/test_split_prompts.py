"""The agents' side of divide and merge: the split, part and merge asks are read off the wire,
and their prompts, rendered with the example config's real settings, say what each member
needs: the planner the members and their roles, a part's member its part among the others
(and the plan's shape when it needs commands), the merger every result and what is missing."""

from __future__ import annotations

from typing import Any

import pytest

from bots.agents.council_prompts import (
    DEFAULT_MAX_PARTS,
    Speaker,
    host_lines,
    language_of,
    stage_prompt,
    stage_variables,
)
from bots.agents.council_wire import STAGE_NOUN, CouncilAsk, failure_text, read_ask
from bots.settings import Settings
from bots.settings.loading import load_settings
from bots.settings.paths import EXAMPLE_CONFIG
from bots.tasks.splits import Split, parse_split

SETTINGS: Settings = load_settings(EXAMPLE_CONFIG)
MISSION = "1. search the prices of three VPS vendors\n2. compare them\n3. write a summary"


def members(settings: Settings) -> list[dict[str, str]]:
    """The split ask's candidates as the engine sends them (design17b: name, display, role)."""
    return [
        {"name": a.name, "display": a.account.display_name, "role": a.role} for a in settings.agents
    ]


def render(stage: str, context: dict[str, Any], mission: str = MISSION) -> str:
    ask = CouncilAsk(12, f"t12-{stage}-1", stage, ("claude",), mission, context=context)  # type: ignore[arg-type]
    agent = SETTINGS.agent("claude")
    speaker = Speaker(
        agent.name, agent.account.display_name, agent.role, "Master", language_of(mission)
    )
    hosts = host_lines(context.get("hosts"), SETTINGS.execution.hosts)
    variables = stage_variables(ask, speaker, hosts=hosts, self_vote=False, text_tokens=4000)
    return stage_prompt(variables, stage)


@pytest.mark.parametrize(
    ("stage", "ask_id", "noun"),
    [
        ("split", "t12-split-1", "Split"),
        ("part", "t12-part-2-1", "Part"),
        ("merge", "t12-merge-1", "Merged result"),
    ],
)
def test_the_split_asks_are_read_off_the_wire(stage: str, ask_id: str, noun: str) -> None:
    council = {
        "v": 1,
        "kind": "ask",
        "task": 12,
        "ask": ask_id,
        "stage": stage,
        "agents": ["claude"],
        "mission": MISSION,
        "context": {"max_parts": 6},
    }
    ask = read_ask(council)
    assert isinstance(ask, CouncilAsk)
    assert (ask.stage, ask.ask, ask.agents) == (stage, ask_id, ("claude",))
    assert STAGE_NOUN[ask.stage] == noun
    assert failure_text(ask, "quota exhausted") == f"⚠️ {noun} failed: quota exhausted."


def test_the_planner_reads_every_member_with_its_role_and_the_shape_to_answer() -> None:
    prompt = render(
        "split",
        {
            "agents": members(SETTINGS),
            "max_parts": 5,
            "hosts": {"web-1": "the nginx box"},
            "lessons": [{"id": 7, "text": "Last time the search part needed sources."}],
        },
    )
    assert prompt.startswith("# Task #12: split the task")
    for agent in SETTINGS.agents:
        assert f"- `{agent.name}` ({agent.account.display_name}): {agent.role}" in prompt
    assert "2 to 5 parts" in prompt
    assert "--- Lesson #7" in prompt
    assert "`web-1`: the nginx box" in prompt
    assert "previous split" not in prompt
    # The example in the prompt is a split this very parser reads.
    example = prompt.rsplit("```json", 1)[1].split("```", 1)[0]
    split = parse_split(example, max_parts=5)
    assert isinstance(split, Split)
    assert [p.suggested for p in split.parts] == [a.name for a in SETTINGS.agents[:2]]
    assert split.merger == SETTINGS.agents[0].name


def test_the_planner_asked_again_reads_why_and_a_malformed_context_is_left_out() -> None:
    prompt = render(
        "split",
        {
            "agents": [{"name": "claude", "role": "writer"}, "gpt", {"display": "nameless"}],
            "max_parts": "many",
            "error": "The split has no parts.",
        },
    )
    assert "- `claude` (claude): writer" in prompt
    assert "nameless" not in prompt
    assert f"2 to {DEFAULT_MAX_PARTS} parts" in prompt
    assert "Your previous split could not be used: The split has no parts." in prompt


PARTS = ["Search the prices", "Clean the old logs", "Write a summary"]


def test_a_text_part_asks_for_the_result_itself() -> None:
    prompt = render(
        "part",
        {
            "part": {"n": 1, "title": PARTS[0], "detail": "Hetzner, OVH, Vultr", "commands": False},
            "total": 3,
            "parts": PARTS,
        },
    )
    assert prompt.startswith("# Task #12: your part")
    assert "1. Search the prices (yours)\n2. Clean the old logs\n3. Write a summary" in prompt
    assert "Your part is part 1: Search the prices\n\nHetzner, OVH, Vultr" in prompt
    assert "result itself" in prompt
    assert '"steps"' not in prompt
    assert "servers the council's executor" not in prompt


def test_a_commands_part_asks_for_a_plan_in_the_plan_stages_shape() -> None:
    prompt = render(
        "part",
        {
            "part": {"n": 2, "title": PARTS[1], "commands": True},
            "total": 3,
            "parts": PARTS,
            "hosts": {"local": "this machine"},
        },
    )
    assert "2. Clean the old logs (yours)" in prompt
    assert "write a plan for your part only" in prompt
    for shape in ('"steps"', '"verify"', '"rollback"', '"parallel"', "`local`: this machine"):
        assert shape in prompt


def test_the_merger_reads_every_result_and_what_is_missing() -> None:
    prompt = render(
        "merge",
        {
            "parts": [
                {"n": 1, "title": PARTS[0], "agent": "Perplexity", "result": "OVH is cheapest."},
                {"n": 3, "title": PARTS[2], "agent": "Claude", "result": "Summary: OVH."},
                {"n": 4, "title": "empty", "agent": "GPT", "result": "  "},
            ],
            "missing": [{"n": 2, "title": PARTS[1], "why": "GPT: quota exhausted"}],
            "commands": True,
        },
    )
    assert prompt.startswith("# Task #12: merge the parts")
    assert "--- Part 1: Search the prices (by Perplexity)\nOVH is cheapest." in prompt
    assert "--- Part 3: Write a summary (by Claude)\nSummary: OVH." in prompt
    assert "Part 4" not in prompt
    assert "- Part 2: Clean the old logs — GPT: quota exhausted" in prompt
    assert "which parts are missing" in prompt
    assert "run only after Master approves them" in prompt


def test_a_merge_with_nothing_missing_says_nothing_of_it() -> None:
    prompt = render(
        "merge",
        {"parts": [{"n": 1, "title": "a", "agent": "Claude", "result": "done"}], "missing": []},
    )
    assert "missing" not in prompt
    assert "approves them" not in prompt


def test_long_results_share_the_budget() -> None:
    long = "START " + "word " * 20_000 + " END"
    prompt = render(
        "merge",
        {"parts": [{"n": n, "title": "t", "agent": "a", "result": long} for n in (1, 2)]},
    )
    assert prompt.count("characters cut from the middle") == 2
    assert len(prompt) < 30_000


@pytest.mark.parametrize(
    ("stage", "context"),
    [
        ("split", {"agents": members(SETTINGS)}),
        ("part", {"part": {"n": 1, "title": "가격 검색"}, "parts": ["가격 검색", "요약"]}),
        ("merge", {"parts": [{"n": 1, "title": "가격 검색", "result": "OVH"}]}),
    ],
)
def test_a_korean_mission_is_answered_in_korean(stage: str, context: dict[str, Any]) -> None:
    assert "Korean" in render(stage, context, mission="1. 가격 검색\n2. 요약 작성")
