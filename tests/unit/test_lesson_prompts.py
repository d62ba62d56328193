"""Lessons in the agents' prompts: the plan, review and fix prompts show "Lessons from
earlier tasks" with each lesson's id and text when the ask carries them, nothing when it
does not, and a lesson too long for the budget is cut, not the task's own material."""

from __future__ import annotations

from typing import Any

import pytest

from bots.agents.council_prompts import HostLine, Speaker, stage_prompt, stage_variables
from bots.agents.council_wire import CouncilAsk

SPEAKER = Speaker("claude", "Claude", "planner", "Master", "English")
LESSON = "Task #3 (completed on attempt 2): clean web-1\nFix that worked: apt clean first."
CONTEXTS: dict[str, dict[str, Any]] = {
    "plan": {"proposal": "Free some space.", "others": []},
    "review": {"plan": '{"steps": []}', "verdicts": []},
    "fix": {"plan": '{"steps": []}', "failed_step": 1, "output": "No space left", "attempt": 1},
}


def prompt(stage: str, lessons: object, tokens: int = 4000) -> str:
    ask = CouncilAsk(
        task=12,
        ask=f"t12-{stage}-1",
        stage=stage,  # type: ignore[arg-type]
        agents=("claude",),
        mission="web-1의 디스크 정리",
        context={**CONTEXTS[stage], "lessons": lessons},
    )
    variables = stage_variables(
        ask, SPEAKER, hosts=[HostLine("web-1")], self_vote=False, text_tokens=tokens
    )
    return stage_prompt(variables, stage)


@pytest.mark.parametrize("stage", ["plan", "review", "fix"])
def test_a_prompt_shows_the_lessons_it_is_given(stage: str) -> None:
    shown = prompt(stage, [{"id": 3, "text": LESSON}])
    assert "Lessons from earlier tasks" in shown
    assert f"--- Lesson #3\n{LESSON}" in shown


@pytest.mark.parametrize("stage", ["plan", "review", "fix"])
@pytest.mark.parametrize(
    "lessons",
    [[], None, "not a list", [{"text": "no id"}], [{"id": 4, "text": "  "}], [{"id": "5"}]],
)
def test_without_lessons_the_prompt_has_no_such_section(stage: str, lessons: object) -> None:
    assert "Lessons from earlier tasks" not in prompt(stage, lessons)


def test_lessons_take_at_most_their_share_of_the_budget() -> None:
    huge = "x" * 40_000
    shown = prompt("plan", [{"id": 1, "text": huge}, {"id": 2, "text": huge}], tokens=2000)
    assert "--- Lesson #1" in shown
    assert "--- Lesson #2" in shown
    assert "Free some space." in shown  # the task's own proposal survives
    assert len(shown) < 8000
