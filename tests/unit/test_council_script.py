"""The scripted council reads what each fake-model request is about, as the end-to-end task
tests rely on: the stage from the stage prompt, the agent from the model, the option letter
of a proposal from the ballot."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.llm_server import PROTOCOLS, RecordedRequest, WireProtocol
from tests.support.council_script import (
    AgentModel,
    CouncilScript,
    Stage,
    critique_token,
    proposal_token,
    stage_of,
)

AGENTS = [AgentModel("claude", "claude-x", "Claude"), AgentModel("gpt", "gpt-x", "GPT")]


def request(
    protocol: WireProtocol, system: str, user: str, model: str = "gpt-x"
) -> RecordedRequest:
    body: dict[str, Any]
    path = "/v1/chat/completions"
    if protocol == "openai":
        body = {
            "model": model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        }
    elif protocol == "anthropic":
        path = "/v1/messages"
        body = {"model": model, "system": system, "messages": [{"role": "user", "content": user}]}
    else:
        path = f"/v1/models/{model}:generateContent"
        body = {
            "systemInstruction": {"parts": [{"text": system}]},
            "contents": [{"role": "user", "parts": [{"text": user}]}],
        }
    return RecordedRequest(protocol, "POST", path, {}, {}, body, False)


PERSONA = "You are GPT, the council's judge: you review plans and vote with care."


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    ("heading", "stage"),
    [
        ("# Task #12: your proposal", "propose"),
        ("# Task #12: your vote", "vote"),
        ("# Task #12: the plan", "plan"),
        ("# Task #12: review the plan", "review"),
        ("# Task #3: fix the plan (attempt 2)", "fix"),
        ("# Task #12: the final answer", "refine"),
        ("# Task #12: critique the proposals", "critique"),
        ("# Task #12: revise your proposal", "revise"),
    ],
)
def test_the_stage_is_read_from_the_stage_prompts_heading(
    protocol: WireProtocol, heading: str, stage: Stage
) -> None:
    # The persona's own words (review, plan, vote) must not decide it.
    found = request(
        protocol, f"{PERSONA}\n\n{heading}\n\nmaster's task:\n\nreport disk usage", "master: go"
    )
    assert stage_of(found) == stage


@pytest.mark.parametrize(
    ("system", "stage"),
    [
        ("Give your proposal for the task.", "propose"),
        ("Vote for one option.", "vote"),
        ('Write the plan as JSON with "steps".', "plan"),
        ("Review this plan for risk.", "review"),
        ("The step failed; fix it.", "fix"),
        ("Just chat.", None),
    ],
)
def test_without_a_heading_the_words_decide(system: str, stage: Stage | None) -> None:
    assert stage_of(request("openai", system, "master: go")) == stage


BALLOT = """# Task #7: your vote

## Option A (your own proposal: you may not vote for it)

{claude} Check df.
COMMANDS: yes

## Option B

{gpt} Use du too.
COMMANDS: yes
"""


@pytest.mark.parametrize(
    ("voter", "expected"),
    [("claude-x", "VOTE: B"), ("gpt-x", "VOTE: A")],
    ids=["votes-for-the-winner", "the-winner-votes-for-the-runner-up"],
)
def test_default_votes_find_the_option_letter_of_a_proposal(voter: str, expected: str) -> None:
    ballot = BALLOT.format(claude=proposal_token("claude"), gpt=proposal_token("gpt"))
    script = CouncilScript(AGENTS)
    answer = script(request("openai", ballot, "master: go", model=voter))
    assert answer is not None
    assert answer.text is not None
    assert answer.text.startswith(expected)


def test_scripted_answers_are_used_in_order_and_the_last_repeats() -> None:
    script = CouncilScript(AGENTS)
    script.set("plan", "*", "first", "second")
    asked = request("anthropic", "# Task #1: the plan", "master: go", model="claude-x")
    texts = [getattr(script(asked), "text", None) for _ in range(3)]
    assert texts == ["first", "second", "second"]
    assert script.count("plan", "claude") == 3
    assert script(request("openai", "# Task #1: the plan", "x", model="unknown")) is None


CRITIQUE = """# Task #7: critique the proposals

## Option A (your own proposal: do not critique it)

Check df.

## Option B

Use du too.

## Option C

Check inodes.
"""


def test_a_default_critique_names_every_other_option_and_a_revision_keeps() -> None:
    script = CouncilScript(AGENTS)
    answer = script(request("openai", CRITIQUE, "master: go", model="claude-x"))
    assert answer is not None
    assert answer.text == (
        f"B: {critique_token('claude', 'B')}\nC: {critique_token('claude', 'C')}"
    )
    kept = script(request("openai", "# Task #7: revise your proposal", "go", model="gpt-x"))
    assert kept is not None
    assert kept.text == "KEEP"
