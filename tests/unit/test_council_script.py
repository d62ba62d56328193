"""The scripted council reads what each fake-model request is about, as the end-to-end task
tests rely on: the stage from the stage prompt, the agent from the model, the option letter
of a proposal from the ballot."""

from __future__ import annotations

from typing import Any

import pytest

from bots.agents.council_prompts import (
    TASK_LANGUAGE,
    HostLine,
    Speaker,
    stage_prompt,
    stage_variables,
)
from bots.agents.council_wire import CouncilAsk
from bots.tasks.plans import PlanError, parse_plan
from bots.tasks.splits import Split, parse_split
from tests.fakes.llm_server import PROTOCOLS, RecordedRequest, WireProtocol, error
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


# ---- divide and merge: the script reads the real split, part and merge prompts --------------

SPLIT_AGENTS = [
    *AGENTS,
    AgentModel("gemini", "gemini-x", "Gemini"),
    AgentModel("perplexity", "pplx-x", "Perplexity"),
]


def split_prompt(stage: str, context: dict[str, Any]) -> str:
    """The stage's prompt as an agent really renders it (bots/agents/prompts/council/)."""
    ask = CouncilAsk(12, f"t12-{stage}-1", stage, ("claude",), "1. a\n2. b\n3. c", context=context)  # type: ignore[arg-type]
    speaker = Speaker("claude", "Claude", "writer", "Master", TASK_LANGUAGE)
    hosts = [HostLine("local", "this machine")]
    variables = stage_variables(ask, speaker, hosts=hosts, self_vote=False, text_tokens=4000)
    return f"{PERSONA}\n\n{stage_prompt(variables, stage)}"


MEMBERS = {
    "agents": [
        {"name": "perplexity", "display": "Perplexity", "role": "research"},
        {"name": "gemini", "display": "Gemini", "role": "analyst"},
        {"name": "claude", "display": "Claude", "role": "writer"},
        {"name": "gpt", "display": "GPT", "role": "judging"},
    ]
}


def part_context(n: int, *, commands: bool = False) -> dict[str, Any]:
    return {
        "part": {"n": n, "title": f"title {n}", "commands": commands},
        "total": 3,
        "parts": ["title 1", "title 2", "title 3"],
    }


MERGE = {
    "parts": [
        {"n": 1, "title": "a", "agent": "Perplexity", "result": "part 1 done by perplexity"},
        {"n": 3, "title": "c", "agent": "Claude", "result": "part 3 done by claude"},
    ],
    "missing": [{"n": 2, "title": "b", "why": "no answer within 5 min"}],
}


@pytest.mark.parametrize(
    ("stage", "context"),
    [("split", MEMBERS), ("part", part_context(2)), ("merge", MERGE)],
)
def test_the_split_stages_are_read_from_their_headings(stage: Stage, context: Any) -> None:
    assert stage_of(request("openai", split_prompt(stage, context), "Master: go")) == stage


def answer_text(script: CouncilScript, stage: str, context: Any, model: str) -> str:
    answer = script(request("openai", split_prompt(stage, context), "Master: go", model=model))
    assert answer is not None
    assert answer.text is not None
    return answer.text


def test_the_default_split_gives_three_parts_to_the_first_three_members_listed() -> None:
    script = CouncilScript(SPLIT_AGENTS)
    found = parse_split(answer_text(script, "split", MEMBERS, "gpt-x"), max_parts=6)
    assert isinstance(found, Split)
    assert [p.suggested for p in found.parts] == ["perplexity", "gemini", "claude"]
    assert found.merger == "gpt"


@pytest.mark.parametrize(
    ("commands", "model", "expected"),
    [
        (False, "gemini-x", "part 2 done by gemini"),
        (True, "gemini-x", '"command": "echo part 2"'),
    ],
)
def test_a_default_part_is_its_text_or_for_commands_a_plan(
    commands: bool, model: str, expected: str
) -> None:
    script = CouncilScript(SPLIT_AGENTS)
    text = answer_text(script, "part", part_context(2, commands=commands), model)
    assert expected in text
    if commands:
        assert not isinstance(parse_plan(text, hosts=["local"], max_steps=10), PlanError)
    assert script.parts_asked == [("gemini", 2)]


def test_part_answers_are_scripted_per_part_and_agent_in_order() -> None:
    script = CouncilScript(SPLIT_AGENTS)
    script.set_part(1, error(503), "found it after all")
    script.set_part(1, "claude's own take", agent="claude")
    script.set("part", "*", "any part")
    context = part_context(1)
    first = script(request("openai", split_prompt("part", context), "x", model="pplx-x"))
    assert first is not None
    assert first.status == 503
    assert answer_text(script, "part", context, "gemini-x") == "found it after all"
    assert answer_text(script, "part", context, "claude-x") == "claude's own take"
    assert answer_text(script, "part", part_context(3), "gpt-x") == "any part"
    assert script.parts_asked == [("perplexity", 1), ("gemini", 1), ("claude", 1), ("gpt", 3)]
    assert script.count("part") == 4


def test_the_default_merge_joins_the_results_and_names_what_is_missing() -> None:
    script = CouncilScript(SPLIT_AGENTS)
    assert answer_text(script, "merge", MERGE, "claude-x") == (
        "Merged by Claude: part 1 done by perplexity; part 3 done by claude. Missing: part 2."
    )
    script.set("merge", "claude", "the merged deliverable")
    assert answer_text(script, "merge", MERGE, "claude-x") == "the merged deliverable"


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
